import ColumnIndex
import RunStore

/// How values look as text: in tables, in CSV, and in `CAST(x AS VARCHAR)`.
public enum Render {
    /// Floats shortest-round-trip (`0.1`, `2.0`, `1e-05`), `NaN`, `Infinity`; timestamps
    /// `2026-01-05 02:36:57`; lists `[a, b]`; objects as JSON.
    public static func text(_ value: Value) -> String {
        switch value {
        case .null: return "NULL"
        case .bool(let flag): return flag ? "true" : "false"
        case .int(let integer): return String(integer)
        case .double(let number): return JSONWriter.formatDouble(number)
        case .string(let text): return text
        case .timestamp(let micros):
            let iso = Timestamp.format(micros: micros)
            return String(iso.dropLast().map { $0 == "T" ? " " : $0 })
        case .interval(let interval): return interval.description
        case .list(let elements): return "[" + elements.map(listElement).joined(separator: ", ") + "]"
        case .object(let object): return JSONWriter.compact(.object(object))
        }
    }

    private static func listElement(_ value: Value) -> String {
        if case .string(let text) = value { return text }
        return text(value)
    }
}
