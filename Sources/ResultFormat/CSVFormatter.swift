import Foundation
import ColumnIndex
import QueryEngine

/// RFC 4180 CSV: a header row, fields quoted when they hold a comma, a quote or a line break,
/// NULL as an empty field and the empty string as `""`, numbers at full precision, LF line endings.
public struct CSVFormatter: ResultFormatter {
    public var separator: Character = ","

    public init() {}

    public func format(_ result: QueryResult) -> String {
        var output = result.names.map { quote($0, force: false) }.joined(separator: String(separator)) + "\n"
        for rowIndex in 0..<result.rowCount {
            var fields: [String] = []
            for columnIndex in 0..<result.names.count {
                let value = result.value(row: rowIndex, column: columnIndex)
                switch value {
                case .null: fields.append("")
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
