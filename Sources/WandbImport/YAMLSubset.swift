import RunStore

/// Reads the block-style YAML that W&B's `config.yaml` writers produce (PyYAML's SafeDumper in
/// wandb ≤ 0.17, Go's yaml.v3 in wandb-core) into JSON values.
///
/// Handled: block mappings and sequences (a sequence may sit at its key's indentation), `- key: v`
/// items, plain, single- and double-quoted scalars (folded over several lines), `|`/`>` block
/// scalars, flow `[…]`/`{…}` collections, comments, and YAML 1.1 scalars (`null`, `~`, `true`,
/// `1.0e-08`, `.inf`, `.nan`). Anchors, tags and multi-document streams are not.
///
/// Nesting is bounded like the store's JSON (`JSONParser.maximumDepth`, the document counting as one
/// level), so a hostile file is an error, never a stack overflow, and what is read can be stored.
enum YAMLSubset {
    struct ParseError: Error {
        var line: Int
        var message: String
        /// The error is the nesting limit (a top-level entry can be left out for it).
        var isNestingTooDeep = false

        init(line: Int, message: String) {
            self.line = line
            self.message = message
        }

        static func nestingTooDeep(line: Int) -> ParseError {
            var error = ParseError(line: line, message: "nesting deeper than \(JSONParser.maximumDepth) levels")
            error.isNestingTooDeep = true
            return error
        }
    }

    /// A top-level entry left out because it nests too deep.
    struct DroppedEntry {
        var key: String
        var error: ParseError
    }

    private struct Line {
        var number: Int
        var indent: Int
        var text: Substring
    }

    /// The document; any error, nesting too deep included, is thrown.
    static func parse(_ text: String) throws -> JSONValue {
        var dropped: [DroppedEntry] = []
        return try parse(text, dropping: &dropped, recover: false)
    }

    /// The document, less the top-level mapping entries that nest deeper than `JSONParser.maximumDepth`:
    /// those are left out and listed in `dropped`; any other error is thrown.
    static func parse(_ text: String, droppingTooDeep dropped: inout [DroppedEntry]) throws -> JSONValue {
        try parse(text, dropping: &dropped, recover: true)
    }

    private static func parse(_ text: String, dropping dropped: inout [DroppedEntry], recover: Bool) throws -> JSONValue {
        var parser = Parser(raw: text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasSuffix("\r") ? line.dropLast() : line
        })
        parser.recoversAtTop = recover
        defer { dropped.append(contentsOf: parser.dropped) }
        return try parser.document()
    }

    private struct Parser {
        let raw: [Substring]
        var index = 0
        /// Collections open around the cursor (the document's own included).
        var depth = 0
        /// Whether a top-level entry that nests too deep is left out (into `dropped`) rather than thrown.
        var recoversAtTop = false
        var dropped: [DroppedEntry] = []

        init(raw: [Substring]) {
            self.raw = raw
        }

        /// The next line that carries content (not blank, not a comment, not `---`), from `index`.
        mutating func peek() -> Line? {
            while index < raw.count {
                let line = raw[index]
                let indent = line.utf8.prefix { $0 == UInt8(ascii: " ") }.count
                let text = line[line.utf8.index(line.startIndex, offsetBy: indent)...]
                if text.isEmpty || text.hasPrefix("#") || text == "---" {
                    index += 1
                    continue
                }
                return Line(number: index + 1, indent: indent, text: text)
            }
            return nil
        }

        mutating func document() throws -> JSONValue {
            guard let first = peek() else { return .object([:]) }
            return try block(indent: first.indent)
        }

        mutating func block(indent: Int) throws -> JSONValue {
            guard let line = peek() else { return .null }
            if isSequenceItem(line.text) { return try sequence(indent: line.indent) }
            if splitKey(line.text) != nil { return try mapping(indent: line.indent) }
            index += 1
            return try scalar(line.text, line: line.number, parentIndent: indent - 1)
        }

        func isSequenceItem(_ text: Substring) -> Bool {
            text == "-" || text.hasPrefix("- ")
        }

        /// Opens a collection, refusing one beyond `JSONParser.maximumDepth`.
        mutating func enterCollection(line: Int) throws {
            if depth >= JSONParser.maximumDepth { throw ParseError.nestingTooDeep(line: line) }
            depth += 1
        }

        mutating func mapping(indent: Int, firstLineText: Substring? = nil) throws -> JSONValue {
            try enterCollection(line: peek()?.number ?? raw.count)
            defer { depth -= 1 }
            let isTop = depth == 1
            var object: JSONObject = [:]
            var override = firstLineText
            while true {
                let line: Line
                if let text = override, let current = peek() {
                    line = Line(number: current.number, indent: indent, text: text)
                    override = nil
                } else {
                    guard let next = peek(), next.indent == indent, !isSequenceItem(next.text) else { break }
                    line = next
                }
                guard let (keyText, rest) = splitKey(line.text) else {
                    throw ParseError(line: line.number, message: "expected `key: value`")
                }
                let key = try keyString(keyText, line: line.number)
                index += 1
                do {
                    object[key] = try entryValue(rest, line: line.number, indent: indent)
                } catch let error as ParseError where error.isNestingTooDeep && isTop && recoversAtTop {
                    // Leave the entry out: skip the rest of it, up to the next line at this mapping's indentation.
                    while let next = peek(), next.indent > indent || (next.indent == indent && isSequenceItem(next.text)) {
                        index += 1
                    }
                    object.removeValue(forKey: key)
                    dropped.append(DroppedEntry(key: key, error: ParseError(line: line.number, message: error.message)))
                }
            }
            return .object(object)
        }

        /// The value of a mapping entry whose key is on `line`, `rest` being the text after its colon.
        mutating func entryValue(_ rest: Substring, line: Int, indent: Int) throws -> JSONValue {
            if rest.isEmpty {
                if let next = peek(), next.indent > indent || (next.indent == indent && isSequenceItem(next.text)) {
                    return try block(indent: next.indent)
                }
                return .null
            }
            return try scalar(rest, line: line, parentIndent: indent)
        }

        mutating func sequence(indent: Int) throws -> JSONValue {
            try enterCollection(line: peek()?.number ?? raw.count)
            defer { depth -= 1 }
            var elements: [JSONValue] = []
            while let line = peek(), line.indent == indent, isSequenceItem(line.text) {
                let rest = line.text.dropFirst().drop { $0 == " " }
                let itemIndent = indent + (line.text.count - rest.count)
                if rest.isEmpty {
                    index += 1
                    if let next = peek(), next.indent > indent {
                        elements.append(try block(indent: next.indent))
                    } else {
                        elements.append(.null)
                    }
                } else if isSequenceItem(rest) || (splitKey(rest) != nil && !rest.hasPrefix("[") && !rest.hasPrefix("{")) {
                    // `- key: value` (or `- - x`): a nested collection starting on the item's line.
                    if isSequenceItem(rest) {
                        throw ParseError(line: line.number, message: "nested `- -` sequences are not supported")
                    }
                    elements.append(try mapping(indent: itemIndent, firstLineText: rest))
                } else {
                    index += 1
                    elements.append(try scalar(rest, line: line.number, parentIndent: indent))
                }
            }
            return .array(elements)
        }

        /// `key: rest` or `key:`; nil when the text is not a mapping entry.
        func splitKey(_ text: Substring) -> (Substring, Substring)? {
            var quote: Character?
            var position = text.startIndex
            if let first = text.first, first == "'" || first == "\"" { quote = first; position = text.index(after: position) }
            while position < text.endIndex {
                let character = text[position]
                if let open = quote {
                    if character == open { quote = nil }
                } else if character == ":" {
                    let after = text.index(after: position)
                    if after == text.endIndex || text[after] == " " {
                        return (text[..<position], text[after...].drop { $0 == " " })
                    }
                } else if character == "#" && position > text.startIndex && text[text.index(before: position)] == " " {
                    return nil
                }
                position = text.index(after: position)
            }
            return nil
        }

        func keyString(_ text: Substring, line: Int) throws -> String {
            let trimmed = text.trimmingTrailingSpaces()
            if trimmed.hasPrefix("'") || trimmed.hasPrefix("\"") {
                var single = ScalarText(text: trimmed, line: line, depth: depth)
                return try single.quoted()
            }
            return String(trimmed)
        }

        /// A value on a key's (or item's) line, with the lines that continue it (more indented
        /// than `parentIndent`, or up to a closing quote).
        mutating func scalar(_ first: Substring, line: Int, parentIndent: Int) throws -> JSONValue {
            let text = first.strippingComment()
            if text.hasPrefix("|") || text.hasPrefix(">") {
                return .string(blockScalar(literal: text.hasPrefix("|"), keep: !text.hasSuffix("-"), parentIndent: parentIndent))
            }
            var combined = String(text)
            if text.hasPrefix("'") || text.hasPrefix("\"") {
                let quote = text.first ?? "'"
                while !ScalarText.isClosed(combined, quote: quote), index < raw.count {
                    let next = raw[index].drop { $0 == " " }
                    index += 1
                    combined += next.isEmpty ? "\n" : (combined.hasSuffix("\n") ? "" : " ") + next
                }
            } else if !text.hasPrefix("[") && !text.hasPrefix("{") {
                while let next = peek(), next.indent > parentIndent, splitKey(next.text) == nil, !isSequenceItem(next.text) {
                    combined += " " + next.text.strippingComment()
                    index += 1
                }
            }
            var reader = ScalarText(text: Substring(combined), line: line, depth: depth)
            return try reader.value()
        }

        mutating func blockScalar(literal: Bool, keep: Bool, parentIndent: Int) -> String {
            var lines: [Substring] = []
            var blockIndent: Int?
            while index < raw.count {
                let line = raw[index]
                let indent = line.prefix { $0 == " " }.count
                if line.dropFirst(indent).isEmpty {
                    lines.append("")
                    index += 1
                    continue
                }
                if indent <= parentIndent { break }
                let width = blockIndent ?? indent
                blockIndent = width
                lines.append(line.dropFirst(min(width, indent)))
                index += 1
            }
            while lines.last == "" { lines.removeLast() }
            let body = literal ? lines.joined(separator: "\n") : lines.map { $0.isEmpty ? "\n" : String($0) }.joined(separator: " ")
            return keep ? body + "\n" : body
        }
    }

    /// One scalar or flow collection's text.
    private struct ScalarText {
        let text: Substring
        let line: Int
        var position: Substring.Index
        /// Collections open around the cursor, those of the enclosing block included.
        var depth: Int

        init(text: Substring, line: Int, depth: Int) {
            self.text = text
            self.line = line
            self.depth = depth
            position = text.startIndex
        }

        /// Opens a flow collection, refusing one beyond `JSONParser.maximumDepth`.
        mutating func enterCollection() throws {
            if depth >= JSONParser.maximumDepth { throw ParseError.nestingTooDeep(line: line) }
            depth += 1
        }

        /// Whether a quoted scalar that starts `text` ends in it (`''` and `\"` do not end it).
        static func isClosed(_ text: String, quote: Character) -> Bool {
            let characters = Array(text.dropFirst())
            var index = 0
            while index < characters.count {
                let character = characters[index]
                if quote == "\"" && character == "\\" {
                    index += 2
                    continue
                }
                if character == quote {
                    if quote == "'" && index + 1 < characters.count && characters[index + 1] == "'" {
                        index += 2
                        continue
                    }
                    return true
                }
                index += 1
            }
            return false
        }

        mutating func value() throws -> JSONValue {
            skipSpaces()
            let result = try element(inFlow: false)
            skipSpaces()
            guard position == text.endIndex else { throw ParseError(line: line, message: "unexpected text after a value: \(text[position...])") }
            return result
        }

        mutating func element(inFlow: Bool) throws -> JSONValue {
            skipSpaces()
            guard position < text.endIndex else { return .null }
            switch text[position] {
            case "[":
                try enterCollection()
                defer { depth -= 1 }
                position = text.index(after: position)
                var elements: [JSONValue] = []
                skipSpaces()
                if consume("]") { return .array(elements) }
                while true {
                    elements.append(try element(inFlow: true))
                    skipSpaces()
                    if consume("]") { return .array(elements) }
                    guard consume(",") else { throw ParseError(line: line, message: "expected , or ] in a flow sequence") }
                }
            case "{":
                try enterCollection()
                defer { depth -= 1 }
                position = text.index(after: position)
                var object: JSONObject = [:]
                skipSpaces()
                if consume("}") { return .object(object) }
                while true {
                    let key = try element(inFlow: true)
                    skipSpaces()
                    guard consume(":") else { throw ParseError(line: line, message: "expected : in a flow mapping") }
                    object[Self.keyText(key)] = try element(inFlow: true)
                    skipSpaces()
                    if consume("}") { return .object(object) }
                    guard consume(",") else { throw ParseError(line: line, message: "expected , or } in a flow mapping") }
                }
            case "'", "\"":
                return .string(try quoted())
            default:
                let start = position
                while position < text.endIndex {
                    let character = text[position]
                    if inFlow && (character == "," || character == "]" || character == "}") { break }
                    if inFlow && character == ":" {
                        let after = text.index(after: position)
                        if after == text.endIndex || text[after] == " " { break }
                    }
                    position = text.index(after: position)
                }
                return Self.plain(String(text[start..<position].trimmingTrailingSpaces()))
            }
        }

        mutating func quoted() throws -> String {
            let quote = text[position]
            position = text.index(after: position)
            var result = ""
            while position < text.endIndex {
                let character = text[position]
                position = text.index(after: position)
                if character == quote {
                    if quote == "'" && position < text.endIndex && text[position] == "'" {
                        result.append("'")
                        position = text.index(after: position)
                        continue
                    }
                    return result
                }
                if quote == "\"" && character == "\\" && position < text.endIndex {
                    let escaped = text[position]
                    position = text.index(after: position)
                    switch escaped {
                    case "n": result.append("\n")
                    case "t": result.append("\t")
                    case "r": result.append("\r")
                    case "0": result.append("\0")
                    case "x", "u", "U":
                        let width = escaped == "x" ? 2 : escaped == "u" ? 4 : 8
                        let end = text.index(position, offsetBy: width, limitedBy: text.endIndex) ?? text.endIndex
                        guard let code = UInt32(text[position..<end], radix: 16), let scalar = Unicode.Scalar(code) else {
                            throw ParseError(line: line, message: "bad \\\(escaped) escape")
                        }
                        result.unicodeScalars.append(scalar)
                        position = end
                    default: result.append(escaped)
                    }
                    continue
                }
                result.append(character)
            }
            throw ParseError(line: line, message: "unterminated quoted string")
        }

        mutating func skipSpaces() {
            while position < text.endIndex, text[position] == " " { position = text.index(after: position) }
        }

        mutating func consume(_ character: Character) -> Bool {
            guard position < text.endIndex, text[position] == character else { return false }
            position = text.index(after: position)
            return true
        }

        static func keyText(_ value: JSONValue) -> String {
            switch value {
            case .string(let text): return text
            default: return JSONWriter.compact(value)
            }
        }

        /// YAML 1.1 plain scalars: null, booleans, integers, floats, else a string.
        static func plain(_ text: String) -> JSONValue {
            switch text {
            case "", "~", "null", "Null", "NULL": return .null
            case "true", "True", "TRUE": return .bool(true)
            case "false", "False", "FALSE": return .bool(false)
            case ".inf", ".Inf", ".INF", "+.inf": return .double(.infinity)
            case "-.inf", "-.Inf", "-.INF": return .double(-.infinity)
            case ".nan", ".NaN", ".NAN": return .double(.nan)
            default: break
            }
            let body = text.hasPrefix("-") || text.hasPrefix("+") ? text.dropFirst() : Substring(text)
            guard let first = body.first, first.isNumber || first == "." else { return .string(text) }
            if body.allSatisfy({ $0.isASCII && $0.isNumber }) {
                if let integer = Int64(text.hasPrefix("+") ? String(text.dropFirst()) : text) { return .int(integer) }
                return .bigInt(text.hasPrefix("+") ? String(text.dropFirst()) : text)
            }
            if body.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "." || $0 == "e" || $0 == "E" || $0 == "-" || $0 == "+") }),
                let number = Double(text)
            {
                return .double(number)
            }
            return .string(text)
        }
    }
}

extension Substring {
    fileprivate func trimmingTrailingSpaces() -> Substring {
        var result = self
        while result.last == " " { result = result.dropLast() }
        return result
    }

    /// The text before a ` #` comment (outside quotes), trailing spaces removed.
    fileprivate func strippingComment() -> Substring {
        var quote: Character?
        var previous: Character = " "
        for position in indices {
            let character = self[position]
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "'" || character == "\"" {
                if previous == " " { quote = character }
            } else if character == "#" && previous == " " {
                return self[..<position].trimmingTrailingSpaces()
            }
            previous = character
        }
        return trimmingTrailingSpaces()
    }
}
