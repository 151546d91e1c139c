import ColumnIndex
import QueryEngine

/// Turns a query result into text.
///
/// ```
/// QueryResult ──ResultFormatter──▶ table | csv | tsv | markdown | json | ndjson
/// ```
public protocol ResultFormatter {
    func format(_ result: QueryResult) -> String
}

/// What every format can be told: how NULL looks, whether there is a header row, and how many
/// significant digits floats keep (table and markdown only; the machine formats keep them all).
public struct FormatOptions: Sendable {
    /// nil: the format's own (`NULL` in tables, an empty field in CSV, `null` in JSON).
    public var nullText: String?
    public var header = true
    public var precision: Int?

    public init(nullText: String? = nil, header: Bool = true, precision: Int? = nil) {
        self.nullText = nullText
        self.header = header
        self.precision = precision
    }
}

/// The output formats by name.
public enum OutputFormat: String, CaseIterable, Sendable {
    case table, csv, tsv, markdown, json, ndjson

    public func formatter(_ options: FormatOptions = FormatOptions()) -> any ResultFormatter {
        switch self {
        case .table: return BoxTableFormatter(options: options)
        case .csv: return CSVFormatter(options: options, separator: ",")
        case .tsv: return CSVFormatter(options: options, separator: "\t")
        case .markdown: return MarkdownFormatter(options: options)
        case .json: return JSONFormatter(options: options, lines: false)
        case .ndjson: return JSONFormatter(options: options, lines: true)
        }
    }
}

extension Value {
    /// Whether the value lines up to the right in a table.
    var isNumber: Bool {
        switch self {
        case .int, .double: return true
        default: return false
        }
    }
}

extension FormatOptions {
    /// A value as text for the human formats: floats rounded to `precision` significant digits.
    func text(_ value: Value, null: String) -> String {
        if value.isNull { return nullText ?? null }
        if let precision, case .double(let number) = value, number.isFinite, number != 0 {
            return Self.significant(number, digits: precision)
        }
        return Render.text(value)
    }

    /// `number` rounded to `digits` significant digits, written shortest (`0.1235`, `1.2e+06`).
    static func significant(_ number: Double, digits: Int) -> String {
        let digits = max(1, min(17, digits))
        let magnitude = Int((abs(number)).log10Floor)
        let scale = pow10(digits - 1 - magnitude)
        let rounded = (number * scale).rounded(.toNearestOrAwayFromZero) / scale
        return Render.text(.double(rounded))
    }

    private static func pow10(_ exponent: Int) -> Double {
        var result = 1.0
        if exponent >= 0 {
            for _ in 0..<exponent { result *= 10 }
        } else {
            for _ in 0..<(-exponent) { result /= 10 }
        }
        return result
    }
}

extension Double {
    fileprivate var log10Floor: Double {
        var exponent = 0.0
        var value = self
        while value >= 10 { value /= 10; exponent += 1 }
        while value < 1 { value *= 10; exponent -= 1 }
        return exponent
    }
}

/// Which columns hold numbers (and so align right): those whose non-NULL values are all numbers.
func numericColumns(_ result: QueryResult) -> [Bool] {
    (0..<result.names.count).map { columnIndex in
        var sawNumber = false
        for rowIndex in 0..<result.rowCount {
            let value = result.value(row: rowIndex, column: columnIndex)
            if value.isNull { continue }
            if !value.isNumber { return false }
            sawNumber = true
        }
        return sawNumber
    }
}
