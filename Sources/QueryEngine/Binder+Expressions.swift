import ColumnIndex
import QuerySyntax

extension Binder {
    /// Binds an expression over the columns of `scope` (no aggregates: `Aggregation.bind` handles those).
    func bindExpression(_ expression: Expr, in scope: Scope) throws -> BoundExpr {
        try bindExpression(expression) { inner in try self.bindExpression(inner, in: scope) } column: { path, span in
            try self.bindReference(path, in: scope, span: span)
        } scope: { scope }
    }

    /// Binds one level of `expression`, binding its children with `child` and its column
    /// references with `column` (so that aggregation can bind the same syntax over its output).
    func bindExpression(
        _ expression: Expr, child: (Expr) throws -> BoundExpr, column: ([Name], SourceSpan) throws -> BoundExpr, scope: () -> Scope
    ) throws -> BoundExpr {
        switch expression.kind {
        case .literal(let literal):
            switch literal {
            case .null: return .literal(.null)
            case .bool(let flag): return .literal(.bool(flag))
            case .integer(let integer): return .literal(.int(integer))
            case .double(let number): return .literal(.double(number))
            case .string(let text): return .literal(.string(text))
            }
        case .column(let path):
            return try column(path, expression.span)
        case .unary(let op, let operand):
            let bound = try child(operand)
            switch op {
            case .negate:
                if case .literal(.int(let integer)) = bound, integer != .min { return .literal(.int(-integer)) }
                if case .literal(.double(let number)) = bound { return .literal(.double(-number)) }
                return .call(Operators.negate, [bound], span: expression.span)
            case .plus: return bound
            case .not: return .not(bound)
            }
        case .binary(let op, let left, let right):
            let boundLeft = try child(left)
            let boundRight = try child(right)
            switch op {
            case .and: return .and(flatten(boundLeft, and: true) + flatten(boundRight, and: true))
            case .or: return .or(flatten(boundLeft, and: false) + flatten(boundRight, and: false))
            default: return .call(Operators.binary(op), [boundLeft, boundRight], span: expression.span)
            }
        case .isNull(let operand, let negated):
            return .isNull(try child(operand), negated: negated)
        case .between(let operand, let low, let high, let negated):
            let value = try child(operand)
            let range = BoundExpr.and([
                .call(Operators.binary(.greaterOrEqual), [value, try child(low)], span: expression.span),
                .call(Operators.binary(.lessOrEqual), [value, try child(high)], span: expression.span),
            ])
            return negated ? .not(range) : range
        case .inList(let operand, let list, let negated):
            return .inList(try child(operand), try list.map(child), negated: negated)
        case .inExpression(let operand, let list, let negated):
            let membership = BoundExpr.call(Functions.required("list_contains"), [try child(list), try child(operand)], span: expression.span)
            return negated ? .not(membership) : membership
        case .inSubquery(let operand, let query, let negated):
            return .inSubquery(try child(operand), try subquery(query, scope: scope(), span: expression.span), negated: negated)
        case .exists(let query, let negated):
            return .exists(try subquery(query, scope: scope(), span: expression.span), negated: negated)
        case .subquery(let query):
            return .scalarSubquery(try subquery(query, scope: scope(), span: expression.span), span: expression.span)
        case .like(let operand, let pattern, let escape, let caseInsensitive, let negated):
            return .like(try child(operand), pattern: try child(pattern), escape: try escape.map(child), caseInsensitive: caseInsensitive,
                         negated: negated, span: expression.span)
        case .cast(let operand, let typeName, let isTry):
            return .cast(try child(operand), try Cast.type(named: typeName), isTry: isTry, span: expression.span)
        case .caseWhen(let operand, let branches, let otherwise):
            let subject = try operand.map(child)
            let bound = try branches.map { branch -> (condition: BoundExpr, result: BoundExpr) in
                let condition = try child(branch.condition)
                let test = subject.map { BoundExpr.call(Operators.binary(.equal), [$0, condition], span: branch.condition.span) } ?? condition
                return (test, try child(branch.result))
            }
            return .caseWhen(bound, otherwise: try otherwise.map(child))
        case .interval(let amount, let unit):
            let value = try child(amount)
            guard case .literal(let literal) = value else {
                // INTERVAL (expr) DAY: multiply one unit by the amount.
                guard let unit, let one = Cast.interval(1, unit: unit.text) else {
                    throw Diagnostic(.parser, "INTERVAL needs a unit (DAY, HOUR, …)", at: expression.span)
                }
                return .call(Operators.binary(.multiply), [.literal(.interval(one)), .cast(value, .bigint, isTry: false, span: amount.span)], span: expression.span)
            }
            let interval: Value?
            switch literal {
            case .int(let integer): interval = unit.flatMap { Cast.interval(Double(integer), unit: $0.text) }.map(Value.interval)
            case .double(let number): interval = unit.flatMap { Cast.interval(number, unit: $0.text) }.map(Value.interval)
            case .string(let text): interval = Cast.parseInterval(text, unit: unit?.text)
            default: interval = nil
            }
            guard let interval else {
                throw Diagnostic(.conversion, "could not read INTERVAL \(text(amount.span))\(unit.map { " " + $0.text } ?? "") (try INTERVAL 7 DAY or INTERVAL '7 days')", at: expression.span)
            }
            return .literal(interval)
        case .list(let elements):
            return .call(Functions.required("list_value"), try elements.map(child), span: expression.span)
        case .element(let list, let position):
            return .call(Functions.required("list_extract"), [try child(list), try child(position)], span: expression.span)
        case .function(let call):
            return try bindFunction(call, span: expression.span, child: child)
        }
    }

    private func flatten(_ expression: BoundExpr, and: Bool) -> [BoundExpr] {
        switch (expression, and) {
        case (.and(let terms), true), (.or(let terms), false): return terms
        default: return [expression]
        }
    }

    /// Binds a subquery; the columns of the query around it that it reads make it correlated.
    private func subquery(_ query: Query, scope: Scope, span: SourceSpan) throws -> SubqueryPlan {
        correlation.append([])
        defer { correlation.removeLast() }
        let plan = try bind(query, outer: scope).plan
        let references = correlation[correlation.count - 1]
        if !references.isEmpty, aggregationDepth > 0 {
            throw Diagnostic(.notImplemented, "a correlated subquery in an aggregated SELECT is not supported yet; join instead", at: span)
        }
        return SubqueryPlan(plan: plan, outerReferences: references)
    }

    private func bindFunction(_ call: FunctionCall, span: SourceSpan, child: (Expr) throws -> BoundExpr) throws -> BoundExpr {
        if let over = call.over {
            return try bindWindowCall(call, over: over, span: span, child: child)
        }
        let name = call.name.text.lowercased()
        if AggregateFunction.lookup(name) != nil {
            throw Diagnostic(.binder, "aggregate function calls cannot be used here", at: span)
        }
        if WindowFunction.lookup(name) != nil {
            throw Diagnostic(.binder, "\(call.name.text)() is a window function: it needs OVER (…), e.g. \(call.name.text)() OVER (PARTITION BY run_id ORDER BY _step)", at: span)
        }
        guard let function = Functions.lookup(name) else {
            throw Diagnostic(.catalog, "Scalar Function with name \(call.name.text) does not exist!", at: call.name.span,
                             candidates: Suggest.candidates(for: name, among: Functions.names + AggregateFunction.names + WindowFunction.names))
        }
        if call.ignoreNulls {
            throw Diagnostic(.binder, "IGNORE NULLS applies to window functions (lag, lead, first_value, last_value, nth_value) with OVER (…)", at: span)
        }
        if call.distinct || call.star || call.filter != nil || !call.orderBy.isEmpty {
            throw Diagnostic(.binder, "\(call.name.text) is not an aggregate: DISTINCT, *, FILTER and ORDER BY apply to aggregates only", at: span)
        }
        guard function.arity.contains(call.arguments.count) else {
            throw arityError(call, function.arity, span: span)
        }
        let arguments = try call.arguments.map(child)
        if name == "coalesce" || name == "ifnull", let last = arguments.last {
            // CASE WHEN a IS NOT NULL THEN a … ELSE last END: later arguments run only where needed.
            return .caseWhen(arguments.dropLast().map { (condition: .isNull($0, negated: true), result: $0) }, otherwise: last)
        }
        return .call(function, arguments, span: span)
    }

    func arityError(_ call: FunctionCall, _ arity: ClosedRange<Int>, span: SourceSpan) -> Diagnostic {
        let expected = arity.lowerBound == arity.upperBound ? "\(arity.lowerBound)" : arity.upperBound >= 64 ? "at least \(arity.lowerBound)" : "\(arity.lowerBound) to \(arity.upperBound)"
        return Diagnostic(.binder, "\(call.name.text)() takes \(expected) argument\(expected == "1" ? "" : "s"), not \(call.arguments.count)", at: span)
    }

    /// The span of the first aggregate call in `expression` (not a window aggregate; not looking into subqueries).
    func firstAggregate(in expression: Expr) -> SourceSpan? {
        firstCall(in: expression) { $0.over == nil && AggregateFunction.lookup($0.name.text) != nil }
    }
}

/// The grouping of a SELECT: its group keys and aggregates, and the binding of expressions over
/// its output (group keys first, then aggregates).
final class Aggregation {
    struct Group {
        var bound: BoundExpr
        var key: String
        var name: String
    }

    private let binder: Binder
    private let scope: Scope
    private(set) var groups: [Group] = []
    private(set) var aggregates: [BoundAggregate] = []
    private var aggregateKeys: [String] = []
    /// Output slots, created once positions are known.
    private var groupSlots: [ColumnSlot] = []
    private var aggregateSlots: [ColumnSlot] = []

    init(binder: Binder, scope: Scope) {
        self.binder = binder
        self.scope = scope
    }

    func addGroup(_ expression: Expr) throws {
        let bound = try binder.bindExpression(expression, in: scope)
        let key = bound.key
        if groups.contains(where: { $0.key == key }) { return }
        groups.append(Group(bound: bound, key: key, name: binder.outputName(expression)))
        groupSlots.append(ColumnSlot(index: groups.count - 1, name: binder.outputName(expression)))
    }

    /// Binds an expression computed after grouping: group keys and aggregates become output columns.
    func bind(_ expression: Expr) throws -> BoundExpr {
        binder.aggregationDepth += 1
        defer { binder.aggregationDepth -= 1 }
        return try bindAggregated(expression)
    }

    private func bindAggregated(_ expression: Expr) throws -> BoundExpr {
        if case .function(let call) = expression.kind, call.over == nil, let function = AggregateFunction.lookup(call.name.text) {
            return try bindAggregate(call, function, span: expression.span)
        }
        if binder.firstAggregate(in: expression) == nil, binder.firstWindow(in: expression) == nil,
            let bound = try? binder.bindExpression(expression, in: scope),
            let position = groups.firstIndex(where: { $0.key == bound.key })
        {
            return .column(groupSlots[position])
        }
        return try binder.bindExpression(expression) { inner in try self.bindAggregated(inner) } column: { path, span in
            // A column that is neither grouped nor inside an aggregate (or, in QUALIFY, a select alias).
            if (try? binder.resolveColumn(path, in: scope, span: span)) == nil, let alias = binder.selectAlias(path) { return alias }
            let resolved = try binder.resolveColumn(path, in: scope, span: span)
            let bound = BoundExpr.column(resolved.slot)
            if let position = groups.firstIndex(where: { $0.key == bound.key }) { return .column(groupSlots[position]) }
            throw Diagnostic(.binder, "column \"\(binder.describe(path))\" must appear in the GROUP BY clause or must be part of an aggregate function", at: span,
                             candidates: [])
        } scope: { scope }
    }

    private func bindAggregate(_ call: FunctionCall, _ function: AggregateFunction, span: SourceSpan) throws -> BoundExpr {
        for argument in call.arguments {
            if let nested = binder.firstAggregate(in: argument) {
                throw Diagnostic(.binder, "aggregate function calls cannot be nested", at: nested)
            }
        }
        for inner in call.arguments + call.orderBy.map(\.expression) + (call.filter.map { [$0] } ?? []) {
            if let window = binder.firstWindow(in: inner) {
                throw Diagnostic(.binder, "aggregate function calls cannot contain window function calls", at: window)
            }
        }
        if call.star {
            guard function.name == "count" else {
                throw Diagnostic(.binder, "\(call.name.text)(*) is not valid; only count(*) takes *", at: span)
            }
        } else if !function.arity.contains(call.arguments.count) || (function.name == "count" && call.arguments.isEmpty) {
            throw binder.arityError(call, function.name == "count" ? 1...1 : function.arity, span: span)
        }
        if call.ignoreNulls {
            throw Diagnostic(.binder, "IGNORE NULLS applies to window functions (lag, lead, first_value, last_value, nth_value) with OVER (…)", at: span)
        }
        let arguments = try call.arguments.map { try binder.bindExpression($0, in: scope) }
        let filter = try call.filter.map { try binder.bindExpression($0, in: scope) }
        let orderBy = try call.orderBy.map {
            BoundOrder(expression: try binder.bindExpression($0.expression, in: scope), descending: $0.descending, nullsFirst: $0.nullsFirst ?? false)
        }
        let aggregate = BoundAggregate(function: function, arguments: arguments, distinct: call.distinct, filter: filter, orderBy: orderBy, span: span)
        let key = "\(function.name)(\(call.distinct)|\(arguments.map(\.key).joined(separator: ","))|\(filter?.key ?? "")|\(orderBy.map { "\($0.expression.key)\($0.descending)\($0.nullsFirst)" }.joined()))"
        if let existing = aggregateKeys.firstIndex(of: key) { return .column(aggregateSlots[existing]) }
        aggregates.append(aggregate)
        aggregateKeys.append(key)
        let slot = ColumnSlot(index: -1, name: binder.text(span))
        aggregateSlots.append(slot)
        return .column(slot)
    }

    /// Aggregate outputs follow the groups: fix their indices once all groups are known.
    func assignOutputIndices() {
        for (position, slot) in aggregateSlots.enumerated() { slot.index = groups.count + position }
    }
}
