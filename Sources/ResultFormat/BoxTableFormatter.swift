import ColumnIndex
import QueryEngine

/// A Unicode box table: a header row, numbers right-aligned, text left-aligned, `NULL` shown.
/// Every row and column is printed (fitting a terminal's width comes with the shell).
public struct BoxTableFormatter: ResultFormatter {
    public var options: FormatOptions

    public init(options: FormatOptions = FormatOptions()) {
        self.options = options
    }

    public func format(_ result: QueryResult) -> String {
        let columnCount = result.names.count
        guard columnCount > 0 else { return "" }
        let rightAligned = numericColumns(result)
        let cells: [[String]] = (0..<result.rowCount).map { rowIndex in
            (0..<columnCount).map { options.text(result.value(row: rowIndex, column: $0), null: "NULL").replacingNewlines() }
        }
        var widths = options.header ? result.names.map(\.displayWidth) : Array(repeating: 0, count: columnCount)
        for row in cells {
            for (columnIndex, cell) in row.enumerated() { widths[columnIndex] = max(widths[columnIndex], cell.displayWidth) }
        }
        func rule(_ left: String, _ middle: String, _ right: String) -> String {
            left + widths.map { String(repeating: "─", count: $0 + 2) }.joined(separator: middle) + right + "\n"
        }
        func line(_ row: [String], alignRight: [Bool]) -> String {
            var text = "│"
            for (columnIndex, cell) in row.enumerated() {
                let padding = String(repeating: " ", count: widths[columnIndex] - cell.displayWidth)
                text += " " + (alignRight[columnIndex] ? padding + cell : cell + padding) + " │"
            }
            return text + "\n"
        }
        var output = rule("┌", "┬", "┐")
        if options.header {
            output += line(result.names.map { $0.replacingNewlines() }, alignRight: Array(repeating: false, count: columnCount))
            output += rule("├", "┼", "┤")
        }
        for row in cells { output += line(row, alignRight: rightAligned) }
        output += rule("└", "┴", "┘")
        return output
    }
}

extension String {
    /// Columns the text takes in a terminal (wide East Asian characters and most emoji take two).
    var displayWidth: Int {
        unicodeScalars.reduce(0) { width, scalar in
            if scalar.properties.generalCategory == .nonspacingMark || scalar.value == 0x200D { return width }
            let value = scalar.value
            let wide = (0x1100...0x115F).contains(value) || (0x2E80...0xA4CF).contains(value) || (0xAC00...0xD7A3).contains(value)
                || (0xF900...0xFAFF).contains(value) || (0xFE30...0xFE4F).contains(value) || (0xFF00...0xFF60).contains(value)
                || (0xFFE0...0xFFE6).contains(value) || (0x1F300...0x1FAFF).contains(value) || (0x20000...0x3FFFD).contains(value)
            return width + (wide ? 2 : 1)
        }
    }

    func replacingNewlines() -> String {
        String(map { $0 == "\n" || $0 == "\r\n" ? "↵" : $0 == "\t" ? " " : $0 })
    }
}
