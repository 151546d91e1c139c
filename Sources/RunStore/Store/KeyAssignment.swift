/// A `KEY=VALUE` argument of the writers.
///
/// KEY is a path of nested keys separated by `.`; `\.` is a literal dot and `\\` a backslash
/// (`model.arch=bert` sets `{"model": {"arch": "bert"}}`, `a\.b=1` sets the key `a.b`).
/// VALUE is read as JSON when it is valid JSON (numbers, `true`, `false`, `null`, arrays, objects,
/// quoted strings, `NaN`, `Infinity`) and kept as a string otherwise (`bert`, `1e-3x`).
public struct KeyAssignment: Sendable, Equatable {
    public var path: [String]
    public var value: JSONValue

    public init(path: [String], value: JSONValue) {
        self.path = path
        self.value = value
    }

    public init(parsing argument: String) throws {
        guard let equals = argument.firstIndex(of: "=") else {
            throw StoreError("\"\(argument)\" is not KEY=VALUE")
        }
        path = try Self.parsePath(String(argument[..<equals]), argument: argument)
        let text = String(argument[argument.index(after: equals)...])
        value = (try? JSONParser.parse(text)) ?? .string(text)
    }

    static func parsePath(_ key: String, argument: String) throws -> [String] {
        var components: [String] = []
        var current = ""
        var escaped = false
        for character in key {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "." {
                components.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        if escaped { current.append("\\") }
        components.append(current)
        guard components.allSatisfy({ !$0.isEmpty }) else {
            throw StoreError("\"\(argument)\": the key must be non-empty names separated by '.'")
        }
        // Each name is a level of nesting in config.json or summary.json, which the store reads to a bounded depth.
        guard components.count <= JSONParser.maximumDepth else {
            throw StoreError(
                "\"\(key.prefix(40))…\": the key has \(components.count) names; at most \(JSONParser.maximumDepth) can nest in the store")
        }
        return components
    }

    /// The assignments as one object (later assignments win).
    public static func object(_ assignments: [KeyAssignment]) -> JSONObject {
        var object = JSONObject()
        for assignment in assignments { object.setValue(assignment.value, at: assignment.path) }
        return object
    }
}
