import ColumnIndex
import QuerySyntax

/// A function evaluated over a window: `f(args) OVER (PARTITION BY … ORDER BY … frame)`.
///
/// Ranking and navigation functions look at a row's position among the rows of its partition;
/// aggregates (`sum`, `avg`, `min`, …) aggregate the rows of the row's frame.
enum WindowFunction {
    /// `row_number()`: 1, 2, 3, … in ORDER BY order (ties in input order).
    case rowNumber
    /// `rank()`: 1 + the number of rows before the row's peers (1, 1, 3).
    case rank
    /// `dense_rank()`: 1 + the number of distinct peer groups before the row's (1, 1, 2).
    case denseRank
    /// `percent_rank()`: (rank − 1) / (rows in the partition − 1), 0 for a partition of one row.
    case percentRank
    /// `cume_dist()`: (rows up to and including the row's peers) / (rows in the partition).
    case cumeDist
    /// `ntile(n)`: the row's bucket, 1 to n, in buckets as equal as possible (larger ones first).
    case ntile
    /// `lag(x [, offset [, default]])`: x of the row `offset` (1) rows before, else the default.
    case lag
    /// `lead(x [, offset [, default]])`: x of the row `offset` (1) rows after, else the default.
    case lead
    /// `first_value(x)`: x of the frame's first row.
    case firstValue
    /// `last_value(x)`: x of the frame's last row.
    case lastValue
    /// `nth_value(x, n)`: x of the frame's n-th row (from 1), NULL when the frame is shorter.
    case nthValue
    /// An aggregate over the row's frame: `avg("val/loss") OVER (ORDER BY _step ROWS 9 PRECEDING)`.
    case aggregate(AggregateFunction)

    /// The window function (or aggregate) called `name`.
    static func lookup(_ name: String) -> WindowFunction? {
        if let function = table[name.lowercased()] { return function }
        return AggregateFunction.lookup(name).map(WindowFunction.aggregate)
    }

    /// The names of the window-only functions, for "did you mean".
    static var names: [String] { Array(table.keys) }

    private static let table: [String: WindowFunction] = [
        "row_number": .rowNumber, "rank": .rank, "dense_rank": .denseRank, "percent_rank": .percentRank,
        "cume_dist": .cumeDist, "ntile": .ntile, "lag": .lag, "lead": .lead,
        "first_value": .firstValue, "last_value": .lastValue, "nth_value": .nthValue,
    ]

    var name: String {
        switch self {
        case .rowNumber: return "row_number"
        case .rank: return "rank"
        case .denseRank: return "dense_rank"
        case .percentRank: return "percent_rank"
        case .cumeDist: return "cume_dist"
        case .ntile: return "ntile"
        case .lag: return "lag"
        case .lead: return "lead"
        case .firstValue: return "first_value"
        case .lastValue: return "last_value"
        case .nthValue: return "nth_value"
        case .aggregate(let function): return function.name
        }
    }

    /// How many arguments the function takes.
    var arity: ClosedRange<Int> {
        switch self {
        case .rowNumber, .rank, .denseRank, .percentRank, .cumeDist: return 0...0
        case .ntile, .firstValue, .lastValue: return 1...1
        case .nthValue: return 2...2
        case .lag, .lead: return 1...3
        case .aggregate(let function): return function.arity
        }
    }

    /// Whether `IGNORE NULLS` applies (the navigation and value functions).
    var takesIgnoreNulls: Bool {
        switch self {
        case .lag, .lead, .firstValue, .lastValue, .nthValue: return true
        case .rowNumber, .rank, .denseRank, .percentRank, .cumeDist, .ntile, .aggregate: return false
        }
    }

    /// Whether the frame clause applies (aggregates and the value functions); ranking and
    /// lag/lead look at the whole partition.
    var usesFrame: Bool {
        switch self {
        case .firstValue, .lastValue, .nthValue, .aggregate: return true
        case .rowNumber, .rank, .denseRank, .percentRank, .cumeDist, .ntile, .lag, .lead: return false
        }
    }
}

/// One bound of a window frame, with its offset known.
enum FrameBound: Equatable {
    case unboundedPreceding
    /// `n PRECEDING`: n rows (ROWS, a whole number) or n less in the ORDER BY key (RANGE).
    case preceding(Double)
    case currentRow
    case following(Double)
    case unboundedFollowing

    /// The bound as written; `interval` when its offset is an INTERVAL in microseconds.
    func text(interval: Bool) -> String {
        switch self {
        case .unboundedPreceding: return "UNBOUNDED PRECEDING"
        case .preceding(let offset): return "\(Self.text(offset, interval: interval)) PRECEDING"
        case .currentRow: return "CURRENT ROW"
        case .following(let offset): return "\(Self.text(offset, interval: interval)) FOLLOWING"
        case .unboundedFollowing: return "UNBOUNDED FOLLOWING"
        }
    }

    private static func text(_ offset: Double, interval: Bool) -> String {
        if interval {
            // An offset near Int64.max micros becomes 2^63 as a Double, which Int64 cannot hold.
            let micros = offset < 0x1p63 ? Int64(offset) : .max
            return "INTERVAL '\(Interval(days: micros / Self.microsPerDay, micros: micros % Self.microsPerDay))'"
        }
        return offset == offset.rounded() && offset.magnitude < 1e15 ? String(Int64(offset)) : String(offset)
    }

    static let microsPerDay: Int64 = 86_400_000_000

    /// Whether the bound is `n PRECEDING` or `n FOLLOWING`.
    var hasOffset: Bool {
        switch self {
        case .preceding, .following: return true
        case .unboundedPreceding, .currentRow, .unboundedFollowing: return false
        }
    }
}

/// The frame of a window: which rows of the partition a row's aggregate sees. RANGE frames end
/// at CURRENT ROW's last peer (and start at its first); ROWS frames count rows.
struct BoundFrame: Equatable {
    var unit: WindowFrame.Unit
    var start: FrameBound
    var end: FrameBound
    /// Whether the offsets are INTERVALs (in microseconds), for a RANGE over a TIMESTAMP key.
    var intervalOffsets = false

    /// DuckDB's default: RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW (with no ORDER BY every
    /// row is a peer, so the whole partition).
    static let standard = BoundFrame(unit: .range, start: .unboundedPreceding, end: .currentRow)

    var text: String { "\(unit.rawValue) BETWEEN \(start.text(interval: intervalOffsets)) AND \(end.text(interval: intervalOffsets))" }

    /// Whether both ends move with the row (neither is UNBOUNDED): a frame that neither grows
    /// from the partition's first row nor shrinks to its last.
    var isMoving: Bool { start != .unboundedPreceding && end != .unboundedFollowing }

    /// A RANGE frame with `n PRECEDING` or `n FOLLOWING`: bounds found by the ORDER BY key's value.
    var hasRangeOffset: Bool { unit == .range && (start.hasOffset || end.hasOffset) }
}

/// A bound window function call: its input columns, the window, and where its result goes.
struct BoundWindow {
    var function: WindowFunction
    var arguments: [BoundExpr]
    var partitionBy: [BoundExpr]
    var orderBy: [BoundOrder]
    var frame: BoundFrame
    /// `FILTER (WHERE …)` of an aggregate.
    var filter: BoundExpr?
    /// `count(DISTINCT x) OVER (…)`: each distinct non-NULL argument once per frame.
    var distinct: Bool
    /// `lag(x IGNORE NULLS)`, `last_value(x IGNORE NULLS)`: rows where x is NULL are skipped.
    var ignoreNulls: Bool
    /// `count(*)`
    var star: Bool
    var span: SourceSpan

    /// Canonical text: equal windows are computed once.
    var key: String {
        let order = orderBy.map { "\($0.expression.key)\($0.descending)\($0.nullsFirst)" }.joined(separator: ",")
        return "\(function.name)(\(distinct ? "DISTINCT " : "")\(star ? "*" : arguments.map(\.key).joined(separator: ",")))\(ignoreNulls ? " IGNORE NULLS" : "")|\(filter?.key ?? "")|\(partitionBy.map(\.key).joined(separator: ","))|\(order)|\(frame.text)"
    }

    /// Canonical text of the window alone (PARTITION BY and ORDER BY): windows that share it
    /// share one sort.
    var sortKey: String {
        partitionBy.map(\.key).joined(separator: ",") + "|" + orderBy.map { "\($0.expression.key)\($0.descending)\($0.nullsFirst)" }.joined(separator: ",")
    }
}
