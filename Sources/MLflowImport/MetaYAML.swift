/// The YAML subset MLflow's file store writes (`yaml.safe_dump` of flat dictionaries): block
/// mappings by indentation, plain / single-quoted / double-quoted scalars (folded over several
/// lines when long), `null`, and the empty flow collections `[]` and `{}`.
///
/// ```yaml
/// artifact_uri: file:///home/alice/ml-project/mlruns/1/abc/artifacts
/// end_time: null
/// experiment_id: '961493392394604608'
/// aliases:
///   champion: '1'
/// tags: []
/// ```
/// Anything else (anchors, block sequences, block scalars, flow collections with content) is
/// reported as an error naming the file and line.
enum MetaYAML {
    indirect enum Value: Equatable {
        case null
        /// A scalar's text; `quoted` scalars are always strings.
        case scalar(String, quoted: Bool)
        case mapping([(String, Value)])
        case emptyList

        static func == (lhs: Value, rhs: Value) -> Bool {
            switch (lhs, rhs) {
            case (.null, .null), (.emptyList, .emptyList): return true
            case let (.scalar(a, qa), .scalar(b, qb)): return a == b && qa == qb
            case let (.mapping(a), .mapping(b)): return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
            default: return false
            }
        }

        /// A member of a mapping.
        subscript(key: String) -> Value? {
            guard case .mapping(let members) = self else { return nil }
            return members.first { $0.0 == key }?.1
        }

        /// The text of a scalar (nil for null and collections).
        var string: String? {
            if case .scalar(let text, _) = self { return text }
            return nil
        }

        /// An integer scalar, quoted or not (`experiment_id: '42'` and `start_time: 1795…` both count).
        var integer: Int64? {
            string.flatMap { Int64($0) }
        }

        /// The members of a mapping as strings (nested collections left out).
        var stringMembers: [String: String] {
            guard case .mapping(let members) = self else { return [:] }
            var result: [String: String] = [:]
            for (key, value) in members { if let text = value.string { result[key] = text } }
            return result
        }
    }

    struct ParseError: Error, Equatable, CustomStringConvertible {
        var line: Int
        var message: String
        var description: String { "line \(line): \(message)" }
    }

    private struct Line {
        var number: Int
        var indent: Int
        var text: Substring
    }

    /// Parses a whole document; the top level must be a mapping (or empty).
    static func parse(_ text: String) throws -> Value {
        var lines: [Line] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var content = raw
            if content.hasSuffix("\r") { content = content.dropLast() }
            let indent = content.prefix { $0 == " " }.count
            lines.append(Line(number: index + 1, indent: indent, text: content.dropFirst(indent)))
        }
        var position = 0
        skipBlankAndComments(lines, &position)
        if position == lines.count { return .mapping([]) }
        if lines[position].text.hasPrefix("---") { position += 1 }
        let value = try parseMapping(lines, &position, indent: lines[min(position, lines.count - 1)].indent)
        skipBlankAndComments(lines, &position)
        if position < lines.count {
            throw ParseError(line: lines[position].number, message: "unexpected indentation")
        }
        return value
    }

    private static func skipBlankAndComments(_ lines: [Line], _ position: inout Int) {
        while position < lines.count, lines[position].text.isEmpty || lines[position].text.hasPrefix("#") { position += 1 }
    }

    private static func parseMapping(_ lines: [Line], _ position: inout Int, indent: Int) throws -> Value {
        var members: [(String, Value)] = []
        while true {
            skipBlankAndComments(lines, &position)
            guard position < lines.count, lines[position].indent == indent else { break }
            let line = lines[position]
            let (key, rest) = try splitKey(line)
            position += 1
            let value: Value
            if rest.isEmpty {
                // A nested block mapping follows on more-indented lines, or the value is null.
                var next = position
                skipBlankAndComments(lines, &next)
                if next < lines.count, lines[next].indent > indent {
                    position = next
                    value = try parseMapping(lines, &position, indent: lines[next].indent)
                } else {
                    value = .null
                }
            } else {
                value = try parseScalar(rest, line: line, lines: lines, position: &position, indent: indent)
            }
            members.append((key, value))
        }
        return .mapping(members)
    }

    /// `key: rest` (the key may be quoted).
    private static func splitKey(_ line: Line) throws -> (String, Substring) {
        let text = line.text
        if text.hasPrefix("- ") || text == "-" {
            throw ParseError(line: line.number, message: "block sequences are not supported in MLflow meta files")
        }
        if let quote = text.first, quote == "'" || quote == "\"" {
            var position = text.startIndex
            let key = try readQuoted(text, &position, quote: quote, line: line.number)
            let rest = text[position...]
            guard rest.hasPrefix(":") else { throw ParseError(line: line.number, message: "expected ':' after a quoted key") }
            return (key, rest.dropFirst().drop { $0 == " " })
        }
        guard let colon = text.range(of: ": ")?.lowerBound ?? (text.hasSuffix(":") ? text.index(before: text.endIndex) : nil) else {
            throw ParseError(line: line.number, message: "expected 'key: value'")
        }
        return (String(text[..<colon]), text[text.index(after: colon)...].drop { $0 == " " })
    }

    /// A scalar starting on `line` (after its key), with any continuation lines folded in.
    private static func parseScalar(_ start: Substring, line: Line, lines: [Line], position: inout Int, indent: Int) throws -> Value {
        if start.hasPrefix("&") || start.hasPrefix("*") || start.hasPrefix("!") || start.hasPrefix("|") || start.hasPrefix(">") {
            throw ParseError(line: line.number, message: "unsupported YAML construct \(start.prefix(1))")
        }
        if let quote = start.first, quote == "'" || quote == "\"" {
            // Quoted scalars may span lines: gather until the closing quote.
            var text = String(start)
            while !closesQuote(text, quote: quote) {
                guard position < lines.count else { throw ParseError(line: line.number, message: "unterminated quoted string") }
                let next = lines[position]
                position += 1
                text += "\n" + next.text
            }
            var index = text.startIndex
            let value = try readQuoted(Substring(text), &index, quote: quote, line: line.number)
            let trailing = text[index...].trimmingSpaces()
            guard trailing.isEmpty || trailing.hasPrefix("#") else {
                throw ParseError(line: line.number, message: "unexpected text after a quoted string")
            }
            return .scalar(value, quoted: true)
        }
        if start == "[]" { return .emptyList }
        if start == "{}" { return .mapping([]) }
        if start.hasPrefix("[") || start.hasPrefix("{") {
            throw ParseError(line: line.number, message: "flow collections with content are not supported in MLflow meta files")
        }
        // A plain scalar continues on more-indented lines (folded: one line break is a space,
        // each blank line a newline).
        var pieces = [String(start.trimmingSpaces())]
        var blankLines = 0
        while position < lines.count, lines[position].text.isEmpty || lines[position].indent > indent {
            let next = lines[position]
            if next.text.isEmpty {
                blankLines += 1
            } else {
                pieces.append(blankLines > 0 ? String(repeating: "\n", count: blankLines) : " ")
                pieces.append(String(next.text.trimmingSpaces()))
                blankLines = 0
            }
            position += 1
        }
        let text = pieces.joined()
        if pieces.count == 1, text == "null" || text == "~" || text == "Null" || text == "NULL" { return .null }
        return .scalar(text, quoted: false)
    }

    private static func closesQuote(_ text: String, quote: Character) -> Bool {
        var index = text.index(after: text.startIndex)
        while index < text.endIndex {
            let character = text[index]
            if quote == "\"", character == "\\" {
                index = text.index(after: index)
                if index < text.endIndex { index = text.index(after: index) }
                continue
            }
            if character == quote {
                let next = text.index(after: index)
                if quote == "'", next < text.endIndex, text[next] == "'" {
                    index = text.index(after: next)
                    continue
                }
                return true
            }
            index = text.index(after: index)
        }
        return false
    }

    /// Reads a quoted scalar at `position` (which is at the opening quote), folding line breaks.
    private static func readQuoted(_ text: Substring, _ position: inout Substring.Index, quote: Character, line: Int) throws -> String {
        var result = ""
        var index = text.index(after: position)
        var pendingBreaks = 0
        func flushBreaks() {
            if pendingBreaks == 1 {
                result.append(" ")
            } else if pendingBreaks > 1 {
                result.append(String(repeating: "\n", count: pendingBreaks - 1))
            }
            pendingBreaks = 0
        }
        while index < text.endIndex {
            let character = text[index]
            if character == "\n" {
                // Folding: trailing spaces before the break and leading spaces after it go.
                while result.hasSuffix(" ") { result.removeLast() }
                pendingBreaks += 1
                index = text.index(after: index)
                while index < text.endIndex, text[index] == " " { index = text.index(after: index) }
                continue
            }
            flushBreaks()
            if character == quote {
                let next = text.index(after: index)
                if quote == "'", next < text.endIndex, text[next] == "'" {
                    result.append("'")
                    index = text.index(after: next)
                    continue
                }
                position = next
                return result
            }
            if quote == "\"", character == "\\" {
                index = text.index(after: index)
                guard index < text.endIndex else { break }
                let escaped = text[index]
                switch escaped {
                case "n": result.append("\n")
                case "t": result.append("\t")
                case "r": result.append("\r")
                case "0": result.append("\0")
                case "\\": result.append("\\")
                case "\"": result.append("\"")
                case "/": result.append("/")
                case " ": result.append(" ")
                case "\n":
                    // An escaped line break joins the lines.
                    index = text.index(after: index)
                    while index < text.endIndex, text[index] == " " { index = text.index(after: index) }
                    continue
                case "x", "u", "U":
                    let width = escaped == "x" ? 2 : escaped == "u" ? 4 : 8
                    let digitsStart = text.index(after: index)
                    guard let digitsEnd = text.index(digitsStart, offsetBy: width, limitedBy: text.endIndex),
                        let code = UInt32(text[digitsStart..<digitsEnd], radix: 16), let scalar = Unicode.Scalar(code)
                    else { throw ParseError(line: line, message: "invalid \\\(escaped) escape") }
                    result.unicodeScalars.append(scalar)
                    index = digitsEnd
                    continue
                default:
                    throw ParseError(line: line, message: "unknown escape \\\(escaped)")
                }
                index = text.index(after: index)
                continue
            }
            result.append(character)
            index = text.index(after: index)
        }
        throw ParseError(line: line, message: "unterminated quoted string")
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var text = self
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return text
    }
}
