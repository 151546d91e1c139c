import ColumnIndex
import QueryEngine
import RunStore

/// JSON: one array of objects, or one object per line (`ndjson`). NaN and ±Infinity are `null`
/// (JSON has no such numbers), timestamps ISO-8601, lists and nested objects native.
public struct JSONFormatter: ResultFormatter {
    public var options: FormatOptions
    public var lines: Bool

    public init(options: FormatOptions = FormatOptions(), lines: Bool) {
        self.options = options
        self.lines = lines
    }

    public func format(_ result: QueryResult) -> String {
        var objects: [String] = []
        for rowIndex in 0..<result.rowCount {
            var object = JSONObject()
            for (columnIndex, name) in result.names.enumerated() {
                object[name] = Self.strict(result.value(row: rowIndex, column: columnIndex).json)
            }
            objects.append(JSONWriter.compact(.object(object)))
        }
        if lines { return objects.map { $0 + "\n" }.joined() }
        return objects.isEmpty ? "[]\n" : "[\n" + objects.map { "  " + $0 }.joined(separator: ",\n") + "\n]\n"
    }

    /// Strict JSON: non-finite numbers become null, at any depth.
    static func strict(_ value: JSONValue) -> JSONValue {
        switch value {
        case .double(let number) where !number.isFinite: return .null
        case .array(let elements): return .array(elements.map(strict))
        case .object(let object): return .object(object.mapValues(strict))
        default: return value
        }
    }
}
