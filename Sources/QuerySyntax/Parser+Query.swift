/// Queries: WITH, set operations, SELECT cores, FROM and joins, ORDER BY, LIMIT and OFFSET.
///
/// - `Query`: `[WITH …] body [ORDER BY …] [LIMIT n] [OFFSET m]` (LIMIT and OFFSET in either order)
/// - `CommonTableExpression`: `WITH [RECURSIVE] name AS (query), …`
/// - `QueryBody.select`: `SELECT [DISTINCT|ALL] items [FROM …] [WHERE …] [GROUP BY …] [HAVING …] [QUALIFY …]`
/// - `QueryBody.setOperation`: `a UNION [ALL|DISTINCT] b`, `a EXCEPT b`, `a INTERSECT b`
///   (left-associative; INTERSECT binds tighter than UNION and EXCEPT)
/// - `QueryBody.nested`: `(query)` as an operand of a set operation
/// - `GroupBy`: `GROUP BY ALL`, `GROUP BY e1, e2`
/// - `SelectItem.star`: `*`, `t.*`, `config.*`, each with an optional `EXCLUDE (a, b)` or `EXCLUDE a`
/// - `SelectItem.expression`: `expr`, `expr AS alias`, `expr alias`
/// - `TableRef.table`: `runs`, `history AS h`, `history h`
/// - `TableRef.subquery`: `(SELECT …) [AS] t`
/// - `TableRef.function`: `upstream('bert:production') [AS] u`
/// - `TableRef.join`: `a [INNER] JOIN b ON c`, `a LEFT [OUTER] JOIN b USING (x, y)`, `a CROSS JOIN b`, `a, b`
///   (left-associative; `(a JOIN b ON c)` may be parenthesised)
/// - `OrderItem`: `expr [ASC|DESC] [NULLS FIRST|NULLS LAST]`
extension Parser {
    // MARK: - Queries

    /// `[WITH …] body [ORDER BY …] [LIMIT n] [OFFSET m]`
    mutating func parseQuery() throws -> Query {
        let savedDepth = depth
        defer { depth = savedDepth }
        try descend("query")
        let start = span
        var commonTableExpressions: [CommonTableExpression] = []
        if at(.with) {
            commonTableExpressions = try parseWith()
        }
        let body = try parseSetExpression(first: nil, start: span)
        return try parseQueryTail(with: commonTableExpressions, body: body, start: start)
    }

    /// Whether the next token continues a query after an operand: a set operator, ORDER BY, LIMIT or OFFSET.
    var startsQueryContinuation: Bool {
        keyword?.continuesQuery == true
    }

    /// Whether the next token is `(` directly followed by SELECT or WITH: a parenthesised query.
    var atParenthesisedQuery: Bool {
        kind == .leftParen && (keyword(ahead: 1) == .select || keyword(ahead: 1) == .with)
    }

    /// The rest of a query whose first operand, `(first)`, was parsed as a parenthesised subquery
    /// expression: `((SELECT 1) UNION SELECT 2)`.
    mutating func continueQuery(after first: Query, start: SourceSpan) throws -> Query {
        let savedDepth = depth
        defer { depth = savedDepth }
        try descend("query")
        let body = try parseSetExpression(first: .nested(first), start: start)
        return try parseQueryTail(with: [], body: body, start: start)
    }

    /// `[ORDER BY …] [LIMIT n] [OFFSET m]` (LIMIT and OFFSET in either order) after a query body.
    private mutating func parseQueryTail(with commonTableExpressions: [CommonTableExpression], body: QueryBody, start: SourceSpan) throws -> Query {
        var orderBy: [OrderItem] = []
        if consume(.order) {
            guard consume(.by) else { throw expected("BY after ORDER") }
            orderBy = try parseOrderItems()
        }
        var limit: Expr?
        var offset: Expr?
        while true {
            if limit == nil, consume(.limit) {
                limit = try parseExpression()
            } else if offset == nil, consume(.offset) {
                offset = try parseExpression()
            } else {
                break
            }
        }
        return Query(with: commonTableExpressions, body: body, orderBy: orderBy, limit: limit, offset: offset, span: start.through(previousSpan))
    }

    /// `WITH [RECURSIVE] name AS (query) [, name AS (query)]*`
    private mutating func parseWith() throws -> [CommonTableExpression] {
        advance()
        let recursive = consume(.recursive)
        var commonTableExpressions: [CommonTableExpression] = []
        repeat {
            let name = try parseName(what: "a name for the WITH query")
            guard consume(.as) else { throw expected("AS after \"\(name.text)\" in WITH") }
            guard consume(.leftParen) else { throw expected("'(' before the WITH query") }
            let query = try parseQuery()
            try expectClosingParenthesis()
            commonTableExpressions.append(CommonTableExpression(name: name, query: query, recursive: recursive))
        } while consume(.comma)
        return commonTableExpressions
    }

    /// `operand ((UNION|EXCEPT) [ALL|DISTINCT] operand)*`, with INTERSECT binding tighter.
    private mutating func parseSetExpression(first: QueryBody?, start: SourceSpan) throws -> QueryBody {
        let savedDepth = depth
        defer { depth = savedDepth }
        var left = try parseIntersection(first: first, start: start)
        while at(.union) || at(.except) {
            let setOperator: SetOperator = at(.union) ? .union : .except
            try descend("query")
            advance()
            let all = parseSetQuantifier()
            let right = try parseIntersection(first: nil, start: span)
            left = .setOperation(setOperator, all: all, left, right, span: start.through(previousSpan))
        }
        return left
    }

    /// `operand (INTERSECT [ALL|DISTINCT] operand)*`
    private mutating func parseIntersection(first: QueryBody?, start: SourceSpan) throws -> QueryBody {
        let savedDepth = depth
        defer { depth = savedDepth }
        var left: QueryBody
        if let first {
            left = first
        } else {
            left = try parseSetOperand()
        }
        while consume(.intersect) {
            try descend("query")
            let all = parseSetQuantifier()
            let right = try parseSetOperand()
            left = .setOperation(.intersect, all: all, left, right, span: start.through(previousSpan))
        }
        return left
    }

    /// `ALL` (true), `DISTINCT` or nothing (false) after a set operator.
    private mutating func parseSetQuantifier() -> Bool {
        if consume(.all) { return true }
        _ = consume(.distinct)
        return false
    }

    /// `SELECT …` or `(query)`.
    private mutating func parseSetOperand() throws -> QueryBody {
        if consume(.leftParen) {
            let query = try parseQuery()
            try expectClosingParenthesis()
            return .nested(query)
        }
        guard at(.select) else { throw syntaxError() }
        return .select(try parseSelectCore())
    }

    // MARK: - SELECT

    /// `SELECT [DISTINCT|ALL] items [FROM …] [WHERE …] [GROUP BY …] [HAVING …] [QUALIFY …]`
    private mutating func parseSelectCore() throws -> SelectCore {
        let start = span
        advance()
        var core = SelectCore(items: [], span: start)
        if consume(.distinct) {
            core.distinct = true
        } else {
            _ = consume(.all)
        }
        repeat {
            core.items.append(try parseSelectItem())
        } while consume(.comma)
        if consume(.from) {
            core.from = try parseFrom()
        }
        if consume(.where) {
            core.whereClause = try parseExpression()
        }
        if at(.group) {
            core.groupBy = try parseGroupBy()
        }
        if consume(.having) {
            core.having = try parseExpression()
        }
        if consume(.qualify) {
            core.qualify = try parseExpression()
        }
        core.span = start.through(previousSpan)
        return core
    }

    /// `GROUP BY ALL` or `GROUP BY e1, e2, …`, at GROUP.
    private mutating func parseGroupBy() throws -> GroupBy {
        let start = span
        advance()
        guard consume(.by) else { throw expected("BY after GROUP") }
        if consume(.all) {
            return .all(span: start.through(previousSpan))
        }
        return .expressions(try parseExpressionList())
    }

    /// `*`, `a.b.*` (each with an optional EXCLUDE), or `expr [[AS] alias]`.
    private mutating func parseSelectItem() throws -> SelectItem {
        if kind == .star || qualifiedStarLength() != nil {
            return try parseStarItem()
        }
        let expression = try parseExpression()
        return .expression(expression, alias: try parseAlias(forTable: false))
    }

    /// `*` or `a.b.*`, then an optional EXCLUDE.
    private mutating func parseStarItem() throws -> SelectItem {
        let start = span
        var qualifier: [Name] = []
        for _ in 0..<(qualifiedStarLength() ?? 0) {
            guard let name = consumeName(allowReserved: true) else { throw syntaxError() }
            qualifier.append(name)
            advance()
        }
        advance()
        let exclude = try parseExclude()
        return .star(qualifier: qualifier, exclude: exclude, span: start.through(previousSpan))
    }

    /// The number of names before `.*` if the next tokens are `a.b.*`, nil otherwise.
    private func qualifiedStarLength() -> Int? {
        var offset = 0
        while true {
            let nameKind = kind(ahead: offset)
            guard nameKind == .identifier || nameKind == .quotedIdentifier, kind(ahead: offset + 1) == .dot else { return nil }
            if kind(ahead: offset + 2) == .star { return offset / 2 + 1 }
            offset += 2
        }
    }

    /// `EXCLUDE (a, b)` or `EXCLUDE a` after a star; empty when absent.
    private mutating func parseExclude() throws -> [Name] {
        guard consume(.exclude) else { return [] }
        guard consume(.leftParen) else {
            return [try parseName(what: "a column name after EXCLUDE")]
        }
        var names: [Name] = []
        repeat {
            names.append(try parseName(what: "a column name in EXCLUDE"))
        } while consume(.comma)
        try expectClosingParenthesis()
        return names
    }

    /// `AS name` (any word), a quoted name, or a bare word that is not reserved (nor, for a table,
    /// a word that continues FROM); nil when there is none.
    private mutating func parseAlias(forTable: Bool) throws -> Name? {
        if consume(.as) {
            guard let name = consumeName(allowReserved: true) else { throw expected("an alias after AS") }
            return name
        }
        if let keyword, keyword.isReserved || (forTable && keyword.isJoinWord) {
            return nil
        }
        return consumeName(allowReserved: false)
    }

    // MARK: - FROM

    /// Table references joined by JOIN clauses or commas, left-associatively.
    private mutating func parseFrom() throws -> TableRef {
        let savedDepth = depth
        defer { depth = savedDepth }
        var left = try parseTablePrimary()
        while let joinKind = try parseJoinKeywords() {
            try descend("query")
            let right = try parseTablePrimary()
            var condition = JoinCondition.none
            if joinKind != .cross {
                condition = try parseJoinCondition()
            }
            left = .join(joinKind, left, right, condition: condition, span: left.span.through(previousSpan))
        }
        return left
    }

    /// Consumes `,`, `CROSS JOIN`, `[INNER] JOIN` or `LEFT [OUTER] JOIN` and returns its kind; nil if none is next.
    private mutating func parseJoinKeywords() throws -> JoinKind? {
        if consume(.comma) { return .cross }
        switch keyword {
        case .cross:
            advance()
            guard consume(.join) else { throw expected("JOIN after CROSS") }
            return .cross
        case .join:
            advance()
            return .inner
        case .inner where keyword(ahead: 1) == .join:
            advance()
            advance()
            return .inner
        case .left:
            advance()
            _ = consume(.outer)
            guard consume(.join) else { throw expected("JOIN after LEFT") }
            return .left
        case .right:
            throw error("RIGHT JOIN is not supported: swap the two tables and use LEFT JOIN")
        case .full, .natural:
            throw error("\(Token.uppercasedASCII(text)) JOIN is not supported: use JOIN or LEFT JOIN with ON or USING")
        default:
            return nil
        }
    }

    /// `ON condition` or `USING (a, b)`.
    private mutating func parseJoinCondition() throws -> JoinCondition {
        if consume(.on) {
            return .on(try parseExpression())
        }
        guard consume(.using) else { throw expected("ON or USING after JOIN") }
        guard consume(.leftParen) else { throw expected("'(' after USING") }
        var names: [Name] = []
        repeat {
            names.append(try parseName(what: "a column name in USING"))
        } while consume(.comma)
        try expectClosingParenthesis()
        return .using(names)
    }

    /// `name [[AS] alias]`, `name(args) [[AS] alias]`, `(query) [[AS] alias]` or `(joins)`.
    private mutating func parseTablePrimary() throws -> TableRef {
        if kind == .leftParen {
            return try parseParenthesisedTable()
        }
        let start = span
        guard let name = consumeName(allowReserved: false) else { throw syntaxError() }
        guard consume(.leftParen) else {
            return .table(name, alias: try parseAlias(forTable: true))
        }
        var arguments: [Expr] = []
        if kind != .rightParen {
            arguments = try parseExpressionList()
        }
        try expectClosingParenthesis()
        let alias = try parseAlias(forTable: true)
        return .function(name, arguments: arguments, alias: alias, span: start.through(previousSpan))
    }

    /// `(query) [[AS] alias]` or `(joins)`, at the `(`.
    private mutating func parseParenthesisedTable() throws -> TableRef {
        let savedDepth = depth
        defer { depth = savedDepth }
        try descend("query")
        let start = span
        let query: Query
        if atParenthesisedQuery {
            advance()
            query = try parseQuery()
        } else {
            advance()
            let inner = try parseFrom()
            guard case .subquery(let innerQuery, nil, let innerSpan) = inner else {
                try expectClosingParenthesis()
                return inner
            }
            query = startsQueryContinuation ? try continueQuery(after: innerQuery, start: innerSpan) : innerQuery
        }
        try expectClosingParenthesis()
        let alias = try parseAlias(forTable: true)
        return .subquery(query, alias: alias, span: start.through(previousSpan))
    }

    // MARK: - Lists

    /// `expr [ASC|DESC] [NULLS FIRST|LAST] (, …)*` after `ORDER BY`.
    mutating func parseOrderItems() throws -> [OrderItem] {
        var items: [OrderItem] = []
        repeat {
            var item = OrderItem(expression: try parseExpression())
            if consume(.desc) {
                item.descending = true
            } else {
                _ = consume(.asc)
            }
            if consume(.nulls) {
                if consume(.first) {
                    item.nullsFirst = true
                } else if consume(.last) {
                    item.nullsFirst = false
                } else {
                    throw expected("FIRST or LAST after NULLS")
                }
            }
            items.append(item)
        } while consume(.comma)
        return items
    }

    /// `expr (, expr)*`
    mutating func parseExpressionList() throws -> [Expr] {
        var expressions: [Expr] = []
        repeat {
            expressions.append(try parseExpression())
        } while consume(.comma)
        return expressions
    }
}
