/// Writes `JSONValue`s as text that `JSONParser` (and Python's `json.loads`) reads back unchanged.
///
/// Floats are written shortest-round-trip and always look like floats (`2.0`, not `2`), so a
/// value's type survives a round trip; non-finite floats are written as Python writes them.
public enum JSONWriter {
    /// One line, no spaces: the form of history lines.
    public static func compact(_ value: JSONValue) -> String {
        var output = ""
        write(value, into: &output, indent: nil, level: 0)
        return output
    }

    /// Two-space indentation and a final newline: the form of a run's small files.
    public static func pretty(_ value: JSONValue) -> String {
        var output = ""
        write(value, into: &output, indent: "  ", level: 0)
        output.append("\n")
        return output
    }

    public static func write(_ value: JSONValue, into output: inout String, indent: String?, level: Int) {
        switch value {
        case .null: output.append("null")
        case .bool(let flag): output.append(flag ? "true" : "false")
        case .int(let integer): output.append(String(integer))
        case .bigInt(let text): output.append(text)
        case .double(let number): output.append(formatDouble(number))
        case .string(let string): writeString(string, into: &output)
        case .array(let elements):
            if elements.isEmpty {
                output.append("[]")
                return
            }
            output.append("[")
            for (elementIndex, element) in elements.enumerated() {
                if elementIndex > 0 { output.append(",") }
                newline(into: &output, indent: indent, level: level + 1)
                write(element, into: &output, indent: indent, level: level + 1)
            }
            newline(into: &output, indent: indent, level: level)
            output.append("]")
        case .object(let object):
            if object.isEmpty {
                output.append("{}")
                return
            }
            output.append("{")
            for (memberIndex, (key, member)) in object.enumerated() {
                if memberIndex > 0 { output.append(",") }
                newline(into: &output, indent: indent, level: level + 1)
                writeString(key, into: &output)
                output.append(indent == nil ? ":" : ": ")
                write(member, into: &output, indent: indent, level: level + 1)
            }
            newline(into: &output, indent: indent, level: level)
            output.append("}")
        }
    }

    private static func newline(into output: inout String, indent: String?, level: Int) {
        guard let indent else { return }
        output.append("\n")
        for _ in 0..<level { output.append(indent) }
    }

    /// `2.0`, `0.001`, `1e-05`, `NaN`, `Infinity`, `-Infinity`.
    public static func formatDouble(_ number: Double) -> String {
        if number.isNaN { return "NaN" }
        if number.isInfinite { return number < 0 ? "-Infinity" : "Infinity" }
        return number.description
    }

    public static func writeString(_ string: String, into output: inout String) {
        output.append("\"")
        var pendingStart = string.utf8.startIndex
        let utf8 = string.utf8
        var index = utf8.startIndex
        while index != utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 {
                output.append(contentsOf: string[pendingStart..<index])
                switch byte {
                case UInt8(ascii: "\""): output.append("\\\"")
                case UInt8(ascii: "\\"): output.append("\\\\")
                case 0x0A: output.append("\\n")
                case 0x0D: output.append("\\r")
                case 0x09: output.append("\\t")
                case 0x08: output.append("\\b")
                case 0x0C: output.append("\\f")
                default:
                    let hex = String(byte, radix: 16)
                    output.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
                }
                pendingStart = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        output.append(contentsOf: string[pendingStart..<utf8.endIndex])
        output.append("\"")
    }
}
