import ColumnIndex
import QueryEngine

/// A Unicode box table: a header row, numbers right-aligned, text left-aligned, `NULL` shown.
///
/// With `maxWidth` (a terminal's width) the middle columns fold into a `…` column; with `maxRows`
/// a long result shows its first and last rows; a footer then says how much is shown. Piped
/// output sets neither and prints every row and column.
public struct BoxTableFormatter: ResultFormatter {
    public var options: FormatOptions
    public var maxWidth: Int?
    public var maxRows: Int?

    public init(options: FormatOptions = FormatOptions(), maxWidth: Int? = nil, maxRows: Int? = nil) {
        self.options = options
        self.maxWidth = maxWidth
        self.maxRows = maxRows
    }

    public func format(_ result: QueryResult) -> String {
        let columnCount = result.names.count
        guard columnCount > 0 else { return "" }
        let numeric = numericColumns(result)
        // Which rows: all, or the first and last halves of maxRows.
        var rows = Array(0..<result.rowCount)
        var elidedRows = false
        if let maxRows, maxRows > 0, result.rowCount > maxRows {
            let head = (maxRows + 1) / 2
            rows = Array(0..<head) + Array((result.rowCount - (maxRows - head))..<result.rowCount)
            elidedRows = true
        }
        let cells: [[String]] = rows.map { rowIndex in
            (0..<columnCount).map { options.text(result.value(row: rowIndex, column: $0), null: "NULL").replacingNewlines() }
        }
        let names = result.names.map { $0.replacingNewlines() }
        var widths = options.header ? names.map(\.displayWidth) : Array(repeating: 0, count: columnCount)
        for row in cells {
            for (columnIndex, cell) in row.enumerated() { widths[columnIndex] = max(widths[columnIndex], cell.displayWidth) }
        }
        // Which columns: all, or as many from both ends as fit beside a `…` column.
        var shown = Array(0..<columnCount)
        var fold: Int?
        if let maxWidth, widths.reduce(1, { $0 + $1 + 3 }) > maxWidth {
            var left: [Int] = []
            var right: [Int] = []
            var used = 1 + 4  // the outer border and the … column
            var lower = 0
            var upper = columnCount - 1
            var takeLeft = true
            while lower <= upper {
                let candidate = takeLeft ? lower : upper
                if used + widths[candidate] + 3 > maxWidth { break }
                used += widths[candidate] + 3
                if takeLeft {
                    left.append(lower)
                    lower += 1
                } else {
                    right.insert(upper, at: 0)
                    upper -= 1
                }
                takeLeft.toggle()
            }
            if left.isEmpty { left = [0] }
            shown = left + right
            fold = left.count
        }
        var layout: [(width: Int, column: Int?)] = shown.map { (widths[$0], $0) }
        if let fold { layout.insert((1, nil), at: fold) }

        func rule(_ left: String, _ middle: String, _ right: String) -> String {
            left + layout.map { String(repeating: "─", count: $0.width + 2) }.joined(separator: middle) + right + "\n"
        }
        func line(_ text: (Int) -> String, alignRight: Bool, filler: String = "…") -> String {
            var output = "│"
            for entry in layout {
                guard let column = entry.column else {
                    output += " " + filler + " │"
                    continue
                }
                let cell = text(column)
                let padding = String(repeating: " ", count: max(0, entry.width - cell.displayWidth))
                output += " " + (alignRight && numeric[column] ? padding + cell : cell + padding) + " │"
            }
            return output + "\n"
        }
        var output = rule("┌", "┬", "┐")
        if options.header {
            output += line({ names[$0] }, alignRight: false)
            output += rule("├", "┼", "┤")
        }
        let head = elidedRows ? ((maxRows ?? 0) + 1) / 2 : cells.count
        for (position, row) in cells.enumerated() {
            if elidedRows, position == head {
                output += line({ _ in "·" }, alignRight: false, filler: "·")
            }
            output += line({ row[$0] }, alignRight: true)
        }
        output += rule("└", "┴", "┘")
        var footer: [String] = []
        if elidedRows { footer.append("\(result.rowCount) rows (\(cells.count) shown)") }
        if fold != nil { footer.append("\(columnCount) columns (\(shown.count) shown)") }
        if !footer.isEmpty { output += footer.joined(separator: ", ") + "\n" }
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
