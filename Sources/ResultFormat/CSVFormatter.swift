import ColumnIndex
import Foundation
import QueryEngine

/// RFC 4180 CSV (and TSV): a header row, fields quoted when they hold the separator, a quote or a
/// line break, NULL as an empty field and the empty string as `""`, numbers at full precision,
/// LF line endings. An empty result still prints its header.
public struct CSVFormatter: ResultFormatter {
    public var options: FormatOptions
    public var separator: Character

    public init(options: FormatOptions = FormatOptions(), separator: Character = ",") {
        self.options = options
        self.separator = separator
    }

    public func format(_ result: QueryResult) -> String {
        var output = options.header ? result.names.map { quote($0, force: false) }.joined(separator: String(separator)) + "\n" : ""
        for rowIndex in 0..<result.rowCount {
            var fields: [String] = []
            for columnIndex in 0..<result.names.count {
                let value = result.value(row: rowIndex, column: columnIndex)
                switch value {
                case .null: fields.append(options.nullText.map { quote($0, force: false) } ?? "")
                case .string(let text): fields.append(quote(text, force: text.isEmpty))
                default: fields.append(quote(Render.text(value), force: false))
                }
            }
            output += fields.joined(separator: String(separator)) + "\n"
        }
        return output
    }

    private func quote(_ field: String, force: Bool) -> String {
        let needsQuotes = force || field.contains(where: { $0 == separator || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" })
        guard needsQuotes else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
