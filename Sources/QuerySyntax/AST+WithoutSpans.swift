// Copies of syntax trees with every span set to `0..<0`, to compare trees by structure alone:
// `a.withoutSpans() == b.withoutSpans()` (as the printer's round-trip tests do).

/// The span every node gets in `withoutSpans()`.
private let noSpan = SourceSpan(start: 0, end: 0)

extension Statement {
    /// This statement with every span set to `0..<0`.
    public func withoutSpans() -> Statement {
        switch self {
        case .query(let query): return .query(query.withoutSpans())
        case .explain(let query, _): return .explain(query.withoutSpans(), span: noSpan)
        case .showTables: return .showTables(span: noSpan)
        case .describe(let name, _): return .describe(name.withoutSpans(), span: noSpan)
        case .showKeys(let section, _): return .showKeys(section: section?.withoutSpans(), span: noSpan)
        }
    }
}

extension Name {
    /// This name with its span set to `0..<0`.
    public func withoutSpans() -> Name {
        Name(text, quoted: quoted, span: noSpan)
    }
}

extension Query {
    /// This query with every span set to `0..<0`.
    public func withoutSpans() -> Query {
        Query(
            with: with.map { CommonTableExpression(name: $0.name.withoutSpans(), query: $0.query.withoutSpans(), recursive: $0.recursive) },
            body: body.withoutSpans(),
            orderBy: orderBy.map { $0.withoutSpans() },
            limit: limit?.withoutSpans(),
            offset: offset?.withoutSpans(),
            span: noSpan
        )
    }
}

extension QueryBody {
    /// This body with every span set to `0..<0`.
    public func withoutSpans() -> QueryBody {
        switch self {
        case .select(let core):
            return .select(core.withoutSpans())
        case .setOperation(let setOperator, let all, let left, let right, _):
            return .setOperation(setOperator, all: all, left.withoutSpans(), right.withoutSpans(), span: noSpan)
        case .nested(let query):
            return .nested(query.withoutSpans())
        }
    }
}

extension SelectCore {
    /// This SELECT with every span set to `0..<0`.
    public func withoutSpans() -> SelectCore {
        let strippedGroupBy: GroupBy?
        switch groupBy {
        case nil: strippedGroupBy = nil
        case .all: strippedGroupBy = .all(span: noSpan)
        case .expressions(let expressions): strippedGroupBy = .expressions(expressions.map { $0.withoutSpans() })
        }
        return SelectCore(
            distinct: distinct,
            items: items.map { $0.withoutSpans() },
            from: from?.withoutSpans(),
            whereClause: whereClause?.withoutSpans(),
            groupBy: strippedGroupBy,
            having: having?.withoutSpans(),
            qualify: qualify?.withoutSpans(),
            span: noSpan
        )
    }
}

extension SelectItem {
    /// This item with every span set to `0..<0`.
    public func withoutSpans() -> SelectItem {
        switch self {
        case .star(let qualifier, let exclude, _):
            return .star(qualifier: qualifier.map { $0.withoutSpans() }, exclude: exclude.map { $0.withoutSpans() }, span: noSpan)
        case .expression(let expression, let alias):
            return .expression(expression.withoutSpans(), alias: alias?.withoutSpans())
        }
    }
}

extension TableRef {
    /// This table reference with every span set to `0..<0`.
    public func withoutSpans() -> TableRef {
        switch self {
        case .table(let name, let alias):
            return .table(name.withoutSpans(), alias: alias?.withoutSpans())
        case .subquery(let query, let alias, _):
            return .subquery(query.withoutSpans(), alias: alias?.withoutSpans(), span: noSpan)
        case .function(let name, let arguments, let alias, _):
            return .function(name.withoutSpans(), arguments: arguments.map { $0.withoutSpans() }, alias: alias?.withoutSpans(), span: noSpan)
        case .join(let kind, let left, let right, let condition, _):
            let strippedCondition: JoinCondition
            switch condition {
            case .none: strippedCondition = .none
            case .on(let expression): strippedCondition = .on(expression.withoutSpans())
            case .using(let names): strippedCondition = .using(names.map { $0.withoutSpans() })
            }
            return .join(kind, left.withoutSpans(), right.withoutSpans(), condition: strippedCondition, span: noSpan)
        }
    }
}

extension OrderItem {
    /// This item with every span set to `0..<0`.
    public func withoutSpans() -> OrderItem {
        OrderItem(expression: expression.withoutSpans(), descending: descending, nullsFirst: nullsFirst)
    }
}

extension Expr {
    /// This expression with every span set to `0..<0`.
    public func withoutSpans() -> Expr {
        Expr(kind.withoutSpans(), span: noSpan)
    }
}

extension ExprKind {
    /// This expression kind with every span inside set to `0..<0`.
    public func withoutSpans() -> ExprKind {
        switch self {
        case .literal:
            return self
        case .column(let path):
            return .column(path.map { $0.withoutSpans() })
        case .unary(let unaryOperator, let operand):
            return .unary(unaryOperator, operand.withoutSpans())
        case .binary(let binaryOperator, let left, let right):
            return .binary(binaryOperator, left.withoutSpans(), right.withoutSpans())
        case .isNull(let operand, let negated):
            return .isNull(operand.withoutSpans(), negated: negated)
        case .between(let operand, let low, let high, let negated):
            return .between(operand.withoutSpans(), low: low.withoutSpans(), high: high.withoutSpans(), negated: negated)
        case .inList(let operand, let items, let negated):
            return .inList(operand.withoutSpans(), items.map { $0.withoutSpans() }, negated: negated)
        case .inSubquery(let operand, let query, let negated):
            return .inSubquery(operand.withoutSpans(), query.withoutSpans(), negated: negated)
        case .inExpression(let operand, let list, let negated):
            return .inExpression(operand.withoutSpans(), list.withoutSpans(), negated: negated)
        case .exists(let query, let negated):
            return .exists(query.withoutSpans(), negated: negated)
        case .like(let operand, let pattern, let escape, let caseInsensitive, let negated):
            return .like(operand.withoutSpans(), pattern: pattern.withoutSpans(), escape: escape?.withoutSpans(), caseInsensitive: caseInsensitive, negated: negated)
        case .function(let call):
            return .function(call.withoutSpans())
        case .cast(let operand, let type, let isTry):
            return .cast(operand.withoutSpans(), TypeName(name: type.name, isList: type.isList, span: noSpan), isTry: isTry)
        case .caseWhen(let operand, let branches, let otherwise):
            let strippedBranches = branches.map { CaseBranch(condition: $0.condition.withoutSpans(), result: $0.result.withoutSpans()) }
            return .caseWhen(operand: operand?.withoutSpans(), branches: strippedBranches, otherwise: otherwise?.withoutSpans())
        case .interval(let value, let unit):
            return .interval(value.withoutSpans(), unit: unit?.withoutSpans())
        case .subquery(let query):
            return .subquery(query.withoutSpans())
        case .list(let elements):
            return .list(elements.map { $0.withoutSpans() })
        case .element(let operand, let index):
            return .element(operand.withoutSpans(), index: index.withoutSpans())
        }
    }
}

extension FunctionCall {
    /// This call with every span set to `0..<0`.
    public func withoutSpans() -> FunctionCall {
        var window: WindowSpec?
        if let over {
            window = WindowSpec(
                partitionBy: over.partitionBy.map { $0.withoutSpans() },
                orderBy: over.orderBy.map { $0.withoutSpans() },
                frame: over.frame.map { WindowFrame(unit: $0.unit, start: $0.start.withoutSpans(), end: $0.end.withoutSpans()) },
                span: noSpan
            )
        }
        return FunctionCall(
            name: name.withoutSpans(),
            arguments: arguments.map { $0.withoutSpans() },
            distinct: distinct,
            star: star,
            orderBy: orderBy.map { $0.withoutSpans() },
            filter: filter?.withoutSpans(),
            over: window,
            ignoreNulls: ignoreNulls
        )
    }
}

extension WindowFrame.Bound {
    /// This bound with every span set to `0..<0`.
    public func withoutSpans() -> WindowFrame.Bound {
        switch self {
        case .unboundedPreceding, .unboundedFollowing, .currentRow: return self
        case .preceding(let offset): return .preceding(offset.withoutSpans())
        case .following(let offset): return .following(offset.withoutSpans())
        }
    }
}
