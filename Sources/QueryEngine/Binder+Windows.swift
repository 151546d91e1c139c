import ColumnIndex
import QuerySyntax

/// Whether the expression being bound may hold window functions (`f(…) OVER (…)`): the SELECT
/// list, QUALIFY and ORDER BY collect them; every other place names why it may not.
enum WindowContext {
    case forbidden(String)
    case collecting(WindowCollector)
}

/// The window functions of one SELECT, gathered as its expressions are bound. Each becomes a
/// column after the columns of the window's input (the FROM relation, or the aggregation's
/// output in a grouped SELECT); identical calls share one column.
final class WindowCollector {
    private(set) var windows: [BoundWindow] = []
    private var keys: [String] = []
    private var slots: [ColumnSlot] = []

    /// The slot of `window`'s result, adding the window on first use.
    func add(_ window: BoundWindow, name: String) -> ColumnSlot {
        let key = window.key
        if let existing = keys.firstIndex(of: key) { return slots[existing] }
        windows.append(window)
        keys.append(key)
        let slot = ColumnSlot(name: name)
        slots.append(slot)
        return slot
    }

    /// Window columns follow the input's `width` columns.
    func assignOutputIndices(after width: Int) {
        for (position, slot) in slots.enumerated() { slot.index = width + position }
    }
}

extension Binder {
    /// Runs `body` with window functions collected by `collector`, or forbidden with `message`.
    func withWindows<T>(_ context: WindowContext, _ body: () throws -> T) rethrows -> T {
        let saved = windowContext
        windowContext = context
        defer { windowContext = saved }
        return try body()
    }

    /// Binds `name(args) OVER (…)`: the function, its arguments and window over the relation the
    /// window reads (bound by `child`), into the SELECT's window collector.
    func bindWindowCall(_ call: FunctionCall, over: WindowSpec, span: SourceSpan, child: (Expr) throws -> BoundExpr) throws -> BoundExpr {
        let collector: WindowCollector
        switch windowContext {
        case .forbidden(let message): throw Diagnostic(.binder, message, at: span)
        case .collecting(let current): collector = current
        }
        let name = call.name.text.lowercased()
        guard let function = WindowFunction.lookup(name) else {
            if Functions.lookup(name) != nil {
                throw Diagnostic(.binder, "\(call.name.text) is not an aggregate or window function, so it cannot have OVER", at: over.span)
            }
            throw Diagnostic(.catalog, "Window Function with name \(call.name.text) does not exist!", at: call.name.span,
                             candidates: Suggest.candidates(for: name, among: WindowFunction.names + AggregateFunction.names))
        }
        var isAggregate = false
        if case .aggregate = function { isAggregate = true }
        if call.star {
            guard function.name == "count" else {
                throw Diagnostic(.binder, "\(call.name.text)(*) is not valid; only count(*) takes *", at: span)
            }
        } else if !function.arity.contains(call.arguments.count) || (function.name == "count" && call.arguments.isEmpty) {
            throw arityError(call, function.name == "count" ? 1...1 : function.arity, span: span)
        }
        if call.distinct, !isAggregate {
            throw Diagnostic(.binder, "DISTINCT applies to aggregates only, not to \(call.name.text)()", at: span)
        }
        if !call.orderBy.isEmpty {
            throw Diagnostic(.notImplemented, "ORDER BY inside the arguments of a window function is not supported yet; order in OVER (…)", at: span)
        }
        if call.ignoreNulls, !function.takesIgnoreNulls {
            throw Diagnostic(.binder, "IGNORE NULLS applies to lag, lead, first_value, last_value and nth_value, not to \(call.name.text)()", at: span)
        }
        if call.filter != nil, !isAggregate {
            throw Diagnostic(.binder, "FILTER applies to aggregates only, not to \(call.name.text)()", at: span)
        }
        for argument in call.arguments + (call.filter.map { [$0] } ?? []) + over.partitionBy + over.orderBy.map(\.expression) {
            if let nested = firstWindow(in: argument) {
                throw Diagnostic(.binder, "window function calls cannot be nested", at: nested)
            }
        }
        let frame = try bindFrame(over, function: function)
        let window = try withWindows(.forbidden("window function calls cannot be nested")) {
            BoundWindow(
                function: function,
                arguments: try call.arguments.map(child),
                partitionBy: try over.partitionBy.map(child),
                orderBy: try over.orderBy.map { item in
                    BoundOrder(expression: try child(item.expression), descending: item.descending, nullsFirst: item.nullsFirst ?? false)
                },
                frame: frame,
                filter: try call.filter.map(child),
                distinct: call.distinct,
                ignoreNulls: call.ignoreNulls,
                star: call.star,
                span: span)
        }
        return .column(collector.add(window, name: text(span)))
    }

    /// The frame of a window function: as written, or DuckDB's default. Its shape is checked
    /// for every function, as DuckDB does, even those that ignore it (row_number, lag, …).
    private func bindFrame(_ over: WindowSpec, function: WindowFunction) throws -> BoundFrame {
        guard let frame = over.frame else { return .standard }
        try checkShape(of: frame, over)
        guard function.usesFrame else { return .standard }
        var kinds: [(isInterval: Bool, span: SourceSpan)] = []
        func bound(_ written: WindowFrame.Bound) throws -> FrameBound {
            switch written {
            case .unboundedPreceding: return .unboundedPreceding
            case .unboundedFollowing: return .unboundedFollowing
            case .currentRow: return .currentRow
            case .preceding(let offset):
                let (amount, isInterval) = try frameOffset(offset, unit: frame.unit)
                kinds.append((isInterval, offset.span))
                return .preceding(amount)
            case .following(let offset):
                let (amount, isInterval) = try frameOffset(offset, unit: frame.unit)
                kinds.append((isInterval, offset.span))
                return .following(amount)
            }
        }
        var bound = BoundFrame(unit: frame.unit, start: try bound(frame.start), end: try bound(frame.end))
        if kinds.count == 2, kinds[0].isInterval != kinds[1].isInterval {
            throw Diagnostic(.binder, "the offsets of a RANGE frame must both be INTERVALs or both numbers", at: kinds[1].span)
        }
        bound.intervalOffsets = kinds.first?.isInterval ?? false
        return bound
    }

    /// Rejects frames whose bounds are out of order (`ROWS BETWEEN CURRENT ROW AND 1 PRECEDING`)
    /// and RANGE offsets without exactly one ORDER BY key.
    private func checkShape(of frame: WindowFrame, _ over: WindowSpec) throws {
        switch frame.start {
        case .unboundedFollowing:
            throw Diagnostic(.parser, "Frame start cannot be UNBOUNDED FOLLOWING", at: over.span)
        case .following:
            switch frame.end {
            case .preceding, .currentRow: throw Diagnostic(.parser, "Frame starting from following row cannot have preceding rows", at: over.span)
            case .unboundedPreceding, .following, .unboundedFollowing: break
            }
        case .currentRow:
            if case .preceding = frame.end { throw Diagnostic(.parser, "Frame starting from current row cannot have preceding rows", at: over.span) }
        case .unboundedPreceding, .preceding:
            break
        }
        if case .unboundedPreceding = frame.end {
            throw Diagnostic(.parser, "Frame end cannot be UNBOUNDED PRECEDING", at: over.span)
        }
        var hasOffset = false
        for written in [frame.start, frame.end] {
            switch written {
            case .preceding, .following: hasOffset = true
            case .unboundedPreceding, .currentRow, .unboundedFollowing: break
            }
        }
        if frame.unit == .range, hasOffset, over.orderBy.count != 1 {
            throw Diagnostic(.binder, "RANGE frames with an offset need exactly one ORDER BY key (a number or a timestamp), not \(over.orderBy.count)", at: over.span)
        }
    }

    /// `n` of `n PRECEDING`/`n FOLLOWING`: a constant, a non-negative integer for ROWS, and for
    /// RANGE a non-negative number or an INTERVAL of days and time (returned in microseconds).
    private func frameOffset(_ expression: Expr, unit: WindowFrame.Unit) throws -> (amount: Double, isInterval: Bool) {
        let value = try withWindows(.forbidden("window function calls cannot be nested")) { try constantValue(expression) }
        switch (value, unit) {
        case (.int(let offset), _) where offset >= 0:
            // Any size, as DuckDB takes it: a ROWS offset past the partition's edge stops there.
            return (Double(offset), false)
        case (.double(let offset), .range) where offset >= 0 && offset.isFinite:
            return (offset, false)
        case (.interval(let interval), .range) where interval.months == 0:
            let (dayMicros, overflow) = interval.days.multipliedReportingOverflow(by: FrameBound.microsPerDay)
            let (micros, overflowAgain) = dayMicros.addingReportingOverflow(interval.micros)
            guard !overflow, !overflowAgain else {
                throw Diagnostic(.binder, "a RANGE frame offset must be at most 106751991 days 04:00:54.775807 (2^63 − 1 microseconds), not \(Render.text(value))", at: expression.span)
            }
            guard micros >= 0 else {
                throw Diagnostic(.binder, "a RANGE frame offset must not be negative, not \(Render.text(value))", at: expression.span)
            }
            return (Double(micros), true)
        case (.interval, .range):
            throw Diagnostic(.notImplemented, "RANGE frame offsets in months or years are not supported yet; write days (INTERVAL 30 DAY)", at: expression.span)
        default:
            let kind = unit == .rows ? "a non-negative integer" : "a non-negative number or INTERVAL"
            throw Diagnostic(.binder, "a \(unit.rawValue) frame offset must be \(kind), not \(Render.text(value))", at: expression.span)
        }
    }

    /// The span of the first window function call in `expression` (not looking into subqueries).
    func firstWindow(in expression: Expr) -> SourceSpan? {
        firstCall(in: expression) { $0.over != nil }
    }

    /// The span of the first call in `expression` that `matches`, looking into arguments, FILTER
    /// and the window of a call (not into subqueries).
    func firstCall(in expression: Expr, matching: @escaping (FunctionCall) -> Bool) -> SourceSpan? {
        func search(_ expression: Expr) -> SourceSpan? {
            switch expression.kind {
            case .function(let call):
                if matching(call) { return expression.span }
                var inner = call.arguments + call.orderBy.map(\.expression)
                if let filter = call.filter { inner.append(filter) }
                if let over = call.over { inner += over.partitionBy + over.orderBy.map(\.expression) }
                return inner.lazy.compactMap(search).first
            case .literal, .column, .subquery, .exists: return nil
            case .unary(_, let operand), .isNull(let operand, _), .cast(let operand, _, _), .interval(let operand, _), .inSubquery(let operand, _, _):
                return search(operand)
            case .binary(_, let left, let right), .inExpression(let left, let right, _), .element(let left, let right):
                return search(left) ?? search(right)
            case .between(let operand, let low, let high, _):
                return search(operand) ?? search(low) ?? search(high)
            case .inList(let operand, let list, _):
                return search(operand) ?? list.lazy.compactMap(search).first
            case .like(let operand, let pattern, let escape, _, _):
                return search(operand) ?? search(pattern) ?? escape.flatMap(search)
            case .caseWhen(let operand, let branches, let otherwise):
                return operand.flatMap(search)
                    ?? branches.lazy.compactMap { search($0.condition) ?? search($0.result) }.first
                    ?? otherwise.flatMap(search)
            case .list(let elements):
                return elements.lazy.compactMap(search).first
            }
        }
        return search(expression)
    }

    /// The expression a select-list alias stands for, where QUALIFY names it (`QUALIFY rn = 1`).
    func selectAlias(_ path: [Name]) -> BoundExpr? {
        guard path.count == 1 else { return nil }
        let name = path[0]
        return selectAliases.first { matches(name, $0.name) }?.bound
    }
}
