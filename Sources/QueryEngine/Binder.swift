import ColumnIndex
import QuerySyntax
import RunStore

/// Turns syntax into plans: resolves names against the index's tables, checks functions and
/// their arguments, and lays out aggregation, ordering and limits.
final class Binder {
    let index: RunIndex
    private let sourceBytes: [UInt8]
    /// CTEs in scope, innermost last.
    private var commonTables: [[String: (SharedPlan, [String])]] = []
    /// The outer references of the subqueries being bound, innermost last.
    var correlation: [[OuterReference]] = []
    /// How deep binding is inside aggregated expressions (where a correlated subquery cannot run).
    var aggregationDepth = 0
    /// Whether window functions may appear where binding is (and where they are collected).
    var windowContext = WindowContext.forbidden("window functions are not allowed here")
    /// The select list's aliases and what they stand for, while QUALIFY is bound.
    var selectAliases: [(name: String, bound: BoundExpr)] = []

    init(index: RunIndex, source: String) {
        self.index = index
        sourceBytes = Array(source.utf8)
    }

    /// The query text of a span: the name of a result column computed by an expression.
    func text(_ span: SourceSpan) -> String {
        let start = max(0, min(span.start, sourceBytes.count))
        let end = max(start, min(span.end, sourceBytes.count))
        return String(decoding: sourceBytes[start..<end], as: UTF8.self)
    }

    // MARK: Queries

    /// A bound query: its plan and the names of its result columns.
    struct BoundQuery {
        var plan: LogicalPlan
        var names: [String]
    }

    func bind(_ query: Query, outer: Scope?) throws -> BoundQuery {
        if query.with.contains(where: \.recursive) {
            throw Diagnostic(.notImplemented, "WITH RECURSIVE is not supported yet; walk lineage with upstream('REF') or downstream('REF')", at: query.with.first { $0.recursive }?.name.span)
        }
        var frame: [String: (SharedPlan, [String])] = [:]
        commonTables.append(frame)
        defer { commonTables.removeLast() }
        for cte in query.with {
            let bound = try bind(cte.query, outer: outer)
            frame[cte.name.text.lowercased()] = (SharedPlan(name: cte.name.text, plan: bound.plan), bound.names)
            commonTables[commonTables.count - 1] = frame
        }
        if case .select(let core) = query.body {
            return try bindSelect(core, orderBy: query.orderBy, limit: query.limit, offset: query.offset, outer: outer)
        }
        var bound = try bindBody(query.body, outer: outer)
        if !query.orderBy.isEmpty {
            let keys = try query.orderBy.map { item -> BoundOrder in
                guard let position = try outputPosition(item.expression, names: bound.names) else {
                    throw Diagnostic(.binder, "ORDER BY after a set operation must name a result column or its position", at: item.expression.span)
                }
                return BoundOrder(expression: .column(ColumnSlot(index: position, name: bound.names[position])), descending: item.descending, nullsFirst: item.nullsFirst ?? false)
            }
            bound.plan = .sort(bound.plan, keys)
        }
        bound.plan = try applyLimit(bound.plan, limit: query.limit, offset: query.offset)
        return bound
    }

    private func bindBody(_ body: QueryBody, outer: Scope?) throws -> BoundQuery {
        switch body {
        case .select(let core):
            return try bindSelect(core, orderBy: [], limit: nil, offset: nil, outer: outer)
        case .nested(let query):
            return try bind(query, outer: outer)
        case .setOperation(let op, let all, let left, let right, let span):
            let boundLeft = try bindBody(left, outer: outer)
            let boundRight = try bindBody(right, outer: outer)
            guard boundLeft.names.count == boundRight.names.count else {
                throw Diagnostic(.binder, "Set operations can only apply to expressions with the same number of result columns (\(boundLeft.names.count) and \(boundRight.names.count))", at: span)
            }
            return BoundQuery(plan: .setOperation(op, all: all, boundLeft.plan, boundRight.plan), names: boundLeft.names)
        }
    }

    /// The position of a result column an ORDER BY item names: `2`, or an output name.
    private func outputPosition(_ expression: Expr, names: [String]) throws -> Int? {
        switch expression.kind {
        case .literal(.integer(let position)):
            guard position >= 1, position <= names.count else {
                throw Diagnostic(.binder, "ORDER term out of range - should be between 1 and \(names.count)", at: expression.span)
            }
            return Int(position) - 1
        case .column(let path) where path.count == 1:
            let name = path[0]
            let exact = names.indices.filter { names[$0] == name.text }
            if exact.count == 1 { return exact[0] }
            let folded = name.quoted ? [] : names.indices.filter { names[$0].lowercased() == name.text.lowercased() }
            return folded.count == 1 ? folded[0] : nil
        default:
            return nil
        }
    }

    private func applyLimit(_ plan: LogicalPlan, limit: Expr?, offset: Expr?) throws -> LogicalPlan {
        guard limit != nil || offset != nil else { return plan }
        func constant(_ expression: Expr?, _ clause: String) throws -> Int? {
            guard let expression else { return nil }
            let value = try constantValue(expression)
            guard case .int(let count) = value, count >= 0, count <= Int64(Int.max) else {
                throw Diagnostic(.binder, "\(clause) must be a non-negative integer, not \(Render.text(value))", at: expression.span)
            }
            return Int(count)
        }
        return .limit(plan, limit: try constant(limit, "LIMIT"), offset: try constant(offset, "OFFSET") ?? 0)
    }

    /// The value of an expression that reads no columns (a LIMIT, a table function's argument).
    func constantValue(_ expression: Expr) throws -> Value {
        let bound = try bindExpression(expression, in: Scope(tables: [], parent: nil))
        return try Evaluator(executor: Executor(index: index)).evaluate(bound, Relation(columns: [], names: [], count: 1)).value(at: 0)
    }

    // MARK: SELECT

    private func bindSelect(_ core: SelectCore, orderBy: [OrderItem], limit: Expr?, offset: Expr?, outer: Scope?) throws -> BoundQuery {
        let savedWindowContext = windowContext
        let savedAliases = selectAliases
        defer {
            windowContext = savedWindowContext
            selectAliases = savedAliases
        }
        selectAliases = []
        windowContext = .forbidden("window functions are not allowed in FROM or JOIN conditions")
        let from = try core.from.map { try bindJoinConditions(try bindFrom($0, outer: outer), outer: outer) }
        let scope = Scope(tables: from?.tables ?? [], parent: outer, usingPairs: from?.usingPairs ?? [])

        windowContext = .forbidden("WHERE clause cannot contain window functions!")
        let predicate = try core.whereClause.map { clause -> BoundExpr in
            if let aggregate = firstAggregate(in: clause) {
                throw Diagnostic(.binder, "WHERE clause cannot contain aggregates!", at: aggregate)
            }
            return try bindExpression(clause, in: scope)
        }
        let windows = WindowCollector()

        // The select list, with stars expanded.
        var items: [(expression: Expr?, star: (TableBinding, ScanField?, Int?)?, name: String)] = []
        for item in core.items {
            switch item {
            case .expression(let expression, let alias):
                items.append((expression, nil, alias?.text ?? outputName(expression)))
            case .star(let qualifier, let exclude, let span):
                for expanded in try expandStar(qualifier: qualifier, exclude: exclude, scope: scope, span: span) {
                    items.append((nil, expanded.binding, expanded.name))
                }
            }
        }
        let names = items.map(\.name)

        let hasAggregates = core.items.contains { item in
            if case .expression(let expression, _) = item { return firstAggregate(in: expression) != nil }
            return false
        } || core.having.map { firstAggregate(in: $0) != nil } ?? false
            || orderBy.contains { firstAggregate(in: $0.expression) != nil }
            || core.qualify.map { firstAggregate(in: $0) != nil } ?? false
        let grouped = core.groupBy != nil || hasAggregates

        /// The rows the select list is computed from; built last, once every name is resolved.
        func basePlan() -> LogicalPlan {
            var scanned = LogicalPlan.values(Relation(columns: [], names: [], count: 1))
            if let from {
                finalize(from)
                scanned = self.plan(for: from)
            }
            return predicate.map { .filter(scanned, $0) } ?? scanned
        }

        /// Window functions over `input` (whose width is `width`), then QUALIFY over their results.
        func windowed(_ input: LogicalPlan, width: Int, qualify: BoundExpr?) throws -> LogicalPlan {
            if let clause = core.qualify, windows.windows.isEmpty {
                throw Diagnostic(.binder, "at least one window function must appear in the SELECT column or QUALIFY clause", at: clause.span)
            }
            guard !windows.windows.isEmpty else { return input }
            windows.assignOutputIndices(after: width)
            let plan = LogicalPlan.window(input, windows.windows)
            return qualify.map { .filter(plan, $0) } ?? plan
        }

        /// QUALIFY, bound as `bind` binds the select list (which its aliases may name).
        func bindQualify(_ projections: [BoundExpr], _ bind: (Expr) throws -> BoundExpr) throws -> BoundExpr? {
            guard let clause = core.qualify else { return nil }
            selectAliases = zip(items, projections).compactMap { item, bound in item.expression == nil ? nil : (item.name, bound) }
            defer { selectAliases = [] }
            return try withWindows(.collecting(windows)) { try bind(clause) }
        }

        var projections: [BoundExpr] = []
        var context: ExpressionContext
        if grouped {
            let aggregation = Aggregation(binder: self, scope: scope)
            // GROUP BY expressions: positions and aliases refer to the select list.
            var groupExpressions: [Expr] = []
            switch core.groupBy {
            case .all?:
                for item in items {
                    if let expression = item.expression, firstAggregate(in: expression) == nil, firstWindow(in: expression) == nil {
                        groupExpressions.append(expression)
                    }
                    if item.star != nil {
                        throw Diagnostic(.binder, "GROUP BY ALL with * is not supported; name the columns", at: core.span)
                    }
                }
            case .expressions(let expressions)?:
                for expression in expressions {
                    if case .literal(.integer(let position)) = expression.kind {
                        guard position >= 1, position <= items.count, let target = items[Int(position) - 1].expression else {
                            throw Diagnostic(.binder, "GROUP BY term out of range - should be between 1 and \(items.count)", at: expression.span)
                        }
                        groupExpressions.append(target)
                    } else if case .column(let path) = expression.kind, path.count == 1,
                        (try? resolveColumn(path, in: scope, span: expression.span)) == nil,
                        let aliased = items.first(where: { $0.name.lowercased() == path[0].text.lowercased() })?.expression
                    {
                        groupExpressions.append(aliased)
                    } else {
                        groupExpressions.append(expression)
                    }
                }
            case nil:
                break
            }
            windowContext = .forbidden("GROUP BY clause cannot contain window functions!")
            for expression in groupExpressions {
                if let aggregate = firstAggregate(in: expression) {
                    throw Diagnostic(.binder, "GROUP BY clause cannot contain aggregates!", at: aggregate)
                }
                try aggregation.addGroup(expression)
            }
            windowContext = .collecting(windows)
            for item in items {
                if let expression = item.expression {
                    projections.append(try aggregation.bind(expression))
                } else {
                    throw Diagnostic(.binder, "* cannot be used with GROUP BY or aggregates; name the columns", at: core.span)
                }
            }
            let having = try withWindows(.forbidden("HAVING clause cannot contain window functions!")) { try core.having.map { try aggregation.bind($0) } }
            let qualify = try bindQualify(projections) { try aggregation.bind($0) }
            context = .aggregated(aggregation)
            // ORDER BY may add aggregates: bind it before the aggregate node is built.
            let (keys, hidden) = try bindOrderBy(orderBy, names: names, context: context, distinct: core.distinct)
            windowContext = .forbidden("window functions are not allowed here")
            projections += hidden
            aggregation.assignOutputIndices()
            var plan = LogicalPlan.aggregate(basePlan(), groups: aggregation.groups.map(\.bound), aggregates: aggregation.aggregates,
                              names: aggregation.groups.map(\.name) + aggregation.aggregates.map { $0.function.name })
            if let having { plan = .filter(plan, having) }
            plan = try windowed(plan, width: aggregation.groups.count + aggregation.aggregates.count, qualify: qualify)
            plan = .project(plan, projections, names: names + hidden.map { _ in "" })
            return try finish(plan, names: names, keys: keys, hiddenCount: hidden.count, distinct: core.distinct, limit: limit, offset: offset)
        } else {
            if let having = core.having {
                throw Diagnostic(.binder, "HAVING clause without GROUP BY or aggregates", at: having.span)
            }
            windowContext = .collecting(windows)
            for item in items {
                if let expression = item.expression {
                    projections.append(try bindExpression(expression, in: scope))
                } else if let (table, field, position) = item.star {
                    if let field {
                        projections.append(.column(table.slot(for: field, name: item.name)))
                    } else if let position {
                        projections.append(.column(table.slots[position]))
                    }
                }
            }
            let qualify = try bindQualify(projections) { try bindExpression($0, in: scope) }
            context = .plain(scope)
            let (keys, hidden) = try bindOrderBy(orderBy, names: names, context: context, distinct: core.distinct)
            windowContext = .forbidden("window functions are not allowed here")
            projections += hidden
            var plan = basePlan()
            plan = try windowed(plan, width: from?.tables.reduce(0) { $0 + $1.width } ?? 0, qualify: qualify)
            plan = .project(plan, projections, names: names + hidden.map { _ in "" })
            return try finish(plan, names: names, keys: keys, hiddenCount: hidden.count, distinct: core.distinct, limit: limit, offset: offset)
        }
    }

    private func finish(_ input: LogicalPlan, names: [String], keys: [BoundOrder], hiddenCount: Int, distinct: Bool, limit: Expr?, offset: Expr?) throws -> BoundQuery {
        var plan = input
        if distinct { plan = .distinct(plan) }
        if !keys.isEmpty { plan = .sort(plan, keys) }
        plan = try applyLimit(plan, limit: limit, offset: offset)
        if hiddenCount > 0 { plan = .truncateColumns(plan, count: names.count) }
        return BoundQuery(plan: plan, names: names)
    }

    /// Where expressions are bound: over the FROM scope, or over an aggregation's output.
    enum ExpressionContext {
        case plain(Scope)
        case aggregated(Aggregation)
    }

    /// ORDER BY keys over the projection: positions and output names refer to the select list;
    /// other expressions become hidden columns after it.
    private func bindOrderBy(_ items: [OrderItem], names: [String], context: ExpressionContext, distinct: Bool) throws -> ([BoundOrder], [BoundExpr]) {
        var keys: [BoundOrder] = []
        var hidden: [BoundExpr] = []
        for item in items {
            let position: Int
            if let named = try outputPosition(item.expression, names: names) {
                position = named
            } else {
                if distinct {
                    throw Diagnostic(.binder, "for SELECT DISTINCT, ORDER BY expressions must appear in the select list", at: item.expression.span)
                }
                switch context {
                case .plain(let scope): hidden.append(try bindExpression(item.expression, in: scope))
                case .aggregated(let aggregation): hidden.append(try aggregation.bind(item.expression))
                }
                position = names.count + hidden.count - 1
            }
            keys.append(BoundOrder(expression: .column(ColumnSlot(index: position, name: "")), descending: item.descending, nullsFirst: item.nullsFirst ?? false))
        }
        return (keys, hidden)
    }

    /// The name of a result column computed by `expression`: a column's own name, else the text.
    func outputName(_ expression: Expr) -> String {
        if case .column(let path) = expression.kind, let last = path.last {
            if path.count == 1, let builtin = Self.builtinColumnNames.first(where: { matches(last, $0) }) { return builtin }
            return last.text
        }
        return text(expression.span)
    }

    // MARK: Stars

    private func expandStar(qualifier: [Name], exclude: [Name], scope: Scope, span: SourceSpan) throws -> [(binding: (TableBinding, ScanField?, Int?), name: String)] {
        var expanded: [(binding: (TableBinding, ScanField?, Int?), name: String)] = []
        func add(_ table: TableBinding) {
            switch table.kind {
            case .derived:
                for (position, name) in table.fieldNames.enumerated() { expanded.append(((table, nil, position), name)) }
            case .runs:
                for name in Self.runsBuiltins { expanded.append(((table, .builtin(name), nil), name)) }
            case .table(let indexTable):
                for column in indexTable.columns { expanded.append(((table, .builtin(column.name), nil), column.name)) }
            case .history:
                for column in index.history.columns { expanded.append(((table, column.name == "run_id" || column.name.hasPrefix("_") && Self.historyBuiltins.contains(column.name) ? .builtin(column.name) : .metric(column.name), nil), column.name)) }
            }
        }
        if qualifier.isEmpty {
            if scope.tables.isEmpty { throw Diagnostic(.binder, "SELECT * with no tables specified is not valid", at: span) }
            scope.tables.forEach(add)
            // A USING column appears once, from the left side.
            expanded.removeAll { entry in
                let (table, field, position) = entry.binding
                if let position { return scope.isMergedAway(table.slots[position]) }
                if let field, let index = table.fields.firstIndex(of: field) { return scope.isMergedAway(table.slots[index]) }
                return false
            }
        } else if qualifier.count == 1, let table = scope.tables.first(where: { matches(qualifier[0], $0.name) }) {
            add(table)
        } else if let section = qualifier.last, matches(section, "config") || matches(section, "summary"),
            let table = scope.tables.first(where: { if case .runs = $0.kind { return true } else { return false } })
        {
            let isConfig = matches(section, "config")
            let catalog = isConfig ? index.runs.configKeys : index.runs.summaryKeys
            for entry in catalog.sorted where !entry.isObject {
                let name = entry.path.map { $0.contains(".") ? Self.quoteIfNeeded($0) : $0 }.joined(separator: ".")
                expanded.append(((table, isConfig ? .config(entry.path) : .summary(entry.path), nil), name))
            }
        } else if let section = qualifier.last, let (table, object) = objectColumn(named: section, qualifier: qualifier.dropLast(), in: scope) {
            // metadata.*: every key path of a JSON column of an index table.
            for entry in object.keys.sorted where !entry.isObject {
                let name = entry.path.map { $0.contains(".") ? Self.quoteIfNeeded($0) : $0 }.joined(separator: ".")
                expanded.append(((table, .nested(object.name, entry.path), nil), name))
            }
        } else {
            throw Diagnostic(.binder, "Referenced table \"\(describe(qualifier))\" not found", at: span,
                             candidates: Suggest.candidates(for: describe(qualifier), among: scope.tables.map(\.name) + ["config", "summary"]))
        }
        for name in exclude {
            let before = expanded.count
            expanded.removeAll { matches(name, $0.name) }
            if expanded.count == before {
                throw Diagnostic(.binder, "Column \"\(name.text)\" in EXCLUDE list not found in the * expansion", at: name.span,
                                 candidates: Suggest.candidates(for: name.text, among: expanded.map(\.name)))
            }
        }
        return expanded
    }

    /// The JSON column `section` names (`metadata`) of an index table in scope, the table named by
    /// `qualifier` when there is one.
    private func objectColumn(named section: Name, qualifier: ArraySlice<Name>, in scope: Scope) -> (TableBinding, (name: String, keys: KeyCatalog))? {
        guard qualifier.count <= 1 else { return nil }
        for table in scope.tables {
            guard case .table(let indexTable) = table.kind else { continue }
            if let tableName = qualifier.first, !matches(tableName, table.name) { continue }
            if let object = indexTable.objectKeys.first(where: { matches(section, $0.name) }) { return (table, object) }
        }
        return nil
    }

    // MARK: FROM

    private func bindFrom(_ reference: TableRef, outer: Scope?) throws -> FromNode {
        switch reference {
        case .table(let name, let alias):
            let key = name.text.lowercased()
            for frame in commonTables.reversed() {
                if let (shared, names) = frame[key] {
                    return .table(TableBinding(name: alias?.text ?? name.text, kind: .derived(.shared(shared)), derivedNames: names))
                }
            }
            switch key {
            case "runs": return .table(TableBinding(name: alias?.text ?? "runs", kind: .runs))
            case "history": return .table(TableBinding(name: alias?.text ?? "history", kind: .history))
            default:
                if let table = index.artifacts.table(named: key) {
                    return .table(TableBinding(name: alias?.text ?? table.name, kind: .table(table)))
                }
                let known = ["runs", "history"] + ArtifactTables.tableNames + commonTables.flatMap { $0.values.map(\.0.name) }
                throw Diagnostic(.catalog, "Table with name \(name.text) does not exist!", at: name.span,
                                 candidates: Suggest.candidates(for: name.text, among: known))
            }
        case .subquery(let query, let alias, _):
            let bound = try bind(query, outer: outer)
            return .table(TableBinding(name: alias?.text ?? "subquery", kind: .derived(bound.plan), derivedNames: bound.names))
        case .function(let name, let arguments, let alias, let span):
            let walk = try bindLineageWalk(name, arguments: arguments, span: span)
            return .table(TableBinding(name: alias?.text ?? walk.direction.rawValue, kind: .table(walk.table)))
        case .join(let kind, let left, let right, let condition, let span):
            let boundLeft = try bindFrom(left, outer: outer)
            let boundRight = try bindFrom(right, outer: outer)
            if case .none = condition, kind != .cross {
                throw Diagnostic(.parser, "\(kind.rawValue) JOIN needs an ON or USING condition", at: span)
            }
            return .join(kind, boundLeft, boundRight, condition: condition, span: span)
        }
    }

    /// `upstream('REF')` or `downstream('REF')`: the walk's nodes, computed now (lineage is small).
    private func bindLineageWalk(_ name: Name, arguments: [Expr], span: SourceSpan) throws -> (direction: ArtifactTables.Direction, table: IndexTable) {
        let directions: [ArtifactTables.Direction] = [.upstream, .downstream]
        guard let direction = directions.first(where: { matches(name, $0.rawValue) }) else {
            throw Diagnostic(.catalog, "Table Function with name \(name.text) does not exist!", at: name.span,
                             candidates: Suggest.candidates(for: name.text, among: directions.map(\.rawValue)))
        }
        guard arguments.count == 1, let argument = arguments.first else {
            throw Diagnostic(.binder, "\(direction.rawValue)() takes one argument, an artifact version such as '\(Self.exampleReference)'", at: span)
        }
        let value = try constantValue(argument)
        guard case .string(let text) = value else {
            throw Diagnostic(.binder, "\(direction.rawValue)() takes an artifact version as a string such as '\(Self.exampleReference)', not \(Render.text(value))", at: argument.span)
        }
        let artifacts = index.artifacts
        let reference: ArtifactReference
        do {
            reference = try ArtifactReference(parsing: text)
        } catch {
            throw Diagnostic(.invalidInput, "\(error)", at: argument.span)
        }
        do {
            return (direction, artifacts.walk(from: try artifacts.resolve(reference), direction))
        } catch {
            let names = Set(artifacts.versions.map(\.name.name))
            let candidates = names.contains(reference.name) ? [] : Suggest.candidates(for: reference.name, among: names.sorted())
            throw Diagnostic(.catalog, "\(error)", at: argument.span, candidates: candidates)
        }
    }

    static let exampleReference = "bert-classifier:production"

    /// Binds ON and USING conditions over the tables each join joins.
    private func bindJoinConditions(_ node: FromNode, outer: Scope?) throws -> FromNode {
        switch node {
        case .table, .bound:
            return node
        case .join(let kind, let left, let right, let condition, let span):
            let boundLeft = try bindJoinConditions(left, outer: outer)
            let boundRight = try bindJoinConditions(right, outer: outer)
            let scope = Scope(tables: boundLeft.tables + boundRight.tables, parent: outer)
            switch condition {
            case .none:
                return .bound(kind, boundLeft, boundRight, condition: nil, using: [], span: span)
            case .on(let expression):
                if let aggregate = firstAggregate(in: expression) {
                    throw Diagnostic(.binder, "JOIN conditions cannot contain aggregates", at: aggregate)
                }
                return .bound(kind, boundLeft, boundRight, condition: try bindExpression(expression, in: scope), using: [], span: span)
            case .using(let names):
                var pairs: [(ColumnSlot, ColumnSlot)] = []
                for name in names {
                    let leftSlot = try resolveColumn([name], in: Scope(tables: boundLeft.tables, parent: nil), span: name.span).slot
                    let rightSlot = try resolveColumn([name], in: Scope(tables: boundRight.tables, parent: nil), span: name.span).slot
                    pairs.append((leftSlot, rightSlot))
                }
                return .bound(kind, boundLeft, boundRight, condition: nil, using: pairs, span: span)
            }
        }
    }

    /// Places every table's columns in the joined relation.
    func finalize(_ node: FromNode) {
        var offset = 0
        for table in node.tables {
            table.offset = offset
            table.assignIndices()
            offset += table.width
        }
    }

    func plan(for node: FromNode) -> LogicalPlan {
        switch node {
        case .table(let table):
            return table.plan
        case .join:
            return .values(Relation(columns: [], names: [], count: 0))
        case .bound(let kind, let left, let right, let condition, let using, _):
            let leftTables = left.tables
            let rightTables = right.tables
            let leftWidth = leftTables.reduce(0) { $0 + $1.width }
            var leftKeys: [BoundExpr] = using.map { .column($0.0) }
            var rightKeys: [BoundExpr] = using.map { .column($0.1) }
            var residual: [BoundExpr] = []
            for term in condition.map(conjuncts) ?? [] {
                if case .call(let function, let arguments, _) = term, function.name == "=", arguments.count == 2 {
                    let a = slots(in: arguments[0])
                    let b = slots(in: arguments[1])
                    let aLeft = !a.isEmpty && a.allSatisfy { slot in leftTables.contains { $0.owns(slot) } }
                    let bRight = !b.isEmpty && b.allSatisfy { slot in rightTables.contains { $0.owns(slot) } }
                    let aRight = !a.isEmpty && a.allSatisfy { slot in rightTables.contains { $0.owns(slot) } }
                    let bLeft = !b.isEmpty && b.allSatisfy { slot in leftTables.contains { $0.owns(slot) } }
                    if aLeft && bRight {
                        leftKeys.append(arguments[0])
                        rightKeys.append(arguments[1])
                        continue
                    }
                    if aRight && bLeft {
                        leftKeys.append(arguments[1])
                        rightKeys.append(arguments[0])
                        continue
                    }
                }
                residual.append(term)
            }
            let residualExpression: BoundExpr? = residual.isEmpty ? nil : residual.count == 1 ? residual[0] : .and(residual)
            return .join(kind == .cross ? .inner : kind, plan(for: left), plan(for: right), leftKeys: leftKeys, rightKeys: rightKeys,
                         residual: residualExpression, leftWidth: leftWidth)
        }
    }

    private func conjuncts(_ expression: BoundExpr) -> [BoundExpr] {
        if case .and(let terms) = expression { return terms.flatMap(conjuncts) }
        return [expression]
    }

    /// The input columns an expression reads.
    func slots(in expression: BoundExpr) -> [ColumnSlot] {
        switch expression {
        case .column(let slot): return [slot]
        case .literal, .outer, .scalarSubquery, .exists: return []
        case .call(_, let arguments, _): return arguments.flatMap(slots)
        case .and(let terms), .or(let terms): return terms.flatMap(slots)
        case .not(let inner), .isNull(let inner, _), .cast(let inner, _, _, _), .inSubquery(let inner, _, _): return slots(in: inner)
        case .caseWhen(let branches, let otherwise):
            return branches.flatMap { slots(in: $0.condition) + slots(in: $0.result) } + (otherwise.map(slots) ?? [])
        case .inList(let inner, let list, _): return slots(in: inner) + list.flatMap(slots)
        case .like(let inner, let pattern, let escape, _, _, _): return slots(in: inner) + slots(in: pattern) + (escape.map(slots) ?? [])
        }
    }
}
