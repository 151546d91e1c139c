import RunStore

/// One value as the query engine sees it, row at a time: what a cell of any column holds.
///
/// Columns store values typed and unboxed where they can (`Column.Storage`); `Value` is the
/// common currency for everything else: mixed-type keys, lists, nested objects, literals.
public enum Value: Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    /// Microseconds since the Unix epoch, UTC.
    case timestamp(Int64)
    case interval(Interval)
    case list([Value])
    /// A nested JSON object (`config.model` selected whole).
    case object(JSONObject)

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The value as a double when it is a number.
    public var numeric: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }

    public var isNumber: Bool {
        switch self {
        case .int, .double: return true
        default: return false
        }
    }

    /// The engine's view of a stored JSON value.
    public init(_ json: JSONValue) {
        switch json {
        case .null: self = .null
        case .bool(let flag): self = .bool(flag)
        case .int(let integer): self = .int(integer)
        case .double(let number): self = .double(number)
        case .bigInt(let text): self = .double(Double(text) ?? .nan)
        case .string(let text): self = .string(text)
        case .array(let elements): self = .list(elements.map(Value.init))
        case .object(let object): self = .object(object)
        }
    }

    /// The value as JSON (timestamps as ISO-8601 strings, intervals as text).
    public var json: JSONValue {
        switch self {
        case .null: return .null
        case .bool(let flag): return .bool(flag)
        case .int(let integer): return .int(integer)
        case .double(let number): return .double(number)
        case .string(let text): return .string(text)
        case .timestamp(let micros): return .string(Timestamp.format(micros: micros))
        case .interval(let interval): return .string(interval.description)
        case .list(let elements): return .array(elements.map(\.json))
        case .object(let object): return .object(object)
        }
    }
}

/// A span of calendar time: months, days and microseconds, kept apart as DuckDB does.
public struct Interval: Sendable, Hashable, CustomStringConvertible {
    public var months: Int64
    public var days: Int64
    public var micros: Int64

    public init(months: Int64 = 0, days: Int64 = 0, micros: Int64 = 0) {
        self.months = months
        self.days = days
        self.micros = micros
    }

    /// The opposite interval, or nil when a part is `Int64.min` (whose opposite does not fit).
    public var negated: Interval? {
        guard months != .min, days != .min, micros != .min else { return nil }
        return Interval(months: -months, days: -days, micros: -micros)
    }

    public var description: String {
        var parts: [String] = []
        if months != 0 {
            let years = months / 12
            let rest = months % 12
            if years != 0 { parts.append("\(years) year\(years.magnitude == 1 ? "" : "s")") }
            if rest != 0 { parts.append("\(rest) month\(rest.magnitude == 1 ? "" : "s")") }
        }
        if days != 0 { parts.append("\(days) day\(days.magnitude == 1 ? "" : "s")") }
        if micros != 0 || parts.isEmpty {
            let sign = micros < 0 ? "-" : ""
            let total = micros.magnitude
            let seconds = total / 1_000_000
            let fraction = total % 1_000_000
            var clock = "\(sign)\(pad(seconds / 3600)):\(pad(seconds / 60 % 60)):\(pad(seconds % 60))"
            if fraction != 0 {
                var digits = String(fraction)
                digits = String(repeating: "0", count: 6 - digits.count) + digits
                while digits.hasSuffix("0") { digits.removeLast() }
                clock += "." + digits
            }
            parts.append(clock)
        }
        return parts.joined(separator: " ")
    }

    private func pad(_ value: UInt64) -> String { value < 10 ? "0\(value)" : "\(value)" }
}

extension Value: Hashable {
    /// Grouping equality: numbers compare by value across int and double (`1 = 1.0`), NaN equals
    /// NaN (so NaNs group together), everything else by type and value.
    public static func == (lhs: Value, rhs: Value) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.int(a), .int(b)): return a == b
        case let (.double(a), .double(b)): return a == b || (a.isNaN && b.isNaN)
        case let (.int(a), .double(b)), let (.double(b), .int(a)): return Double(a) == b && Int64(exactly: b) == a
        case let (.string(a), .string(b)): return a.hasSameBytes(as: b)
        case let (.timestamp(a), .timestamp(b)): return a == b
        case let (.interval(a), .interval(b)): return a == b
        case let (.list(a), .list(b)): return a == b
        case let (.object(a), .object(b)): return a == b
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let flag): hasher.combine(1); hasher.combine(flag)
        case .int(let integer): hasher.combine(2); hasher.combine(integer)
        case .double(let number):
            if let exact = Int64(exactly: number) {
                hasher.combine(2)
                hasher.combine(exact)
            } else {
                hasher.combine(3)
                hasher.combine(number.isNaN ? Double.nan.bitPattern : number.bitPattern)
            }
        case .string(let text):
            hasher.combine(4)
            // By bytes, consistent with ==: canonically equivalent spellings are different strings.
            text.hashBytes(into: &hasher)
        case .timestamp(let micros): hasher.combine(5); hasher.combine(micros)
        case .interval(let interval): hasher.combine(6); hasher.combine(interval)
        case .list(let elements): hasher.combine(7); hasher.combine(elements)
        case .object(let object): hasher.combine(8); hasher.combine(JSONWriter.compact(.object(object)))
        }
    }
}

extension Int64 {
    /// `value` rounded to the nearest integer, or nil when it is not finite or does not fit
    /// (`Int64(_:)` would trap).
    public init?(roundingChecked value: Double) {
        let rounded = value.rounded()
        guard rounded.isFinite, rounded >= -9_223_372_036_854_775_808.0, rounded < 9_223_372_036_854_775_808.0 else { return nil }
        self = Int64(rounded)
    }
}
