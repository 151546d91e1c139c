/// Expressions, by precedence climbing over this table (lowest first; all binary operators left-associative):
///
/// | level          | syntax                                                                    |
/// |----------------|---------------------------------------------------------------------------|
/// | or             | `a OR b`                                                                  |
/// | and            | `a AND b`                                                                 |
/// | not            | `NOT a` (prefix)                                                          |
/// | comparison     | `= == <> != < <= > >= ~ !~`, `IS [NOT] NULL`, `IS [NOT] DISTINCT FROM`,   |
/// |                | `IS [NOT] TRUE/FALSE`, `[NOT] BETWEEN`, `[NOT] IN`, `[NOT] LIKE/ILIKE`    |
/// | concat         | `a || b`                                                                  |
/// | additive       | `a + b`, `a - b`                                                          |
/// | multiplicative | `a * b`, `a / b`, `a // b`, `a % b`                                       |
/// | unary          | `-a`, `+a` (prefix)                                                       |
/// | postfix        | `a::TYPE`, `a[index]`                                                     |
///
/// The AST cases built here:
/// - `.literal`: `42`, `0.5`, `1e-3`, `'text'`, `TRUE`, `FALSE`, `NULL` (an integer too large for
///   64 bits becomes a double; `-9223372036854775808` is the integer `Int64.min`)
/// - `.column`: `name`, `config.model.arch`, `summary."val/f1"`, `run.name`
/// - `.unary`: `-x`, `+x`, `NOT x`
/// - `.binary`: `a + b`, `a AND b`, `a ~ 're'`, `a IS [NOT] DISTINCT FROM b`; also `a IS TRUE` (as
///   `a IS NOT DISTINCT FROM TRUE`) and `a IS NOT TRUE` (as `a IS DISTINCT FROM TRUE`)
/// - `.isNull`: `x IS NULL`, `x IS NOT NULL`
/// - `.between`: `x [NOT] BETWEEN low AND high`
/// - `.inList`: `x [NOT] IN (a, b, c)`
/// - `.inSubquery`: `x [NOT] IN (SELECT …)`
/// - `.inExpression`: `'bert' [NOT] IN tags` (no parentheses)
/// - `.exists`: `EXISTS (SELECT …)`, `NOT EXISTS (SELECT …)`
/// - `.like`: `x [NOT] LIKE p [ESCAPE e]`, `x [NOT] ILIKE p [ESCAPE e]`
/// - `.function`: `f(a, b)`, `count(*)`, `count(DISTINCT x)`, `string_agg(x, ',' ORDER BY y)`,
///   `sum(x) FILTER (WHERE c)`, `rank() OVER (PARTITION BY … ORDER BY … ROWS BETWEEN … AND …)`
/// - `.cast`: `CAST(x AS DOUBLE)`, `TRY_CAST(x AS INT)`, `x::VARCHAR`, `x::INTEGER[]`, and typed
///   literals `DATE '2024-01-31'`, `TIMESTAMP '2024-01-31 12:00'`, `TIME '…'`, `TIMESTAMPTZ '…'`
/// - `.caseWhen`: `CASE [operand] WHEN a THEN b … [ELSE c] END`
/// - `.interval`: `INTERVAL 7 DAY`, `INTERVAL '7 days'`, `INTERVAL '1' HOUR`, `INTERVAL (n * 2) DAY`
/// - `.subquery`: `(SELECT max(x) FROM t)`
/// - `.list`: `[1, 2, 3]`
/// - `.element`: `tags[1]`
///
/// A parenthesised expression is the expression inside, its span widened to the parentheses.
extension Parser {
    /// Precedence levels, lowest first.
    enum Level: Int, Comparable {
        case or = 1, and, not, comparison, concat, additive, multiplicative, unary, postfix

        static func < (left: Level, right: Level) -> Bool { left.rawValue < right.rawValue }

        /// The next tighter level (for the right operand of a left-associative operator).
        var tighter: Level { Level(rawValue: rawValue + 1) ?? .postfix }
    }

    // The functions on the paths that recurse (parseExpression, parseUnary, parsePostfix,
    // parsePrimary, parseParenthesized, …) are kept small: their stack frames bound how deep a
    // parse can go on a thread's stack. Each nesting level calls `descend`.

    /// A whole expression.
    mutating func parseExpression() throws -> Expr {
        try parseExpression(from: .or)
    }

    /// An expression made of operators at `minimum` or tighter.
    mutating func parseExpression(from minimum: Level) throws -> Expr {
        let savedDepth = depth
        defer { depth = savedDepth }
        try descend()
        var left = try parseUnary(minimum)
        while let level = infixLevel(), level >= minimum {
            try descend()
            left = try parseInfix(after: left, at: level)
        }
        return left
    }

    /// The level of the infix operator that is next, if one is.
    private func infixLevel() -> Level? {
        switch kind {
        case .concat: return .concat
        case .plus, .minus: return .additive
        case .star, .slash, .doubleSlash, .percent: return .multiplicative
        case .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual, .regexMatch, .regexNotMatch: return .comparison
        case .identifier:
            switch keyword {
            case .or: return .or
            case .and: return .and
            case .is, .between, .in, .like, .ilike: return .comparison
            case .not: return keyword(ahead: 1)?.isNegatableComparison == true ? .comparison : nil
            default: return nil
            }
        default:
            return nil
        }
    }

    /// The operator that is next (of `level`) applied to `left` and what follows.
    private mutating func parseInfix(after left: Expr, at level: Level) throws -> Expr {
        guard let binaryOperator = binaryOperator() else {
            return try parseComparisonWord(after: left)
        }
        advance()
        let right = try parseExpression(from: level.tighter)
        return Expr(.binary(binaryOperator, left, right), span: left.span.through(right.span))
    }

    /// The binary operator that is next, if it is a symbol, AND or OR.
    private func binaryOperator() -> BinaryOperator? {
        switch kind {
        case .concat: return .concat
        case .plus: return .add
        case .minus: return .subtract
        case .star: return .multiply
        case .slash: return .divide
        case .doubleSlash: return .integerDivide
        case .percent: return .modulo
        case .equal: return .equal
        case .notEqual: return .notEqual
        case .less: return .less
        case .lessOrEqual: return .lessOrEqual
        case .greater: return .greater
        case .greaterOrEqual: return .greaterOrEqual
        case .regexMatch: return .regexMatch
        case .regexNotMatch: return .regexNotMatch
        default: return at(.or) ? .or : at(.and) ? .and : nil
        }
    }

    /// `IS …`, `[NOT] BETWEEN`, `[NOT] IN`, `[NOT] LIKE`, `[NOT] ILIKE` after `left`.
    private mutating func parseComparisonWord(after left: Expr) throws -> Expr {
        if consume(.is) {
            return try parseIs(after: left)
        }
        let negated = consume(.not)
        if consume(.between) {
            let low = try parseExpression(from: .concat)
            guard consume(.and) else { throw expected("AND in BETWEEN") }
            let high = try parseExpression(from: .concat)
            return Expr(.between(left, low: low, high: high, negated: negated), span: left.span.through(high.span))
        }
        if consume(.in) {
            return try parseIn(after: left, negated: negated)
        }
        let caseInsensitive = at(.ilike)
        guard consume(.like) || consume(.ilike) else { throw syntaxError() }
        let pattern = try parseExpression(from: .concat)
        var escape: Expr?
        if consume(.escape) {
            escape = try parseExpression(from: .concat)
        }
        return Expr(.like(left, pattern: pattern, escape: escape, caseInsensitive: caseInsensitive, negated: negated), span: left.span.through(previousSpan))
    }

    /// `IS [NOT] NULL`, `IS [NOT] DISTINCT FROM x`, `IS [NOT] TRUE|FALSE`, after IS.
    private mutating func parseIs(after left: Expr) throws -> Expr {
        let negated = consume(.not)
        if consume(.null) {
            return Expr(.isNull(left, negated: negated), span: left.span.through(previousSpan))
        }
        if consume(.distinct) {
            guard consume(.from) else { throw expected("FROM after IS DISTINCT") }
            let right = try parseExpression(from: .concat)
            return Expr(.binary(negated ? .notDistinctFrom : .distinctFrom, left, right), span: left.span.through(right.span))
        }
        guard at(.true) || at(.false) else { throw expected("NULL, DISTINCT FROM, TRUE or FALSE after IS") }
        let truth = Expr(.literal(.bool(at(.true))), span: span)
        advance()
        return Expr(.binary(negated ? .distinctFrom : .notDistinctFrom, left, truth), span: left.span.through(truth.span))
    }

    /// What follows `x [NOT] IN`: `(SELECT …)`, `(a, b, …)`, or a list-valued expression.
    private mutating func parseIn(after left: Expr, negated: Bool) throws -> Expr {
        if atParenthesisedQuery {
            advance()
            let query = try parseQuery()
            try expectClosingParenthesis()
            return Expr(.inSubquery(left, query, negated: negated), span: left.span.through(previousSpan))
        }
        guard consume(.leftParen) else {
            let list = try parseExpression(from: .concat)
            return Expr(.inExpression(left, list, negated: negated), span: left.span.through(list.span))
        }
        let items = try parseExpressionList()
        if items.count == 1, case .subquery(let query) = items[0].kind, startsQueryContinuation {
            let whole = try continueQuery(after: query, start: items[0].span)
            try expectClosingParenthesis()
            return Expr(.inSubquery(left, whole, negated: negated), span: left.span.through(previousSpan))
        }
        try expectClosingParenthesis()
        return Expr(.inList(left, items, negated: negated), span: left.span.through(previousSpan))
    }

    // MARK: - Prefix and postfix

    /// `NOT x` (where `minimum` allows it), `-x`, `+x`, or a postfix expression.
    private mutating func parseUnary(_ minimum: Level) throws -> Expr {
        if at(.not) {
            guard minimum <= .not else { throw syntaxError() }
            return try parseNot()
        }
        if kind == .minus || kind == .plus {
            return try parseSign()
        }
        return try parsePostfix()
    }

    /// `NOT x`, and `NOT EXISTS (…)` as a negated EXISTS, at NOT.
    private mutating func parseNot() throws -> Expr {
        let start = span
        advance()
        let startsWithExists = at(.exists) && kind(ahead: 1) == .leftParen
        let operand = try parseExpression(from: .not)
        if startsWithExists, case .exists(let query, negated: false) = operand.kind {
            return Expr(.exists(query, negated: true), span: start.through(operand.span))
        }
        return Expr(.unary(.not, operand), span: start.through(operand.span))
    }

    /// `-x` or `+x`, at the sign.
    private mutating func parseSign() throws -> Expr {
        let savedDepth = depth
        defer { depth = savedDepth }
        try descend()
        let start = span
        let unaryOperator: UnaryOperator = kind == .minus ? .negate : .plus
        advance()
        let negatesLargestInteger = unaryOperator == .negate && kind == .integer && text == "9223372036854775808"
        let operand = try parseUnary(.unary)
        if negatesLargestInteger, case .literal(.double) = operand.kind {
            // -9223372036854775808 is the smallest 64-bit integer, although 9223372036854775808 is no 64-bit integer.
            return Expr(.literal(.integer(.min)), span: start.through(operand.span))
        }
        return Expr(.unary(unaryOperator, operand), span: start.through(operand.span))
    }

    /// A primary followed by any number of `::type` casts and `[index]` subscripts.
    private mutating func parsePostfix() throws -> Expr {
        let savedDepth = depth
        defer { depth = savedDepth }
        var expression = try parsePrimary()
        while kind == .doubleColon || kind == .leftBracket {
            try descend()
            expression = try parsePostfixOperator(on: expression)
        }
        return expression
    }

    /// `::type` or `[index]` applied to `operand`.
    private mutating func parsePostfixOperator(on operand: Expr) throws -> Expr {
        if consume(.doubleColon) {
            let type = try parseTypeName()
            return Expr(.cast(operand, type, isTry: false), span: operand.span.through(type.span))
        }
        advance()
        let index = try parseExpression()
        guard consume(.rightBracket) else { throw expected("']' to close '['") }
        return Expr(.element(operand, index: index), span: operand.span.through(previousSpan))
    }

    // MARK: - Primaries

    /// A literal, column path, function call, CAST, CASE, INTERVAL, EXISTS, list, or parenthesised expression or subquery.
    private mutating func parsePrimary() throws -> Expr {
        switch kind {
        case .integer, .decimal: return try parseNumber()
        case .string: return parseString()
        case .leftParen: return try parseParenthesized()
        case .leftBracket: return try parseList()
        case .quotedIdentifier: return try parseColumnOrCall()
        case .identifier where keyword == nil && kind(ahead: 1) == .leftParen: return try parseCall()
        case .identifier: return try parseWordPrimary()
        default: throw syntaxError()
        }
    }

    /// `42` (an integer too large for 64 bits becomes a double), `0.5`, `1e-3`.
    @inline(never)
    private mutating func parseNumber() throws -> Expr {
        let token = (kind: kind, text: text, span: span)
        advance()
        if token.kind == .integer, let value = Int64(token.text) {
            return Expr(.literal(.integer(value)), span: token.span)
        }
        guard let value = Double(token.text) else { throw Diagnostic(.parser, "invalid number \"\(token.text)\"", at: token.span) }
        return Expr(.literal(.double(value)), span: token.span)
    }

    /// `'text'`
    @inline(never)
    private mutating func parseString() -> Expr {
        let literal = Expr(.literal(.string(text)), span: span)
        advance()
        return literal
    }

    /// `[a, b, …]`, at the `[`.
    private mutating func parseList() throws -> Expr {
        let start = span
        advance()
        var elements: [Expr] = []
        if kind != .rightBracket {
            elements = try parseExpressionList()
        }
        guard consume(.rightBracket) else { throw expected("']' to close '['") }
        return Expr(.list(elements), span: start.through(previousSpan))
    }

    /// A primary that starts with a bare word: a keyword form, a function call or a column path.
    private mutating func parseWordPrimary() throws -> Expr {
        switch keyword {
        case .null, .true, .false:
            let literal = Expr(.literal(at(.null) ? .null : .bool(at(.true))), span: span)
            advance()
            return literal
        case .case:
            return try parseCase()
        case .cast where kind(ahead: 1) == .leftParen, .tryCast where kind(ahead: 1) == .leftParen:
            return try parseCast()
        case .exists where kind(ahead: 1) == .leftParen:
            return try parseExists()
        case .interval where [.integer, .decimal, .string, .leftParen].contains(kind(ahead: 1)):
            return try parseInterval()
        case let word? where word.isTypedLiteralType && kind(ahead: 1) == .string:
            return parseTypedLiteral()
        default:
            return try parseColumnOrCall()
        }
    }

    /// `EXISTS (query)`, at EXISTS.
    private mutating func parseExists() throws -> Expr {
        let start = span
        advance()
        advance()
        let query = try parseQuery()
        try expectClosingParenthesis()
        return Expr(.exists(query, negated: false), span: start.through(previousSpan))
    }

    /// `TIMESTAMP '2024-01-31'` as `CAST('2024-01-31' AS TIMESTAMP)`, at the type word.
    @inline(never)
    private mutating func parseTypedLiteral() -> Expr {
        let type = TypeName(name: text, span: span)
        advance()
        let value = parseString()
        return Expr(.cast(value, type, isTry: false), span: type.span.through(value.span))
    }

    /// `name(…)` (a function call) or `a.b."c".d` (a column path).
    private mutating func parseColumnOrCall() throws -> Expr {
        if kind(ahead: 1) == .leftParen {
            return try parseCall()
        }
        guard let first = consumeName(allowReserved: false) else { throw syntaxError() }
        var path = [first]
        while consume(.dot) {
            guard let name = consumeName(allowReserved: true) else { throw expected("a name after '.'") }
            path.append(name)
        }
        return Expr(.column(path), span: first.span.through(previousSpan))
    }

    /// `(expr)`, `(SELECT …)`, or `((SELECT …) UNION …)`.
    private mutating func parseParenthesized() throws -> Expr {
        let start = span
        let query: Query
        if atParenthesisedQuery {
            advance()
            query = try parseQuery()
        } else {
            advance()
            let inner = try parseExpression()
            guard case .subquery(let innerQuery) = inner.kind, startsQueryContinuation else {
                try expectClosingParenthesis()
                return Expr(inner.kind, span: start.through(previousSpan))
            }
            query = try continueQuery(after: innerQuery, start: inner.span)
        }
        try expectClosingParenthesis()
        return Expr(.subquery(query), span: start.through(previousSpan))
    }

    /// `name([DISTINCT|ALL] args [IGNORE|RESPECT NULLS] [ORDER BY …] | *) [FILTER (WHERE …)] [OVER (…)]`, at the name.
    private mutating func parseCall() throws -> Expr {
        guard let name = consumeName(allowReserved: false) else { throw syntaxError() }
        advance()
        var call = FunctionCall(name: name, arguments: [])
        if kind == .star, kind(ahead: 1) == .rightParen {
            advance()
            call.star = true
        } else if kind != .rightParen {
            call.distinct = consume(.distinct)
            if !call.distinct { _ = consume(.all) }
            call.arguments = try parseExpressionList()
            if at(.ignore) || at(.respect), keyword(ahead: 1) == .nulls {
                call.ignoreNulls = at(.ignore)
                advance()
                advance()
            }
            if at(.order) {
                call.orderBy = try parseOrderBy()
            }
        }
        try expectClosingParenthesis()
        if at(.filter), kind(ahead: 1) == .leftParen {
            call.filter = try parseFilter()
        }
        if at(.over), kind(ahead: 1) == .leftParen {
            call.over = try parseWindow()
        }
        return Expr(.function(call), span: name.span.through(previousSpan))
    }

    /// `ORDER BY items`, at ORDER.
    @inline(never)
    private mutating func parseOrderBy() throws -> [OrderItem] {
        advance()
        guard consume(.by) else { throw expected("BY after ORDER") }
        return try parseOrderItems()
    }

    /// `FILTER (WHERE condition)`, at FILTER.
    @inline(never)
    private mutating func parseFilter() throws -> Expr {
        advance()
        advance()
        guard consume(.where) else { throw expected("WHERE in FILTER (WHERE …)") }
        let condition = try parseExpression()
        try expectClosingParenthesis()
        return condition
    }

    /// `OVER ([PARTITION BY …] [ORDER BY …] [ROWS|RANGE frame])`, at OVER.
    @inline(never)
    private mutating func parseWindow() throws -> WindowSpec {
        let start = span
        advance()
        advance()
        var window = WindowSpec(partitionBy: [], orderBy: [], span: start)
        if consume(.partition) {
            guard consume(.by) else { throw expected("BY after PARTITION") }
            window.partitionBy = try parseExpressionList()
        }
        if consume(.order) {
            guard consume(.by) else { throw expected("BY after ORDER") }
            window.orderBy = try parseOrderItems()
        }
        if at(.rows) || at(.range) {
            let unit: WindowFrame.Unit = at(.rows) ? .rows : .range
            advance()
            if consume(.between) {
                let frameStart = try parseFrameBound()
                guard consume(.and) else { throw expected("AND in the window frame") }
                window.frame = WindowFrame(unit: unit, start: frameStart, end: try parseFrameBound())
            } else {
                window.frame = WindowFrame(unit: unit, start: try parseFrameBound(), end: .currentRow)
            }
        }
        try expectClosingParenthesis()
        window.span = start.through(previousSpan)
        return window
    }

    /// `UNBOUNDED PRECEDING`, `UNBOUNDED FOLLOWING`, `CURRENT ROW`, `n PRECEDING`, `n FOLLOWING`.
    private mutating func parseFrameBound() throws -> WindowFrame.Bound {
        if consume(.unbounded) {
            if consume(.preceding) { return .unboundedPreceding }
            guard consume(.following) else { throw expected("PRECEDING or FOLLOWING after UNBOUNDED") }
            return .unboundedFollowing
        }
        if consume(.current) {
            guard consume(.row) else { throw expected("ROW after CURRENT") }
            return .currentRow
        }
        let offset = try parseExpression(from: .concat)
        if consume(.preceding) { return .preceding(offset) }
        guard consume(.following) else { throw expected("PRECEDING or FOLLOWING in the window frame") }
        return .following(offset)
    }

    /// `CAST(x AS type)` or `TRY_CAST(x AS type)`, at the keyword.
    private mutating func parseCast() throws -> Expr {
        let start = span
        let isTry = at(.tryCast)
        advance()
        advance()
        let value = try parseExpression()
        guard consume(.as) else { throw expected("AS in \(isTry ? "TRY_CAST" : "CAST")") }
        let type = try parseTypeName()
        try expectClosingParenthesis()
        return Expr(.cast(value, type, isTry: isTry), span: start.through(previousSpan))
    }

    /// `DOUBLE`, `DOUBLE PRECISION`, `TIMESTAMP WITH TIME ZONE`, `DECIMAL(10, 2)`, `VARCHAR[]`.
    ///
    /// Words are joined by one space; integer modifiers are kept in the name (`DECIMAL(10,2)`).
    @inline(never)
    private mutating func parseTypeName() throws -> TypeName {
        guard kind == .identifier else { throw expected("a type name") }
        let start = span
        let first = keyword
        var name = text
        advance()
        var extraWords = 0
        switch first {
        case .double where at(.precision): extraWords = 1
        case .character where at(.varying), .char where at(.varying): extraWords = 1
        case .timestamp, .time:
            if at(.with) || at(.without), keyword(ahead: 1) == .time, keyword(ahead: 2) == .zone { extraWords = 3 }
        default: break
        }
        for _ in 0..<extraWords {
            name += " " + text
            advance()
        }
        if kind == .leftParen, kind(ahead: 1) == .integer {
            name += try parseTypeModifiers()
        }
        var isList = false
        if kind == .leftBracket, kind(ahead: 1) == .rightBracket {
            advance()
            advance()
            isList = true
        }
        return TypeName(name: name, isList: isList, span: start.through(previousSpan))
    }

    /// `(10, 2)` after a type name, as `(10,2)`.
    @inline(never)
    private mutating func parseTypeModifiers() throws -> String {
        advance()
        var modifiers: [String] = []
        repeat {
            guard kind == .integer else { throw expected("an integer type modifier") }
            modifiers.append(text)
            advance()
        } while consume(.comma)
        try expectClosingParenthesis()
        return "(" + modifiers.joined(separator: ",") + ")"
    }

    /// `CASE [operand] WHEN … THEN … [ELSE …] END`, at CASE.
    private mutating func parseCase() throws -> Expr {
        let start = span
        advance()
        var operand: Expr?
        if !at(.when) {
            operand = try parseExpression()
        }
        guard at(.when) else { throw expected("WHEN in CASE") }
        var branches: [CaseBranch] = []
        while consume(.when) {
            let condition = try parseExpression()
            guard consume(.then) else { throw expected("THEN after the WHEN condition") }
            branches.append(CaseBranch(condition: condition, result: try parseExpression()))
        }
        var otherwise: Expr?
        if consume(.else) {
            otherwise = try parseExpression()
        }
        guard consume(.end) else { throw expected("END to close CASE") }
        return Expr(.caseWhen(operand: operand, branches: branches, otherwise: otherwise), span: start.through(previousSpan))
    }

    /// `INTERVAL 7 DAY`, `INTERVAL '7 days'`, `INTERVAL '1' HOUR`, `INTERVAL (expr) DAY`, at INTERVAL.
    private mutating func parseInterval() throws -> Expr {
        let start = span
        advance()
        let value = try parsePrimary()
        var unit: Name?
        if keyword?.isIntervalUnit == true {
            unit = Name(text, span: span)
            advance()
        }
        return Expr(.interval(value, unit: unit), span: start.through(previousSpan))
    }
}
