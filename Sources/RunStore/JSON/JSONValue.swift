import OrderedCollections

/// A JSON value as runql stores it.
///
/// Wider than RFC 8259 in the ways Python's `json.dumps` is: `NaN`, `Infinity` and `-Infinity`
/// are numbers. Integers keep their exact value: those that fit `Int64` are `.int`, larger ones
/// keep their decimal text in `.bigInt` so that nothing is rounded through a `Double`.
/// Objects keep the order their keys were written in.
public enum JSONValue: Sendable {
    /// `null`
    case null
    /// `true`, `false`
    case bool(Bool)
    /// `42`, `-7`: an integer literal that fits in 64 bits
    case int(Int64)
    /// `0.5`, `1e-3`, `2.0`, `NaN`, `Infinity`
    case double(Double)
    /// `123456789012345678901234567890`: an integer literal beyond `Int64`, verbatim
    case bigInt(String)
    /// `"text"`
    case string(String)
    /// `[1, 2]`
    case array([JSONValue])
    /// `{"a": 1}`
    case object(JSONObject)
}

/// An object's members in the order they were written.
public typealias JSONObject = OrderedDictionary<String, JSONValue>

extension JSONValue: Equatable {
    /// Structural equality; unlike IEEE comparison, `NaN` equals `NaN` here, so a stored value
    /// compares equal to itself (what idempotent writes need).
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.int(a), .int(b)): return a == b
        case let (.double(a), .double(b)): return a == b || (a.isNaN && b.isNaN)
        case let (.bigInt(a), .bigInt(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)): return a == b
        default: return false
        }
    }
}

extension JSONValue {
    public var objectValue: JSONObject? {
        if case .object(let object) = self { return object }
        return nil
    }

    public var stringValue: String? {
        if case .string(let string) = self { return string }
        return nil
    }

    /// The value as an integer when it is one exactly (`3` or `3.0`).
    public var integerValue: Int64? {
        switch self {
        case .int(let value): return value
        case .double(let value):
            guard value.isFinite, value.rounded() == value, let exact = Int64(exactly: value) else { return nil }
            return exact
        default: return nil
        }
    }

    /// The value as a floating-point number when it is a number.
    public var doubleValue: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        case .bigInt(let text): return Double(text)
        default: return nil
        }
    }

    /// Python's name for the value's type, as users see it in `SHOW KEYS` and in messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .double: return "float"
        case .string: return "string"
        case .array: return "list"
        case .object: return "object"
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByNilLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension JSONValue {
    /// How many containers deep the value nests, counted as `JSONParser` counts: 0 for a scalar,
    /// 1 for `[1]` or `{"a": 1}`, 2 for `{"a": [1]}`. Walks without recursion, so any depth is safe.
    public var nestingDepth: Int {
        var deepest = 0
        var pending: [(value: JSONValue, depth: Int)] = [(self, 0)]
        while let (value, depth) = pending.popLast() {
            switch value {
            case .array(let elements):
                deepest = max(deepest, depth + 1)
                for element in elements where element.isContainer { pending.append((element, depth + 1)) }
            case .object(let members):
                deepest = max(deepest, depth + 1)
                for member in members.values where member.isContainer { pending.append((member, depth + 1)) }
            default:
                deepest = max(deepest, depth)
            }
        }
        return deepest
    }

    private var isContainer: Bool {
        switch self {
        case .array, .object: return true
        default: return false
        }
    }
}

extension OrderedDictionary where Key == String, Value == JSONValue {
    /// The value at a path of nested keys, or nil when any step is missing or not an object.
    public func value(at path: [String]) -> JSONValue? {
        guard let last = path.last else { return nil }
        var object = self
        for key in path.dropLast() {
            guard case .object(let inner)? = object[key] else { return nil }
            object = inner
        }
        return object[last]
    }

    /// Sets the value at a path of nested keys, creating objects on the way and replacing
    /// a non-object that stands where an object is needed.
    ///
    /// Works without recursion; the result nests `path.count` levels plus the value's own, so callers
    /// writing to the store keep that within `JSONParser.maximumDepth` (`KeyAssignment` checks its paths).
    public mutating func setValue(_ newValue: JSONValue, at path: [String]) {
        guard let last = path.last else { return }
        // The objects along the path, each taken out of its parent so that changing it copies nothing.
        var chain: [JSONObject] = []
        var current = self
        self = [:]
        for key in path.dropLast() {
            let inner = current[key]?.objectValue ?? JSONObject()
            if current.index(forKey: key) != nil { current[key] = .null }
            chain.append(current)
            current = inner
        }
        current[last] = newValue
        for (key, var parent) in zip(path.dropLast(), chain).reversed() {
            parent[key] = .object(current)
            current = parent
        }
        self = current
    }

    /// Merges `other` into this object: nested objects merge key by key, anything else is replaced.
    public mutating func deepMerge(_ other: JSONObject) {
        for (key, value) in other {
            if case .object(let incoming) = value, case .object(var existing)? = self[key] {
                existing.deepMerge(incoming)
                self[key] = .object(existing)
            } else {
                self[key] = value
            }
        }
    }
}
