/// Prints syntax trees back as canonical RunQL text: one line per statement, keywords in upper case,
/// parentheses only where precedence needs them, `CAST(x AS T)` for every cast.
///
/// For any tree the parser built, parsing the printed text gives the same tree apart from spans:
/// `Parser.parse(ASTPrinter.print(statements))` equals `statements` after `withoutSpans()`.
public enum ASTPrinter {
    /// The statements, each followed by `;`, one per line.
    public static func print(_ statements: [Statement]) -> String {
        var writer = Writer()
        for (statementIndex, statement) in statements.enumerated() {
            if statementIndex > 0 { writer.output += "\n" }
            writer.write(statement)
            writer.output += ";"
        }
        return writer.output
    }

    /// One statement, without a trailing `;`.
    public static func print(_ statement: Statement) -> String {
        var writer = Writer()
        writer.write(statement)
        return writer.output
    }

    /// A query: `[WITH …] body [ORDER BY …] [LIMIT n] [OFFSET m]`.
    public static func print(_ query: Query) -> String {
        var writer = Writer()
        writer.write(query)
        return writer.output
    }

    /// An expression, parenthesised only where precedence needs it.
    public static func print(_ expression: Expr) -> String {
        var writer = Writer()
        writer.write(expression)
        return writer.output
    }

    /// A table reference as in FROM.
    public static func print(_ table: TableRef) -> String {
        var writer = Writer()
        writer.write(table)
        return writer.output
    }

    /// A name: as written, or in double quotes (doubling any `"`) when it was quoted.
    public static func print(_ name: Name) -> String {
        var writer = Writer()
        writer.write(name)
        return writer.output
    }
}

/// Appends the text of syntax nodes to `output`. Each expression kind has its own small function,
/// so that printing a deeply nested tree uses little stack per level.
private struct Writer {
    var output = ""

    // MARK: - Statements and queries

    mutating func write(_ statement: Statement) {
        switch statement {
        case .query(let query):
            write(query)
        case .explain(let query, _):
            output += "EXPLAIN "
            write(query)
        case .showTables:
            output += "SHOW TABLES"
        case .describe(let name, _):
            output += "DESCRIBE "
            write(name)
        case .showKeys(let section, _):
            output += "SHOW KEYS"
            if let section {
                output += " "
                write(section)
            }
        }
    }

    mutating func write(_ query: Query) {
        if !query.with.isEmpty {
            output += query.with.contains { $0.recursive } ? "WITH RECURSIVE " : "WITH "
            for (index, commonTableExpression) in query.with.enumerated() {
                if index > 0 { output += ", " }
                write(commonTableExpression.name)
                output += " AS ("
                write(commonTableExpression.query)
                output += ")"
            }
            output += " "
        }
        write(query.body)
        if !query.orderBy.isEmpty {
            output += " ORDER BY "
            write(query.orderBy)
        }
        if let limit = query.limit {
            output += " LIMIT "
            write(limit)
        }
        if let offset = query.offset {
            output += " OFFSET "
            write(offset)
        }
    }

    /// A query body; set-operation operands get parentheses where INTERSECT's precedence needs them.
    mutating func write(_ body: QueryBody) {
        switch body {
        case .select(let core):
            write(core)
        case .nested(let query):
            output += "("
            write(query)
            output += ")"
        case .setOperation(let setOperator, let all, let left, let right, _):
            let precedence = Writer.precedence(of: setOperator)
            write(left, parenthesised: Writer.precedence(of: left).map { $0 < precedence } ?? false)
            output += " " + setOperator.rawValue + (all ? " ALL " : " ")
            write(right, parenthesised: Writer.precedence(of: right).map { $0 <= precedence } ?? false)
        }
    }

    private mutating func write(_ body: QueryBody, parenthesised: Bool) {
        if parenthesised { output += "(" }
        write(body)
        if parenthesised { output += ")" }
    }

    private static func precedence(of setOperator: SetOperator) -> Int {
        setOperator == .intersect ? 2 : 1
    }

    /// The precedence of a set operation, nil for other bodies.
    private static func precedence(of body: QueryBody) -> Int? {
        guard case .setOperation(let setOperator, _, _, _, _) = body else { return nil }
        return precedence(of: setOperator)
    }

    /// `SELECT [DISTINCT] items [FROM …] [WHERE …] [GROUP BY …] [HAVING …] [QUALIFY …]`
    mutating func write(_ core: SelectCore) {
        output += core.distinct ? "SELECT DISTINCT " : "SELECT "
        for (index, item) in core.items.enumerated() {
            if index > 0 { output += ", " }
            write(item)
        }
        if let from = core.from {
            output += " FROM "
            write(from)
        }
        if let whereClause = core.whereClause {
            output += " WHERE "
            write(whereClause)
        }
        switch core.groupBy {
        case nil:
            break
        case .all:
            output += " GROUP BY ALL"
        case .expressions(let expressions):
            output += " GROUP BY "
            write(expressions)
        }
        if let having = core.having {
            output += " HAVING "
            write(having)
        }
        if let qualify = core.qualify {
            output += " QUALIFY "
            write(qualify)
        }
    }

    mutating func write(_ item: SelectItem) {
        switch item {
        case .star(let qualifier, let exclude, _):
            for name in qualifier {
                write(name)
                output += "."
            }
            output += "*"
            if !exclude.isEmpty {
                output += " EXCLUDE ("
                write(exclude)
                output += ")"
            }
        case .expression(let expression, let alias):
            write(expression)
            write(alias: alias)
        }
    }

    mutating func write(alias: Name?) {
        guard let alias else { return }
        output += " AS "
        write(alias)
    }

    mutating func write(_ table: TableRef) {
        switch table {
        case .table(let name, let alias):
            write(name)
            write(alias: alias)
        case .subquery(let query, let alias, _):
            output += "("
            write(query)
            output += ")"
            write(alias: alias)
        case .function(let name, let arguments, let alias, _):
            write(name)
            output += "("
            write(arguments)
            output += ")"
            write(alias: alias)
        case .join(let kind, let left, let right, let condition, _):
            writeJoin(kind, left, right, condition)
        }
    }

    private mutating func writeJoin(_ kind: JoinKind, _ left: TableRef, _ right: TableRef, _ condition: JoinCondition) {
        write(left)
        switch kind {
        case .inner: output += " JOIN "
        case .left: output += " LEFT JOIN "
        case .cross: output += " CROSS JOIN "
        }
        if case .join = right {
            output += "("
            write(right)
            output += ")"
        } else {
            write(right)
        }
        switch condition {
        case .none:
            break
        case .on(let expression):
            output += " ON "
            write(expression)
        case .using(let names):
            output += " USING ("
            write(names)
            output += ")"
        }
    }

    mutating func write(_ name: Name) {
        guard name.quoted else {
            output += name.text
            return
        }
        output += "\""
        for character in name.text {
            output += character == "\"" ? "\"\"" : String(character)
        }
        output += "\""
    }

    mutating func write(_ names: [Name]) {
        for (index, name) in names.enumerated() {
            if index > 0 { output += ", " }
            write(name)
        }
    }

    mutating func write(_ items: [OrderItem]) {
        for (index, item) in items.enumerated() {
            if index > 0 { output += ", " }
            write(item.expression)
            if item.descending { output += " DESC" }
            if let nullsFirst = item.nullsFirst { output += nullsFirst ? " NULLS FIRST" : " NULLS LAST" }
        }
    }

    mutating func write(_ expressions: [Expr]) {
        for (index, expression) in expressions.enumerated() {
            if index > 0 { output += ", " }
            write(expression)
        }
    }

    // MARK: - Expressions

    mutating func write(_ expression: Expr) {
        write(expression, atLeast: .or)
    }

    /// The expression, in parentheses if it binds looser than `minimum`.
    mutating func write(_ expression: Expr, atLeast minimum: Parser.Level) {
        let parenthesised = Writer.level(of: expression.kind) < minimum
        if parenthesised { output += "(" }
        writeKind(expression.kind)
        if parenthesised { output += ")" }
    }

    /// The precedence level of the expression's outermost operator.
    static func level(of kind: ExprKind) -> Parser.Level {
        switch kind {
        case .unary(.not, _): return .not
        case .unary: return .unary
        case .binary(let binaryOperator, _, _): return level(of: binaryOperator)
        case .isNull, .between, .inList, .inSubquery, .inExpression, .like: return .comparison
        case .exists(_, let negated): return negated ? .not : .postfix
        case .literal, .column, .function, .cast, .caseWhen, .interval, .subquery, .list, .element: return .postfix
        }
    }

    private static func level(of binaryOperator: BinaryOperator) -> Parser.Level {
        switch binaryOperator {
        case .or: return .or
        case .and: return .and
        case .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual, .distinctFrom, .notDistinctFrom, .regexMatch, .regexNotMatch:
            return .comparison
        case .concat: return .concat
        case .add, .subtract: return .additive
        case .multiply, .divide, .integerDivide, .modulo: return .multiplicative
        }
    }

    private mutating func writeKind(_ kind: ExprKind) {
        switch kind {
        case .literal(let literal):
            write(literal)
        case .column(let path):
            for (index, name) in path.enumerated() {
                if index > 0 { output += "." }
                write(name)
            }
        case .unary(let unaryOperator, let operand):
            writeUnary(unaryOperator, operand)
        case .binary(let binaryOperator, let left, let right):
            writeBinary(binaryOperator, left, right)
        case .isNull(let operand, let negated):
            write(operand, atLeast: .comparison)
            output += negated ? " IS NOT NULL" : " IS NULL"
        case .between(let operand, let low, let high, let negated):
            writeBetween(operand, low, high, negated)
        case .inList(let operand, let items, let negated):
            writeIn(operand, negated)
            output += "("
            write(items)
            output += ")"
        case .inSubquery(let operand, let query, let negated):
            writeIn(operand, negated)
            output += "("
            write(query)
            output += ")"
        case .inExpression(let operand, let list, let negated):
            writeIn(operand, negated)
            write(list, atLeast: .concat)
        case .exists(let query, let negated):
            output += negated ? "NOT EXISTS (" : "EXISTS ("
            write(query)
            output += ")"
        case .like(let operand, let pattern, let escape, let caseInsensitive, let negated):
            writeLike(operand, pattern, escape, caseInsensitive, negated)
        case .function(let call):
            write(call)
        case .cast(let operand, let type, let isTry):
            writeCast(operand, type, isTry)
        case .caseWhen(let operand, let branches, let otherwise):
            writeCase(operand, branches, otherwise)
        case .interval(let value, let unit):
            writeInterval(value, unit)
        case .subquery(let query):
            output += "("
            write(query)
            output += ")"
        case .list(let elements):
            output += "["
            write(elements)
            output += "]"
        case .element(let operand, let index):
            write(operand, atLeast: .postfix)
            output += "["
            write(index)
            output += "]"
        }
    }

    private mutating func writeUnary(_ unaryOperator: UnaryOperator, _ operand: Expr) {
        if unaryOperator == .not {
            output += "NOT "
            // NOT (EXISTS …) must not read back as NOT EXISTS, a single operator.
            if case .exists(_, negated: false) = operand.kind {
                output += "("
                write(operand)
                output += ")"
            } else {
                write(operand, atLeast: .not)
            }
            return
        }
        output += unaryOperator.rawValue
        // `- -x`, not `--x`, which would start a comment.
        if case .unary(.negate, _) = operand.kind { output += " " }
        if case .unary(.plus, _) = operand.kind { output += " " }
        write(operand, atLeast: .unary)
    }

    private mutating func writeBinary(_ binaryOperator: BinaryOperator, _ left: Expr, _ right: Expr) {
        let level = Writer.level(of: binaryOperator)
        write(left, atLeast: level)
        output += " " + binaryOperator.rawValue + " "
        write(right, atLeast: level.tighter)
    }

    private mutating func writeBetween(_ operand: Expr, _ low: Expr, _ high: Expr, _ negated: Bool) {
        write(operand, atLeast: .comparison)
        output += negated ? " NOT BETWEEN " : " BETWEEN "
        write(low, atLeast: .concat)
        output += " AND "
        write(high, atLeast: .concat)
    }

    private mutating func writeIn(_ operand: Expr, _ negated: Bool) {
        write(operand, atLeast: .comparison)
        output += negated ? " NOT IN " : " IN "
    }

    private mutating func writeLike(_ operand: Expr, _ pattern: Expr, _ escape: Expr?, _ caseInsensitive: Bool, _ negated: Bool) {
        write(operand, atLeast: .comparison)
        output += negated ? " NOT" : ""
        output += caseInsensitive ? " ILIKE " : " LIKE "
        write(pattern, atLeast: .concat)
        if let escape {
            output += " ESCAPE "
            write(escape, atLeast: .concat)
        }
    }

    private mutating func writeCast(_ operand: Expr, _ type: TypeName, _ isTry: Bool) {
        output += isTry ? "TRY_CAST(" : "CAST("
        write(operand)
        output += " AS " + type.name + (type.isList ? "[])" : ")")
    }

    private mutating func writeCase(_ operand: Expr?, _ branches: [CaseBranch], _ otherwise: Expr?) {
        output += "CASE"
        if let operand {
            output += " "
            write(operand)
        }
        for branch in branches {
            output += " WHEN "
            write(branch.condition)
            output += " THEN "
            write(branch.result)
        }
        if let otherwise {
            output += " ELSE "
            write(otherwise)
        }
        output += " END"
    }

    private mutating func writeInterval(_ value: Expr, _ unit: Name?) {
        output += "INTERVAL "
        switch value.kind {
        case .literal(.string), .literal(.integer(0...)):
            write(value)
        case .literal(.double(let number)) where number.sign == .plus && !number.isNaN:
            write(value)
        default:
            output += "("
            write(value)
            output += ")"
        }
        if let unit {
            output += " "
            write(unit)
        }
    }

    /// `NULL`, `TRUE`, `42`, `0.5`, `'it''s'`; negative numbers in parentheses, infinity as `1e999`.
    private mutating func write(_ literal: Literal) {
        switch literal {
        case .null:
            output += "NULL"
        case .bool(let value):
            output += value ? "TRUE" : "FALSE"
        case .integer(let value):
            output += value < 0 ? "(\(value))" : "\(value)"
        case .double(let value):
            if value.isNaN {
                output += "CAST('NaN' AS DOUBLE)"
                return
            }
            let magnitude = value.isInfinite ? "1e999" : "\(value.magnitude)"
            output += value.sign == .minus ? "(-" + magnitude + ")" : magnitude
        case .string(let value):
            output += "'"
            for character in value {
                output += character == "'" ? "''" : String(character)
            }
            output += "'"
        }
    }

    /// `name([DISTINCT] args [ORDER BY …]) [FILTER (WHERE …)] [OVER (…)]`, or `name(*)`.
    private mutating func write(_ call: FunctionCall) {
        write(call.name)
        output += "("
        if call.star {
            output += "*"
        } else {
            if call.distinct { output += "DISTINCT " }
            write(call.arguments)
            if call.ignoreNulls { output += " IGNORE NULLS" }
            if !call.orderBy.isEmpty {
                output += " ORDER BY "
                write(call.orderBy)
            }
        }
        output += ")"
        if let filter = call.filter {
            output += " FILTER (WHERE "
            write(filter)
            output += ")"
        }
        if let window = call.over {
            output += " OVER ("
            write(window)
            output += ")"
        }
    }

    /// The inside of `OVER (…)`.
    private mutating func write(_ window: WindowSpec) {
        var separator = ""
        if !window.partitionBy.isEmpty {
            output += "PARTITION BY "
            write(window.partitionBy)
            separator = " "
        }
        if !window.orderBy.isEmpty {
            output += separator + "ORDER BY "
            write(window.orderBy)
            separator = " "
        }
        if let frame = window.frame {
            output += separator + frame.unit.rawValue + " BETWEEN "
            write(frame.start)
            output += " AND "
            write(frame.end)
        }
    }

    private mutating func write(_ bound: WindowFrame.Bound) {
        switch bound {
        case .unboundedPreceding:
            output += "UNBOUNDED PRECEDING"
        case .unboundedFollowing:
            output += "UNBOUNDED FOLLOWING"
        case .currentRow:
            output += "CURRENT ROW"
        case .preceding(let offset):
            write(offset, atLeast: .concat)
            output += " PRECEDING"
        case .following(let offset):
            write(offset, atLeast: .concat)
            output += " FOLLOWING"
        }
    }
}
