/// Turns RunQL text into tokens: the first stage of the front end.
///
/// ```
/// text ──Lexer──▶ [Token] ──Parser──▶ [Statement]
/// ```
/// Whitespace and comments (`-- …` to the end of the line, `/* … */`, which nest) are skipped.
/// Every token carries the span of UTF-8 bytes it came from; the list always ends with `.endOfInput`.
/// Problems (an unterminated string, an invalid character, …) are `Diagnostic`s of the parser phase.
public struct Lexer: Sendable {
    private let bytes: [UInt8]

    public init(_ source: String) {
        bytes = Array(source.utf8)
    }

    /// Splits the whole source into tokens, ending with `.endOfInput`.
    public static func tokenize(_ source: String) throws(Diagnostic) -> [Token] {
        try Lexer(source).tokenize()
    }

    /// Splits the whole source into tokens, ending with `.endOfInput`.
    public func tokenize() throws(Diagnostic) -> [Token] {
        var tokens: [Token] = []
        var position = 0
        while true {
            position = try skipTrivia(from: position)
            guard position < bytes.count else { break }
            let token = try scanToken(at: position)
            tokens.append(token)
            position = token.span.end
        }
        tokens.append(Token(.endOfInput, text: "", span: SourceSpan(start: bytes.count, end: bytes.count)))
        return tokens
    }

    // MARK: - Trivia

    /// The offset of the first byte at or after `start` that is neither whitespace nor a comment.
    private func skipTrivia(from start: Int) throws(Diagnostic) -> Int {
        var position = start
        while position < bytes.count {
            let byte = bytes[position]
            if let width = whitespaceWidth(at: position) {
                position += width
            } else if byte == UInt8(ascii: "-"), peek(position + 1) == UInt8(ascii: "-") {
                while position < bytes.count, bytes[position] != UInt8(ascii: "\n") { position += 1 }
            } else if byte == UInt8(ascii: "/"), peek(position + 1) == UInt8(ascii: "*") {
                position = try skipBlockComment(at: position)
            } else {
                break
            }
        }
        return position
    }

    /// The number of bytes of whitespace at `position` (ASCII, no-break space or a byte order mark), if any.
    private func whitespaceWidth(at position: Int) -> Int? {
        switch bytes[position] {
        case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), 0x0B, 0x0C:
            return 1
        case 0xC2 where peek(position + 1) == 0xA0:
            return 2
        case 0xEF where peek(position + 1) == 0xBB && peek(position + 2) == 0xBF:
            return 3
        default:
            return nil
        }
    }

    /// The offset just past the `/* … */` comment that opens at `start` (comments nest).
    private func skipBlockComment(at start: Int) throws(Diagnostic) -> Int {
        var position = start + 2
        var nesting = 1
        while position < bytes.count {
            if bytes[position] == UInt8(ascii: "*"), peek(position + 1) == UInt8(ascii: "/") {
                nesting -= 1
                position += 2
                if nesting == 0 { return position }
            } else if bytes[position] == UInt8(ascii: "/"), peek(position + 1) == UInt8(ascii: "*") {
                nesting += 1
                position += 2
            } else {
                position += 1
            }
        }
        throw Diagnostic(.parser, "unterminated /* comment", at: SourceSpan(start: start, end: start + 2))
    }

    // MARK: - Tokens

    /// The token that starts at `start` (not whitespace, not a comment, not the end).
    private func scanToken(at start: Int) throws(Diagnostic) -> Token {
        let byte = bytes[start]
        if isIdentifierStart(byte) { return scanIdentifier(at: start) }
        if isDigit(byte) || (byte == UInt8(ascii: ".") && isDigit(peek(start + 1))) { return try scanNumber(at: start) }
        switch byte {
        case UInt8(ascii: "'"):
            let (text, end) = try scanQuoted(at: start, quote: byte, what: "quoted string")
            return Token(.string, text: text, span: SourceSpan(start: start, end: end))
        case UInt8(ascii: "\""):
            let (text, end) = try scanQuoted(at: start, quote: byte, what: "quoted identifier")
            guard !text.isEmpty else {
                throw Diagnostic(.parser, "zero-length delimited identifier at or near \"\"\"\"", at: SourceSpan(start: start, end: end))
            }
            return Token(.quotedIdentifier, text: text, span: SourceSpan(start: start, end: end))
        default:
            guard let (kind, width) = punctuation(at: start) else { throw invalidCharacter(at: start) }
            let span = SourceSpan(start: start, end: start + width)
            return Token(kind, text: String(decoding: bytes[span.start..<span.end], as: UTF8.self), span: span)
        }
    }

    /// A bare word: a letter, `_` or non-ASCII character, then those, digits and `$`.
    private func scanIdentifier(at start: Int) -> Token {
        var position = start + 1
        while position < bytes.count, isIdentifierContinuation(bytes[position]), whitespaceWidth(at: position) == nil {
            position += 1
        }
        return Token(.identifier, text: String(decoding: bytes[start..<position], as: UTF8.self), span: SourceSpan(start: start, end: position))
    }

    /// `42`, `0.5`, `.5`, `1.`, `1e-3`, `2E+5`; a number directly followed by a letter is an error.
    private func scanNumber(at start: Int) throws(Diagnostic) -> Token {
        var position = start
        var isDecimal = false
        while isDigit(peek(position)) { position += 1 }
        if peek(position) == UInt8(ascii: ".") {
            isDecimal = true
            position += 1
            while isDigit(peek(position)) { position += 1 }
        }
        if peek(position) == UInt8(ascii: "e") || peek(position) == UInt8(ascii: "E") {
            var exponent = position + 1
            if peek(exponent) == UInt8(ascii: "+") || peek(exponent) == UInt8(ascii: "-") { exponent += 1 }
            if isDigit(peek(exponent)) {
                isDecimal = true
                position = exponent
                while isDigit(peek(position)) { position += 1 }
            }
        }
        if position < bytes.count, isIdentifierContinuation(bytes[position]), whitespaceWidth(at: position) == nil {
            var junkEnd = position
            while junkEnd < bytes.count, isIdentifierContinuation(bytes[junkEnd]), whitespaceWidth(at: junkEnd) == nil { junkEnd += 1 }
            let span = SourceSpan(start: start, end: junkEnd)
            throw Diagnostic(.parser, "trailing junk after numeric literal at or near \"\(Lexer.excerpt(bytes[start..<junkEnd]))\"", at: span)
        }
        return Token(isDecimal ? .decimal : .integer, text: String(decoding: bytes[start..<position], as: UTF8.self), span: SourceSpan(start: start, end: position))
    }

    /// The contents and end offset of `'…'` or `"…"` opening at `start`, a doubled quote standing for one.
    private func scanQuoted(at start: Int, quote: UInt8, what: String) throws(Diagnostic) -> (String, Int) {
        var contents: [UInt8] = []
        var position = start + 1
        while position < bytes.count {
            if bytes[position] == quote {
                guard peek(position + 1) == quote else {
                    return (String(decoding: contents, as: UTF8.self), position + 1)
                }
                contents.append(quote)
                position += 2
            } else {
                contents.append(bytes[position])
                position += 1
            }
        }
        throw Diagnostic(.parser, "unterminated \(what)", at: SourceSpan(start: start, end: start + 1))
    }

    /// The operator or punctuation at `position` and its width in bytes, longest match first.
    private func punctuation(at position: Int) -> (TokenKind, Int)? {
        let next = peek(position + 1)
        switch bytes[position] {
        case UInt8(ascii: "+"): return (.plus, 1)
        case UInt8(ascii: "-"): return (.minus, 1)
        case UInt8(ascii: "*"): return (.star, 1)
        case UInt8(ascii: "/"): return next == UInt8(ascii: "/") ? (.doubleSlash, 2) : (.slash, 1)
        case UInt8(ascii: "%"): return (.percent, 1)
        case UInt8(ascii: "|"): return next == UInt8(ascii: "|") ? (.concat, 2) : nil
        case UInt8(ascii: "="): return next == UInt8(ascii: "=") ? (.equal, 2) : (.equal, 1)
        case UInt8(ascii: "!"):
            if next == UInt8(ascii: "=") { return (.notEqual, 2) }
            return next == UInt8(ascii: "~") ? (.regexNotMatch, 2) : nil
        case UInt8(ascii: "<"):
            if next == UInt8(ascii: "=") { return (.lessOrEqual, 2) }
            return next == UInt8(ascii: ">") ? (.notEqual, 2) : (.less, 1)
        case UInt8(ascii: ">"): return next == UInt8(ascii: "=") ? (.greaterOrEqual, 2) : (.greater, 1)
        case UInt8(ascii: "~"): return (.regexMatch, 1)
        case UInt8(ascii: ":"): return next == UInt8(ascii: ":") ? (.doubleColon, 2) : nil
        case UInt8(ascii: "("): return (.leftParen, 1)
        case UInt8(ascii: ")"): return (.rightParen, 1)
        case UInt8(ascii: "["): return (.leftBracket, 1)
        case UInt8(ascii: "]"): return (.rightBracket, 1)
        case UInt8(ascii: ","): return (.comma, 1)
        case UInt8(ascii: "."): return (.dot, 1)
        case UInt8(ascii: ";"): return (.semicolon, 1)
        default: return nil
        }
    }

    /// `syntax error at or near "@"` for a printable character, `invalid character U+0007` otherwise.
    private func invalidCharacter(at position: Int) -> Diagnostic {
        let byte = bytes[position]
        let span = SourceSpan(start: position, end: position + 1)
        guard byte >= 0x21, byte < 0x7F else {
            let hex = String(byte, radix: 16, uppercase: true)
            return Diagnostic(.parser, "invalid character U+\(String(repeating: "0", count: 4 - hex.count))\(hex)", at: span)
        }
        return Diagnostic(.parser, "syntax error at or near \"\(Character(Unicode.Scalar(byte)))\"", at: span)
    }

    // MARK: - Bytes

    private func peek(_ position: Int) -> UInt8? {
        position < bytes.count ? bytes[position] : nil
    }

    private func isDigit(_ byte: UInt8?) -> Bool {
        guard let byte else { return false }
        return byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private func isIdentifierStart(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || byte == UInt8(ascii: "_") || byte >= 0x80
    }

    private func isIdentifierContinuation(_ byte: UInt8) -> Bool {
        isIdentifierStart(byte) || isDigit(byte) || byte == UInt8(ascii: "$")
    }

    /// Source text for a message, shortened to 40 characters.
    static func excerpt(_ bytes: ArraySlice<UInt8>) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        return text.count > 40 ? String(text.prefix(40)) + "…" : text
    }
}
