import ColumnIndex
import QueryEngine

/// Turns a query result into text. One protocol for every format: begin with the header, take
/// rows, finish; CSV streams, the box table buffers to measure its columns.
///
/// ```
/// QueryResult ──ResultFormatter──▶ table | csv
/// ```
public protocol ResultFormatter {
    func format(_ result: QueryResult) -> String
}

/// The output formats by name.
public enum OutputFormat: String, CaseIterable, Sendable {
    case table, csv

    public var formatter: any ResultFormatter {
        switch self {
        case .table: return BoxTableFormatter()
        case .csv: return CSVFormatter()
        }
    }
}

extension Value {
    /// Whether the value lines up to the right in a table.
    var isRightAligned: Bool {
        switch self {
        case .int, .double: return true
        default: return false
        }
    }
}
