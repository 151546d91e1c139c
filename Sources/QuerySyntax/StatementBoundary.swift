/// Where statements end in typed or piped text: at a `;` outside quotes and comments.
public enum StatementBoundary {
    /// Whether `text` ends with a complete statement: its last character outside strings, quoted
    /// names and comments is a `;` (and no string, quoted name or block comment is left open).
    public static func endsStatement(_ text: String) -> Bool {
        var last: UInt8 = 0
        var index = text.utf8.startIndex
        let bytes = text.utf8
        enum State { case code, single, double, lineComment, blockComment }
        var state = State.code
        while index != bytes.endIndex {
            let byte = bytes[index]
            let next = bytes.index(after: index)
            let following: UInt8? = next != bytes.endIndex ? bytes[next] : nil
            switch state {
            case .code:
                if byte == UInt8(ascii: "'") {
                    state = .single
                } else if byte == UInt8(ascii: "\"") {
                    state = .double
                } else if byte == UInt8(ascii: "-"), following == UInt8(ascii: "-") {
                    state = .lineComment
                } else if byte == UInt8(ascii: "/"), following == UInt8(ascii: "*") {
                    state = .blockComment
                    index = next
                } else if byte != UInt8(ascii: " ") && byte != UInt8(ascii: "\t") && byte != UInt8(ascii: "\n") && byte != UInt8(ascii: "\r") {
                    last = byte
                }
            case .single:
                if byte == UInt8(ascii: "'") { state = .code }
            case .double:
                if byte == UInt8(ascii: "\"") { state = .code }
            case .lineComment:
                if byte == UInt8(ascii: "\n") { state = .code }
            case .blockComment:
                if byte == UInt8(ascii: "*"), following == UInt8(ascii: "/") {
                    state = .code
                    index = next
                }
            }
            index = bytes.index(after: index)
        }
        return (state == .code || state == .lineComment) && last == UInt8(ascii: ";")
    }
}
