import ColumnIndex
import Foundation
import QueryEngine

/// A GitHub pipe table: `---:` under numeric columns, `|` escaped, line breaks as `<br>`.
public struct MarkdownFormatter: ResultFormatter {
    public var options: FormatOptions

    public init(options: FormatOptions = FormatOptions()) {
        self.options = options
    }

    public func format(_ result: QueryResult) -> String {
        guard !result.names.isEmpty else { return "" }
        let numeric = numericColumns(result)
        func cell(_ text: String) -> String {
            text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "|", with: "\\|")
                .replacingOccurrences(of: "\r\n", with: "<br>").replacingOccurrences(of: "\n", with: "<br>")
        }
        func line(_ cells: [String]) -> String { "| " + cells.joined(separator: " | ") + " |\n" }
        // GitHub needs a header row; without one it stays, empty.
        var output = line(options.header ? result.names.map(cell) : result.names.map { _ in "" })
        output += "|" + numeric.map { $0 ? " ---: |" : " --- |" }.joined() + "\n"
        for rowIndex in 0..<result.rowCount {
            output += line((0..<result.names.count).map { cell(options.text(result.value(row: rowIndex, column: $0), null: "NULL")) })
        }
        return output
    }
}
