import ColumnIndex

/// RunQL's comparison and ordering rules.
///
/// - Comparison (`<`, `=`, …) of values of unrelated types (a number with a string) is NULL;
///   a timestamp compares with an ISO-8601 string by reading the string as a timestamp.
/// - NaN never satisfies `<`, `<=`, `>` or `>=`; `NaN = NaN` is true (as in DuckDB).
/// - ORDER BY: numbers (NaN after every number in both directions), then strings (binary order),
///   then booleans, timestamps, intervals, lists, objects; the type classes keep this order in
///   both directions, only the order within a class is reversed by DESC; NULLs go last unless
///   NULLS FIRST.
enum ValueOrder {
    /// The result of a SQL comparison: nil when it is NULL.
    static func compare(_ lhs: Value, _ rhs: Value) -> ComparisonOutcome? {
        switch (lhs, rhs) {
        case (.null, _), (_, .null): return nil
        case let (.int(a), .int(b)): return a < b ? .less : a == b ? .equal : .greater
        case (.int, .double), (.double, .int), (.double, .double):
            guard let a = lhs.numeric, let b = rhs.numeric else { return nil }
            if a.isNaN || b.isNaN { return a.isNaN && b.isNaN ? .equal : .unordered }
            if case let (.int(x), .double(y)) = (lhs, rhs) { return compareExact(x, y) }
            if case let (.double(x), .int(y)) = (lhs, rhs) { return compareExact(y, x).flipped }
            return a < b ? .less : a == b ? .equal : .greater
        case let (.string(a), .string(b)): return compareBytes(a, b)
        case let (.bool(a), .bool(b)): return a == b ? .equal : (!a && b) ? .less : .greater
        case let (.timestamp(a), .timestamp(b)): return a < b ? .less : a == b ? .equal : .greater
        case let (.timestamp, .string(text)):
            guard let micros = Cast.timestampMicros(text) else { return nil }
            return compare(lhs, .timestamp(micros))
        case let (.string(text), .timestamp):
            guard let micros = Cast.timestampMicros(text) else { return nil }
            return compare(.timestamp(micros), rhs)
        case let (.interval(a), .interval(b)):
            let left = a.approximateMicros
            let right = b.approximateMicros
            return left < right ? .less : left == right ? .equal : .greater
        case let (.list(a), .list(b)):
            for (x, y) in zip(a, b) {
                guard let outcome = compare(x, y) else { return nil }
                if outcome != .equal { return outcome }
            }
            return a.count < b.count ? .less : a.count == b.count ? .equal : .greater
        case let (.object(a), .object(b)):
            return a == b ? .equal : .unordered
        default:
            return nil
        }
    }

    /// `int < double` without rounding the integer through a double.
    private static func compareExact(_ integer: Int64, _ number: Double) -> ComparisonOutcome {
        if number >= 9_223_372_036_854_775_808.0 { return .less }
        if number < -9_223_372_036_854_775_808.0 { return .greater }
        let truncated = Int64(number.rounded(.down))
        if integer < truncated { return .less }
        if integer > truncated { return .greater }
        return Double(truncated) == number ? .equal : .less
    }

    /// Binary comparison: by UTF-8 bytes (so `é` and `e` + combining accent differ, as in DuckDB).
    static func compareBytes(_ a: String, _ b: String) -> ComparisonOutcome {
        if a.hasSameBytes(as: b) { return .equal }
        return a.utf8.lexicographicallyPrecedes(b.utf8) ? .less : .greater
    }

    /// The class of a value in ORDER BY.
    private static func rank(_ value: Value) -> Int {
        switch value {
        case .int, .double: return 0
        case .string: return 1
        case .bool: return 2
        case .timestamp: return 3
        case .interval: return 4
        case .list: return 5
        case .object: return 6
        case .null: return 7
        }
    }

    /// Whether `lhs` sorts before `rhs` under one ORDER BY key (a strict weak order).
    static func sortsBefore(_ lhs: Value, _ rhs: Value, descending: Bool, nullsFirst: Bool) -> Bool {
        switch (lhs.isNull, rhs.isNull) {
        case (true, true): return false
        case (true, false): return nullsFirst
        case (false, true): return !nullsFirst
        case (false, false): break
        }
        let leftRank = rank(lhs)
        let rightRank = rank(rhs)
        if leftRank != rightRank { return leftRank < rightRank }
        if leftRank == 0 {
            let leftNaN = lhs.numeric?.isNaN ?? false
            let rightNaN = rhs.numeric?.isNaN ?? false
            if leftNaN || rightNaN { return !leftNaN && rightNaN }
        }
        guard let outcome = compare(lhs, rhs) else { return false }
        switch outcome {
        case .less: return !descending
        case .greater: return descending
        case .equal, .unordered: return false
        }
    }
}

enum ComparisonOutcome: Equatable {
    case less, equal, greater
    /// NaN against a number, or objects that differ: no order.
    case unordered

    var flipped: ComparisonOutcome {
        switch self {
        case .less: return .greater
        case .greater: return .less
        case .equal, .unordered: return self
        }
    }
}

extension Interval {
    /// For ordering: a month as 30 days, as DuckDB does.
    var approximateMicros: Int64 {
        (months * 30 + days) * 86_400_000_000 + micros
    }
}
