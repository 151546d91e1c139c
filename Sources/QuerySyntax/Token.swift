/// One lexical unit of RunQL text, with where it was written.
///
/// Keywords are not a kind of their own: `SELECT`, `select` and `runs` are all `.identifier`
/// tokens, and the parser recognises keywords by their text, case-insensitively (`isWord` makes
/// the same check for other tools). This keeps most keywords usable as column names, as in DuckDB.
public struct Token: Sendable, Equatable {
    public var kind: TokenKind
    /// The UTF-8 bytes of the source that the token covers, delimiters included.
    public var span: SourceSpan
    /// The token's value: a bare identifier, number or operator as written; a quoted identifier's
    /// or string's contents with doubled quotes undone (`'it''s'` → `it's`); empty at the end of input.
    public var text: String

    public init(_ kind: TokenKind, text: String, span: SourceSpan) {
        self.kind = kind
        self.text = text
        self.span = span
    }

    /// Whether this is the bare word `word`, compared ASCII-case-insensitively (`word` in upper case).
    public func isWord(_ word: String) -> Bool {
        guard kind == .identifier, text.utf8.count == word.utf8.count else { return false }
        for (byte, wordByte) in zip(text.utf8, word.utf8) where Token.asciiUppercase(byte) != Token.asciiUppercase(wordByte) {
            return false
        }
        return true
    }

    /// Whether this is a bare word equal (ignoring ASCII case) to one of `words`.
    public func isWord(in words: Set<String>) -> Bool {
        kind == .identifier && words.contains(Token.uppercasedASCII(text))
    }

    /// `text` with ASCII letters upper-cased (non-ASCII text is left alone).
    static func uppercasedASCII(_ text: String) -> String {
        String(decoding: text.utf8.map(asciiUppercase), as: UTF8.self)
    }

    private static func asciiUppercase(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") ? byte - 32 : byte
    }
}

/// What a token is; keywords are `.identifier` (see `Token`).
public enum TokenKind: Sendable, Equatable, Hashable {
    /// `runs`, `SELECT`, `val_f1`: a bare word.
    case identifier
    /// `"val/f1"`: a name in double quotes.
    case quotedIdentifier
    /// `'finished'`
    case string
    /// `42`
    case integer
    /// `0.5`, `.5`, `1e-3`, `2E+5`
    case decimal
    /// `+`
    case plus
    /// `-`
    case minus
    /// `*`
    case star
    /// `/`
    case slash
    /// `//`
    case doubleSlash
    /// `%`
    case percent
    /// `||`
    case concat
    /// `=` or `==`
    case equal
    /// `<>` or `!=`
    case notEqual
    /// `<`
    case less
    /// `<=`
    case lessOrEqual
    /// `>`
    case greater
    /// `>=`
    case greaterOrEqual
    /// `~`
    case regexMatch
    /// `!~`
    case regexNotMatch
    /// `::`
    case doubleColon
    /// `(`
    case leftParen
    /// `)`
    case rightParen
    /// `[`
    case leftBracket
    /// `]`
    case rightBracket
    /// `,`
    case comma
    /// `.`
    case dot
    /// `;`
    case semicolon
    /// The end of the text: always the last token, with an empty span at the end.
    case endOfInput
}
