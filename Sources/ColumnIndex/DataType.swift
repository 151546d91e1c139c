/// The type of a column or expression, as `DESCRIBE` and casts name it.
public indirect enum DataType: Sendable, Hashable, CustomStringConvertible {
    case boolean
    case bigint
    case double
    case varchar
    case timestamp
    case interval
    case list(DataType)
    /// A nested JSON object.
    case object
    /// Values of several types (a key logged as numbers in some runs and strings in others):
    /// each value keeps its own type.
    case any
    /// The type of `NULL` before anything else is known.
    case null

    public var description: String {
        switch self {
        case .boolean: return "BOOLEAN"
        case .bigint: return "BIGINT"
        case .double: return "DOUBLE"
        case .varchar: return "VARCHAR"
        case .timestamp: return "TIMESTAMP"
        case .interval: return "INTERVAL"
        case .list(let element): return "\(element)[]"
        case .object: return "JSON"
        case .any: return "ANY"
        case .null: return "NULL"
        }
    }

    public var isNumeric: Bool { self == .bigint || self == .double }

    /// The type that holds values of both types (for UNION, CASE, COALESCE, …).
    public func unified(with other: DataType) -> DataType {
        if self == other { return self }
        if self == .null { return other }
        if other == .null { return self }
        if isNumeric && other.isNumeric { return .double }
        return .any
    }

    /// The type of one value.
    public static func of(_ value: Value) -> DataType {
        switch value {
        case .null: return .null
        case .bool: return .boolean
        case .int: return .bigint
        case .double: return .double
        case .string: return .varchar
        case .timestamp: return .timestamp
        case .interval: return .interval
        case .list(let elements):
            return .list(elements.reduce(DataType.null) { $0.unified(with: .of($1)) })
        case .object: return .object
        }
    }
}
