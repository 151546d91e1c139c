/// Turns RunQL text into statements: a hand-written recursive-descent parser with a precedence table.
///
/// ```
/// text ──Lexer──▶ [Token] ──Parser──▶ [Statement] ──Binder──▶ plan ──▶ result
/// ```
/// The grammar it follows is `Grammar/RunQL.ebnf`. Statements (this file):
///
/// - `.query`: `SELECT …`, `WITH … SELECT …`, `(SELECT …) UNION …` (`Parser+Query.swift`)
/// - `.explain`: `EXPLAIN query`
/// - `.showTables`: `SHOW TABLES`
/// - `.describe`: `DESCRIBE runs`
/// - `.showKeys`: `SHOW KEYS`, `SHOW KEYS config` (also `summary`, `history`, `metadata`)
///
/// Statements are separated by `;`; empty statements are skipped and the last `;` is optional.
/// Keywords are case-insensitive. Errors are `Diagnostic`s of the parser phase, DuckDB-style:
/// `syntax error at or near "X"` (or `at end of input`) with the span of the offending token.
/// Nesting is limited, so that no input can overflow the stack, here or in the stages after:
/// the tree may be at most `maximumDepth` levels deep (parentheses, `NOT NOT …`, operator chains
/// such as `a + b + c`, subqueries), and the parse may use at most `stackBudget` bytes of stack
/// (about 60 levels of parentheses in a debug build, 150 in a release build). Deeper input is the
/// error "expression nested too deeply".
public struct Parser {
    /// How deeply expressions and queries may nest.
    public static let maximumDepth = 1000

    /// How much stack one parse may use: little enough to be safe on a 512 KB thread (the size of
    /// a secondary thread's stack on macOS).
    public static let stackBudget = 256 * 1024

    private let tokens: [Token]
    /// The keyword each token spells (nil for other tokens), parallel to `tokens`.
    private let keywords: [Keyword?]
    private let sourceBytes: [UInt8]
    private var position = 0
    /// The current nesting (see `descend`).
    var depth = 0
    /// Where the stack was when the parse began (see `descend`).
    private let stackBase = Parser.stackAddress()

    private init(source: String) throws(Diagnostic) {
        tokens = try Lexer(source).tokenize()
        keywords = tokens.map { $0.kind == .identifier ? Keyword(word: $0.text) : nil }
        sourceBytes = Array(source.utf8)
    }

    /// Parses a script: statements separated by `;`.
    public static func parse(_ source: String) throws(Diagnostic) -> [Statement] {
        do {
            var parser = try Parser(source: source)
            return try parser.parseScript()
        } catch {
            throw Parser.diagnostic(from: error)
        }
    }

    /// Parses a single expression (for tests and tools), such as `val_f1 > 0.9 AND 'bert' IN tags`.
    public static func parseExpression(_ source: String) throws(Diagnostic) -> Expr {
        do {
            var parser = try Parser(source: source)
            let expression = try parser.parseExpression()
            guard parser.kind == .endOfInput else { throw parser.syntaxError() }
            return expression
        } catch {
            throw Parser.diagnostic(from: error)
        }
    }

    /// The parser throws only `Diagnostic`s; internally untyped `throws` keeps stack frames small.
    private static func diagnostic(from error: any Error) -> Diagnostic {
        (error as? Diagnostic) ?? Diagnostic(.parser, "\(error)")
    }

    // MARK: - Statements

    /// `statement (';' statement)* [';']`, skipping empty statements.
    private mutating func parseScript() throws -> [Statement] {
        var statements: [Statement] = []
        while true {
            while kind == .semicolon { advance() }
            if kind == .endOfInput { return statements }
            statements.append(try parseStatement())
            guard kind == .semicolon || kind == .endOfInput else { throw syntaxError() }
        }
    }

    /// One statement: a query, `EXPLAIN query`, `SHOW TABLES`, `SHOW KEYS [section]`, `DESCRIBE name`.
    private mutating func parseStatement() throws -> Statement {
        let start = span
        switch keyword {
        case .explain:
            advance()
            let query = try parseQuery()
            return .explain(query, span: start.through(query.span))
        case .show:
            advance()
            if consume(.tables) {
                return .showTables(span: start.through(previousSpan))
            }
            guard consume(.keys) else { throw expected("TABLES or KEYS after SHOW") }
            var section: Name?
            if at(.config) || at(.summary) || at(.history) || at(.metadata) {
                section = Name(text, span: span)
                advance()
            } else if kind != .semicolon, kind != .endOfInput {
                throw expected("CONFIG, SUMMARY, HISTORY or METADATA after SHOW KEYS")
            }
            return .showKeys(section: section, span: start.through(previousSpan))
        case .describe:
            advance()
            let name = try parseName(what: "a table name after DESCRIBE")
            return .describe(name, span: start.through(name.span))
        case .select, .with:
            return .query(try parseQuery())
        default:
            guard kind == .leftParen else { throw syntaxError() }
            return .query(try parseQuery())
        }
    }

    // MARK: - Tokens

    /// The kind of the next token to consume (`.endOfInput` once everything is consumed).
    var kind: TokenKind { tokens[position].kind }

    /// The keyword the next token spells, if any.
    var keyword: Keyword? { keywords[position] }

    /// The span of the next token.
    var span: SourceSpan { tokens[position].span }

    /// The text of the next token.
    var text: String { tokens[position].text }

    /// The kind of the token `offset` places ahead (`.endOfInput` past the end).
    func kind(ahead offset: Int) -> TokenKind { tokens[min(position + offset, tokens.count - 1)].kind }

    /// The keyword of the token `offset` places ahead.
    func keyword(ahead offset: Int) -> Keyword? { keywords[min(position + offset, keywords.count - 1)] }

    /// Whether the next token is the keyword `word`.
    func at(_ word: Keyword) -> Bool { keywords[position] == word }

    /// The span of the last consumed token (an empty span at the start before any).
    var previousSpan: SourceSpan {
        position > 0 ? tokens[position - 1].span : SourceSpan(start: 0, end: 0)
    }

    /// Moves past the next token, never past the end of input.
    mutating func advance() {
        if position < tokens.count - 1 { position += 1 }
    }

    /// Consumes the next token if it is the keyword `word`.
    mutating func consume(_ word: Keyword) -> Bool {
        guard keywords[position] == word else { return false }
        advance()
        return true
    }

    /// Consumes the next token if it is of `tokenKind`.
    mutating func consume(_ tokenKind: TokenKind) -> Bool {
        guard tokens[position].kind == tokenKind else { return false }
        advance()
        return true
    }

    /// Consumes `)` or throws "expected ')' to close '('".
    mutating func expectClosingParenthesis() throws {
        guard consume(.rightParen) else { throw expected("')' to close '('") }
    }

    /// A name: a bare word that is not reserved, or a quoted identifier.
    mutating func parseName(what: String) throws -> Name {
        guard let name = consumeName(allowReserved: false) else { throw expected(what) }
        return name
    }

    /// Consumes a name if the next token is one: a quoted identifier, or a bare word (reserved ones only if allowed).
    mutating func consumeName(allowReserved: Bool) -> Name? {
        let token = tokens[position]
        switch token.kind {
        case .quotedIdentifier:
            advance()
            return Name(token.text, quoted: true, span: token.span)
        case .identifier where allowReserved || keyword?.isReserved != true:
            advance()
            return Name(token.text, span: token.span)
        default:
            return nil
        }
    }

    /// Enters one level of nesting, failing once `maximumDepth` or `stackBudget` is exceeded; callers restore `depth`.
    mutating func descend(_ what: String = "expression") throws {
        depth += 1
        let stackAddress = Parser.stackAddress()
        let stackUsed = stackBase >= stackAddress ? stackBase - stackAddress : stackAddress - stackBase
        if depth > Parser.maximumDepth || stackUsed > UInt(Parser.stackBudget) { throw nestedTooDeeply(what) }
    }

    /// The address of a variable on the stack of the caller's callee: where the stack is now.
    @inline(never)
    private static func stackAddress() -> UInt {
        var marker: UInt8 = 0
        return withUnsafeMutablePointer(to: &marker) { UInt(bitPattern: $0) }
    }

    // MARK: - Errors

    /// `syntax error at or near "X"` at the next token, or `syntax error at end of input`.
    @inline(never)
    func syntaxError() -> any Error {
        if kind == .endOfInput {
            return Diagnostic(.parser, "syntax error at end of input", at: span)
        }
        return Diagnostic(.parser, "syntax error at or near \"\(sourceText(of: tokens[position]))\"", at: span)
    }

    /// `expected <what>, found "X"` at the next token.
    @inline(never)
    func expected(_ what: String) -> any Error {
        let found = kind == .endOfInput ? "end of input" : "\"\(sourceText(of: tokens[position]))\""
        return Diagnostic(.parser, "expected \(what), found \(found)", at: span)
    }

    /// A diagnostic of the parser phase at the next token.
    @inline(never)
    func error(_ message: String) -> any Error {
        Diagnostic(.parser, message, at: span)
    }

    @inline(never)
    private func nestedTooDeeply(_ what: String) -> any Error {
        Diagnostic(.parser, "\(what) nested too deeply", at: span)
    }

    /// The token as written, shortened for messages.
    private func sourceText(of token: Token) -> String {
        let start = min(max(token.span.start, 0), sourceBytes.count)
        let end = min(max(token.span.end, start), sourceBytes.count)
        return Lexer.excerpt(sourceBytes[start..<end])
    }

    // MARK: - Words

    /// Words that cannot be a bare column name or alias (quote them: `"group"`).
    static let reservedWords: Set<String> = Set(Keyword.allCases.filter(\.isReserved).map(\.rawValue))

    /// Words that cannot be a bare table alias, on top of the reserved words: they continue a FROM clause.
    static let joinWords: Set<String> = Set(Keyword.allCases.filter(\.isJoinWord).map(\.rawValue))

    /// The unit words that may follow an INTERVAL's value.
    static let intervalUnits: Set<String> = Set(Keyword.allCases.filter(\.isIntervalUnit).map(\.rawValue))
}
