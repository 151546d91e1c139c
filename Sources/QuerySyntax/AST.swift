/// The syntax tree of RunQL, as the parser builds it: value types, every node with its `SourceSpan`.
///
/// ```
/// text ──Lexer──▶ [Token] ──Parser──▶ [Statement] ──Binder──▶ plan ──▶ result
/// ```
/// Names are kept as written (with whether they were quoted); resolving them is the binder's job.

/// One statement of a script.
public enum Statement: Sendable, Equatable {
    /// `SELECT …`, `WITH … SELECT …`, `(SELECT …) UNION …`
    case query(Query)
    /// `EXPLAIN query`
    case explain(Query, span: SourceSpan)
    /// `SHOW TABLES`
    case showTables(span: SourceSpan)
    /// `DESCRIBE runs`, `DESCRIBE history`
    case describe(Name, span: SourceSpan)
    /// `SHOW KEYS`, `SHOW KEYS config` (also `summary`, `history`)
    case showKeys(section: Name?, span: SourceSpan)

    public var span: SourceSpan {
        switch self {
        case .query(let query): return query.span
        case .explain(_, let span), .showTables(let span), .describe(_, let span), .showKeys(_, let span): return span
        }
    }
}

/// A name as written: `val_f1`, `"val/f1"`. Unquoted names match case-insensitively.
public struct Name: Sendable, Equatable {
    public var text: String
    public var quoted: Bool
    public var span: SourceSpan

    public init(_ text: String, quoted: Bool = false, span: SourceSpan) {
        self.text = text
        self.quoted = quoted
        self.span = span
    }
}

/// A full query: `[WITH …] body [ORDER BY …] [LIMIT n] [OFFSET m]`.
public struct Query: Sendable, Equatable {
    public var with: [CommonTableExpression]
    public var body: QueryBody
    public var orderBy: [OrderItem]
    public var limit: Expr?
    public var offset: Expr?
    public var span: SourceSpan

    public init(with: [CommonTableExpression] = [], body: QueryBody, orderBy: [OrderItem] = [], limit: Expr? = nil, offset: Expr? = nil, span: SourceSpan) {
        self.with = with
        self.body = body
        self.orderBy = orderBy
        self.limit = limit
        self.offset = offset
        self.span = span
    }
}

/// `name AS (query)` in a `WITH` list (`WITH RECURSIVE` sets `recursive`).
public struct CommonTableExpression: Sendable, Equatable {
    public var name: Name
    public var query: Query
    public var recursive: Bool

    public init(name: Name, query: Query, recursive: Bool = false) {
        self.name = name
        self.query = query
        self.recursive = recursive
    }
}

/// What a query computes before ordering and limits.
public indirect enum QueryBody: Sendable, Equatable {
    /// `SELECT … FROM … WHERE … GROUP BY … HAVING …`
    case select(SelectCore)
    /// `left UNION [ALL] right`, `left EXCEPT right`, `left INTERSECT right`
    case setOperation(SetOperator, all: Bool, QueryBody, QueryBody, span: SourceSpan)
    /// `(query)` used as an operand of a set operation (it may carry its own ORDER BY/LIMIT)
    case nested(Query)

    public var span: SourceSpan {
        switch self {
        case .select(let core): return core.span
        case .setOperation(_, _, _, _, let span): return span
        case .nested(let query): return query.span
        }
    }
}

public enum SetOperator: String, Sendable, Equatable {
    case union = "UNION", except = "EXCEPT", intersect = "INTERSECT"
}

/// `SELECT [DISTINCT] items [FROM from] [WHERE …] [GROUP BY …] [HAVING …] [QUALIFY …]`
public struct SelectCore: Sendable, Equatable {
    public var distinct: Bool
    public var items: [SelectItem]
    public var from: TableRef?
    public var whereClause: Expr?
    public var groupBy: GroupBy?
    public var having: Expr?
    public var qualify: Expr?
    public var span: SourceSpan

    public init(distinct: Bool = false, items: [SelectItem], from: TableRef? = nil, whereClause: Expr? = nil, groupBy: GroupBy? = nil, having: Expr? = nil, qualify: Expr? = nil, span: SourceSpan) {
        self.distinct = distinct
        self.items = items
        self.from = from
        self.whereClause = whereClause
        self.groupBy = groupBy
        self.having = having
        self.qualify = qualify
        self.span = span
    }
}

/// `GROUP BY ALL` or `GROUP BY e1, e2, …`
public enum GroupBy: Sendable, Equatable {
    case all(span: SourceSpan)
    case expressions([Expr])
}

/// One entry of the select list.
public enum SelectItem: Sendable, Equatable {
    /// `*`, `t.*`, `config.*`, `summary.*`, each optionally `EXCLUDE (a, b)`:
    /// `qualifier` is the path before `.*` (empty for a bare `*`).
    case star(qualifier: [Name], exclude: [Name], span: SourceSpan)
    /// `expr [AS alias]`
    case expression(Expr, alias: Name?)
}

/// A source of rows in FROM.
public indirect enum TableRef: Sendable, Equatable {
    /// `runs`, `history AS h`
    case table(Name, alias: Name?)
    /// `(SELECT …) AS t`
    case subquery(Query, alias: Name?, span: SourceSpan)
    /// `upstream('bert:production') AS u`: a table function
    case function(Name, arguments: [Expr], alias: Name?, span: SourceSpan)
    /// `left [INNER|LEFT [OUTER]|CROSS] JOIN right [ON condition | USING (a, b)]`
    case join(JoinKind, TableRef, TableRef, condition: JoinCondition, span: SourceSpan)

    public var span: SourceSpan {
        switch self {
        case .table(let name, let alias): return alias.map { name.span.through($0.span) } ?? name.span
        case .subquery(_, _, let span), .function(_, _, _, let span), .join(_, _, _, _, let span): return span
        }
    }
}

public enum JoinKind: String, Sendable, Equatable {
    case inner = "INNER", left = "LEFT", cross = "CROSS"
}

public enum JoinCondition: Sendable, Equatable {
    case none
    case on(Expr)
    case using([Name])
}

/// `expr [ASC|DESC] [NULLS FIRST|LAST]`
public struct OrderItem: Sendable, Equatable {
    public var expression: Expr
    public var descending: Bool
    /// nil: the default (NULLS LAST in both directions).
    public var nullsFirst: Bool?

    public init(expression: Expr, descending: Bool = false, nullsFirst: Bool? = nil) {
        self.expression = expression
        self.descending = descending
        self.nullsFirst = nullsFirst
    }
}

/// An expression and where it was written.
public struct Expr: Sendable, Equatable {
    public var kind: ExprKind
    public var span: SourceSpan

    public init(_ kind: ExprKind, span: SourceSpan) {
        self.kind = kind
        self.span = span
    }
}

/// The kinds of expression.
public indirect enum ExprKind: Sendable, Equatable {
    /// `42`, `1e-3`, `'text'`, `TRUE`, `NULL`
    case literal(Literal)
    /// `name`, `config.model.arch`, `summary."val/f1"`, `run.name`, `t.col`: a dotted path as written
    case column([Name])
    /// `-x`, `+x`, `NOT x`
    case unary(UnaryOperator, Expr)
    /// `a + b`, `a AND b`, `a ~ 'regex'`, …
    case binary(BinaryOperator, Expr, Expr)
    /// `x IS NULL`, `x IS NOT NULL` (`negated`)
    case isNull(Expr, negated: Bool)
    /// `x [NOT] BETWEEN low AND high`
    case between(Expr, low: Expr, high: Expr, negated: Bool)
    /// `x [NOT] IN (a, b, c)`; also `'bert' IN tags` (a single non-parenthesised operand: list membership)
    case inList(Expr, [Expr], negated: Bool)
    /// `x [NOT] IN (SELECT …)`
    case inSubquery(Expr, Query, negated: Bool)
    /// `'bert' [NOT] IN tags`: membership in a list-valued expression
    case inExpression(Expr, Expr, negated: Bool)
    /// `[NOT] EXISTS (SELECT …)`
    case exists(Query, negated: Bool)
    /// `x [NOT] LIKE p [ESCAPE e]`, `x [NOT] ILIKE p`
    case like(Expr, pattern: Expr, escape: Expr?, caseInsensitive: Bool, negated: Bool)
    /// `f(a, b)`, `count(*)`, `count(DISTINCT x)`, `string_agg(x, ',' ORDER BY y)`,
    /// `sum(x) FILTER (WHERE c)`, `row_number() OVER (PARTITION BY … ORDER BY …)`
    case function(FunctionCall)
    /// `CAST(x AS DOUBLE)`, `TRY_CAST(x AS INT)`, `x::VARCHAR`
    case cast(Expr, TypeName, isTry: Bool)
    /// `CASE [operand] WHEN a THEN b … [ELSE c] END`
    case caseWhen(operand: Expr?, branches: [CaseBranch], otherwise: Expr?)
    /// `INTERVAL 7 DAY`, `INTERVAL '7 days'`, `INTERVAL '1' HOUR`
    case interval(Expr, unit: Name?)
    /// `(SELECT max(x) FROM t)`: a scalar subquery
    case subquery(Query)
    /// `[1, 2, 3]`
    case list([Expr])
    /// `tags[1]`: a 1-based list index
    case element(Expr, index: Expr)
}

public enum Literal: Sendable, Equatable {
    case null
    case bool(Bool)
    /// An integer literal that fits in 64 bits.
    case integer(Int64)
    /// A decimal literal (`0.5`, `1e-3`), or an integer one too large for 64 bits.
    case double(Double)
    case string(String)
}

public enum UnaryOperator: String, Sendable, Equatable {
    case negate = "-", plus = "+", not = "NOT"
}

public enum BinaryOperator: String, Sendable, Equatable {
    case add = "+", subtract = "-", multiply = "*", divide = "/", integerDivide = "//", modulo = "%"
    case concat = "||"
    case equal = "=", notEqual = "<>", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    /// `IS DISTINCT FROM` and `IS NOT DISTINCT FROM`
    case distinctFrom = "IS DISTINCT FROM", notDistinctFrom = "IS NOT DISTINCT FROM"
    case and = "AND", or = "OR"
    /// `x ~ 'regex'` (also `SIMILAR TO`? no: only the regex match operators), `x !~ 'regex'`
    case regexMatch = "~", regexNotMatch = "!~"
}

/// `WHEN condition THEN result`
public struct CaseBranch: Sendable, Equatable {
    public var condition: Expr
    public var result: Expr

    public init(condition: Expr, result: Expr) {
        self.condition = condition
        self.result = result
    }
}

/// A call: `name([DISTINCT] args | *) [FILTER (WHERE …)] [OVER (…)]`, with an optional
/// `ORDER BY` inside the parentheses (`string_agg(name, ', ' ORDER BY name)`) and, for window
/// functions, `IGNORE NULLS` after the arguments (`last_value(x IGNORE NULLS) OVER (…)`).
public struct FunctionCall: Sendable, Equatable {
    public var name: Name
    public var arguments: [Expr]
    public var distinct: Bool
    /// `count(*)`
    public var star: Bool
    public var orderBy: [OrderItem]
    public var filter: Expr?
    public var over: WindowSpec?
    /// `IGNORE NULLS` (`RESPECT NULLS`, the default, is false).
    public var ignoreNulls: Bool

    public init(
        name: Name, arguments: [Expr], distinct: Bool = false, star: Bool = false, orderBy: [OrderItem] = [], filter: Expr? = nil,
        over: WindowSpec? = nil, ignoreNulls: Bool = false
    ) {
        self.name = name
        self.arguments = arguments
        self.distinct = distinct
        self.star = star
        self.orderBy = orderBy
        self.filter = filter
        self.over = over
        self.ignoreNulls = ignoreNulls
    }
}

/// `OVER (PARTITION BY … ORDER BY … [ROWS BETWEEN … AND …])`: the window of a window function.
public struct WindowSpec: Sendable, Equatable {
    public var partitionBy: [Expr]
    public var orderBy: [OrderItem]
    /// The frame clause as written (`ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW`), if any.
    public var frame: WindowFrame?
    public var span: SourceSpan

    public init(partitionBy: [Expr], orderBy: [OrderItem], frame: WindowFrame? = nil, span: SourceSpan) {
        self.partitionBy = partitionBy
        self.orderBy = orderBy
        self.frame = frame
        self.span = span
    }
}

/// `ROWS|RANGE BETWEEN start AND end` (or just `ROWS start`).
public struct WindowFrame: Sendable, Equatable {
    public enum Unit: String, Sendable, Equatable { case rows = "ROWS", range = "RANGE" }
    public enum Bound: Sendable, Equatable {
        case unboundedPreceding, unboundedFollowing, currentRow
        case preceding(Expr), following(Expr)
    }

    public var unit: Unit
    public var start: Bound
    public var end: Bound

    public init(unit: Unit, start: Bound, end: Bound) {
        self.unit = unit
        self.start = start
        self.end = end
    }
}

/// A type in `CAST(x AS type)`: `DOUBLE`, `VARCHAR`, `INTEGER`, `TIMESTAMP`, `VARCHAR[]`, …
/// The name is kept as written; the binder maps names and aliases to types.
public struct TypeName: Sendable, Equatable {
    public var name: String
    /// `INTEGER[]`: a list of that type.
    public var isList: Bool
    public var span: SourceSpan

    public init(name: String, isList: Bool = false, span: SourceSpan) {
        self.name = name
        self.isList = isList
        self.span = span
    }
}
