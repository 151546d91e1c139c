import ColumnIndex
import QuerySyntax

/// Runs logical plans over the index, materialising each operator's output.
final class Executor {
    let index: RunIndex
    /// Checked between operators and in long loops; set from another thread to cancel.
    let isCancelled: @Sendable () -> Bool

    init(index: RunIndex, isCancelled: @escaping @Sendable () -> Bool = { false }) {
        self.index = index
        self.isCancelled = isCancelled
    }

    var evaluator: Evaluator { Evaluator(executor: self) }

    func run(_ subquery: SubqueryPlan) throws -> Relation {
        if let result = subquery.result { return result }
        let result = try execute(subquery.plan)
        subquery.result = result
        return result
    }

    func execute(_ plan: LogicalPlan) throws -> Relation {
        if isCancelled() { throw Diagnostic(.interrupted, "Interrupted!") }
        switch plan {
        case .scan(let source, let fields, let names):
            return scan(source, fields: fields, names: names)
        case .values(let relation):
            return relation
        case .filter(.scan(.history, let fields, let names), let predicate):
            return try filteredHistoryScan(fields: fields, names: names, predicate: predicate)
        case .filter(let input, let predicate):
            let relation = try execute(input)
            let rows = try evaluator.selection(predicate, relation)
            return rows.count == relation.count ? relation : relation.gather(rows)
        case .project(let input, let expressions, let names):
            let relation = try execute(input)
            let columns = try expressions.map { try evaluator.evaluate($0, relation) }
            return Relation(columns: columns, names: names, count: relation.count)
        case .aggregate(let input, let groups, let aggregates, let names):
            return try aggregate(try execute(input), groups: groups, aggregates: aggregates, names: names)
        case .window(let input, let windows):
            return try window(try execute(input), windows)
        case .sort(let input, let keys):
            let relation = try execute(input)
            return relation.gather(try sortedRows(relation, keys))
        case .limit(.sort(let sortInput, let keys), let limit?, let offset):
            // ORDER BY … LIMIT: keep only the first limit + offset rows instead of sorting all.
            let relation = try execute(sortInput)
            let rows = try firstRows(relation, keys, count: min(relation.count, limit + offset))
            return relation.gather(Array(rows.dropFirst(offset)))
        case .limit(let input, let limit, let offset):
            let relation = try execute(input)
            let start = min(offset, relation.count)
            let end = limit.map { min(relation.count, start + $0) } ?? relation.count
            return start == 0 && end == relation.count ? relation : relation.gather(Array(start..<end))
        case .distinct(let input):
            let relation = try execute(input)
            var seen: Set<[Value]> = []
            var rows: [Int] = []
            for rowIndex in 0..<relation.count where seen.insert(relation.columns.map { $0.value(at: rowIndex) }).inserted {
                rows.append(rowIndex)
            }
            return rows.count == relation.count ? relation : relation.gather(rows)
        case .join(let kind, let left, let right, let leftKeys, let rightKeys, let residual, let leftWidth):
            return try join(kind, try execute(left), try execute(right), leftKeys: leftKeys, rightKeys: rightKeys, residual: residual, leftWidth: leftWidth)
        case .setOperation(let op, let all, let left, let right):
            return try setOperation(op, all: all, try execute(left), try execute(right))
        case .truncateColumns(let input, let count):
            let relation = try execute(input)
            return Relation(columns: Array(relation.columns.prefix(count)), names: Array(relation.names.prefix(count)), count: relation.count)
        case .shared(let shared):
            if let result = shared.result { return result }
            let result = try execute(shared.plan)
            shared.result = result
            return result
        }
    }

    // MARK: Scans

    /// The rows of a table; for the history, only the runs whose rows are `runs` (each run's
    /// contiguous range of rows and its row in the runs table) when given.
    private func scan(_ source: ScanSource, fields: [ScanField], names: [String], runs: [(rows: Range<Int>, run: Int)]? = nil) -> Relation {
        switch source {
        case .runs:
            let columns = fields.map(runsColumn)
            return Relation(columns: columns, names: names, count: index.runs.count)
        case .history:
            let history = index.history
            let ranges = runs?.map(\.rows)
            let count = ranges?.reduce(0) { $0 + $1.count } ?? history.count
            // Rows of the runs table for each step, only when a `run.` column needs them.
            lazy var runRows: [Int] = {
                guard let runs else { return history.runRows.map(Int.init) }
                var rows: [Int] = []
                rows.reserveCapacity(count)
                for run in runs { rows.append(contentsOf: repeatElement(run.run, count: run.rows.count)) }
                return rows
            }()
            let columns = fields.map { field -> Column in
                switch field {
                case .builtin(let name), .metric(let name):
                    guard let column = history.column(name) else { return Column.constant(.null, count: count) }
                    return ranges.map { column.slices($0) } ?? column
                case .run(let inner):
                    return runsColumn(inner).gather(runRows)
                case .config, .summary, .nested:
                    return Column.constant(.null, count: count)
                }
            }
            return Relation(columns: columns, names: names, count: count)
        case .table(let table):
            let columns = fields.map { field -> Column in
                switch field {
                case .builtin(let name): return table.column(name) ?? Column.constant(.null, count: table.count)
                case .nested(let column, let path): return table.nestedColumn(column, path: path)
                case .config, .summary, .metric, .run: return Column.constant(.null, count: table.count)
                }
            }
            return Relation(columns: columns, names: names, count: table.count)
        }
    }

    /// A filtered history scan. Conditions on the run's columns alone (`run.project = 'x'`) are
    /// decided once per run, on the runs table; since a run's rows are contiguous, the scan then
    /// reads only the rows of the runs that pass, and the other conditions see just those.
    private func filteredHistoryScan(fields: [ScanField], names: [String], predicate: BoundExpr) throws -> Relation {
        var runLevel: [BoundExpr] = []
        var rowLevel: [BoundExpr] = []
        for term in Self.conjuncts(predicate) {
            if Self.readsOnlyRunColumns(term, fields: fields) { runLevel.append(term) } else { rowLevel.append(term) }
        }
        let history = index.history
        var selected: [(rows: Range<Int>, run: Int)]?
        if !runLevel.isEmpty {
            let runs = Relation(
                columns: fields.map { field in
                    if case .run(let inner) = field { return runsColumn(inner) }
                    return Column.constant(.null, count: index.runs.count)
                },
                names: names, count: index.runs.count)
            let condition = runLevel.count == 1 ? runLevel[0] : .and(runLevel)
            var passes = [Bool](repeating: false, count: index.runs.count)
            // A run without history could fail a condition (1 / run.x with x = 0) that no row
            // would have evaluated: then decide row by row after all.
            guard let passing = try? evaluator.selection(condition, runs) else {
                let relation = scan(.history, fields: fields, names: names)
                return relation.gather(try evaluator.selection(predicate, relation))
            }
            for runRow in passing { passes[runRow] = true }
            // A run's rows are contiguous: take or skip them whole.
            selected = history.runSpans.filter { passes[$0.run] }
        }
        var relation = scan(.history, fields: fields, names: names, runs: selected)
        if !rowLevel.isEmpty {
            let condition = rowLevel.count == 1 ? rowLevel[0] : .and(rowLevel)
            let passing = try evaluator.selection(condition, relation)
            if passing.count != relation.count { relation = relation.gather(passing) }
        }
        return relation
    }

    /// The terms of a conjunction (`a AND b AND c`), flattened.
    private static func conjuncts(_ predicate: BoundExpr) -> [BoundExpr] {
        if case .and(let terms) = predicate { return terms.flatMap(conjuncts) }
        return [predicate]
    }

    /// Whether an expression reads run columns of a history scan and nothing else that varies by
    /// row (no history column, no subquery, no outer reference), so it has one value per run.
    private static func readsOnlyRunColumns(_ expression: BoundExpr, fields: [ScanField]) -> Bool {
        func check(_ expression: BoundExpr) -> Bool {
            switch expression {
            case .column(let slot):
                guard fields.indices.contains(slot.index), case .run = fields[slot.index] else { return false }
                return true
            case .literal: return true
            case .outer, .scalarSubquery, .inSubquery, .exists: return false
            case .call(_, let arguments, _): return arguments.allSatisfy(check)
            case .and(let terms), .or(let terms): return terms.allSatisfy(check)
            case .not(let inner), .isNull(let inner, _), .cast(let inner, _, _, _): return check(inner)
            case .caseWhen(let branches, let otherwise):
                return branches.allSatisfy { check($0.condition) && check($0.result) } && (otherwise.map(check) ?? true)
            case .inList(let inner, let list, _): return check(inner) && list.allSatisfy(check)
            case .like(let inner, let pattern, let escape, _, _, _): return check(inner) && check(pattern) && (escape.map(check) ?? true)
            }
        }
        return check(expression)
    }

    private func runsColumn(_ field: ScanField) -> Column {
        let runs = index.runs
        switch field {
        case .builtin(let name): return runs.builtin(name) ?? Column.constant(.null, count: runs.count)
        case .config(let path): return runs.configColumn(path)
        case .summary(let path): return runs.summaryColumn(path)
        case .metric, .run, .nested: return Column.constant(.null, count: runs.count)
        }
    }

    // MARK: Sorting

    func sortedRows(_ relation: Relation, _ keys: [BoundOrder]) throws -> [Int] {
        let keyValues = try keys.map { try evaluator.evaluate($0.expression, relation).values }
        return Array(0..<relation.count).sorted { Self.rowSortsBefore($0, $1, keys: keys, values: keyValues) }
    }

    /// The first `count` rows in ORDER BY order (a stable top-k: ties keep input order).
    func firstRows(_ relation: Relation, _ keys: [BoundOrder], count: Int) throws -> [Int] {
        guard count * 8 < relation.count else { return Array(try sortedRows(relation, keys).prefix(count)) }
        let keyValues = try keys.map { try evaluator.evaluate($0.expression, relation).values }
        var best: [Int] = []
        best.reserveCapacity(count + 1)
        for rowIndex in 0..<relation.count {
            if best.count == count, let last = best.last, !Self.rowSortsBefore(rowIndex, last, keys: keys, values: keyValues) { continue }
            // After every row that sorts before or equal to this one: stable.
            var low = 0
            var high = best.count
            while low < high {
                let middle = (low + high) / 2
                if Self.rowSortsBefore(rowIndex, best[middle], keys: keys, values: keyValues) { high = middle } else { low = middle + 1 }
            }
            best.insert(rowIndex, at: low)
            if best.count > count { best.removeLast() }
        }
        return best
    }

    /// ORDER BY over rows: key by key, ties kept in input order (a stable sort).
    static func rowSortsBefore(_ left: Int, _ right: Int, keys: [BoundOrder], values: [[Value]]) -> Bool {
        for (keyIndex, key) in keys.enumerated() {
            let a = values[keyIndex][left]
            let b = values[keyIndex][right]
            if ValueOrder.sortsBefore(a, b, descending: key.descending, nullsFirst: key.nullsFirst) { return true }
            if ValueOrder.sortsBefore(b, a, descending: key.descending, nullsFirst: key.nullsFirst) { return false }
        }
        return left < right
    }

    // MARK: Aggregation

    private func aggregate(_ relation: Relation, groups: [BoundExpr], aggregates: [BoundAggregate], names: [String]) throws -> Relation {
        let groupColumns = try groups.map { try evaluator.evaluate($0, relation) }
        let argumentColumns = try aggregates.map { aggregate in try aggregate.arguments.map { try evaluator.evaluate($0, relation) } }
        for (aggregate, columns) in zip(aggregates, argumentColumns) where aggregate.function.numericOnly {
            // A column's type covers every run; a computed value's only the rows at hand, so only
            // direct column references and literals are checked.
            let direct: Bool
            switch aggregate.arguments.first {
            case .column?, .literal?: direct = true
            default: direct = false
            }
            if direct, let first = columns.first, first.type == .varchar || first.type == .boolean || first.type == .timestamp {
                throw Diagnostic(.binder, "\(aggregate.function.name)(\(first.type)) is not defined: it takes numbers (cast with TRY_CAST(x AS DOUBLE))", at: aggregate.span)
            }
        }
        if let fast = fastAggregate(groupColumns, argumentColumns, aggregates, rowCount: relation.count, names: names) { return fast }
        let filterColumns = try aggregates.map { aggregate in try aggregate.filter.map { try evaluator.evaluate($0, relation) } }
        let orderValues = try aggregates.map { aggregate in try aggregate.orderBy.map { try evaluator.evaluate($0.expression, relation).values } }

        var groupOf: [[Value]: Int] = [:]
        var groupKeys: [[Value]] = []
        var rowsOfGroup: [[Int]] = []
        if groups.isEmpty {
            groupKeys = [[]]
            rowsOfGroup = [Array(0..<relation.count)]
        } else {
            for rowIndex in 0..<relation.count {
                let key = groupColumns.map { $0.value(at: rowIndex) }
                if let group = groupOf[key] {
                    rowsOfGroup[group].append(rowIndex)
                } else {
                    groupOf[key] = groupKeys.count
                    groupKeys.append(key)
                    rowsOfGroup.append([rowIndex])
                }
            }
        }

        var outputs = [[Value]](repeating: [], count: aggregates.count)
        for (groupIndex, rows) in rowsOfGroup.enumerated() {
            if groupIndex % 1024 == 0, isCancelled() { throw Diagnostic(.interrupted, "Interrupted!") }
            for (aggregateIndex, aggregate) in aggregates.enumerated() {
                let accumulator = aggregate.function.makeAccumulator()
                var chosen = rows
                if let filter = filterColumns[aggregateIndex] {
                    chosen = chosen.filter { if case .bool(true) = filter.value(at: $0) { return true } else { return false } }
                }
                if !aggregate.orderBy.isEmpty {
                    chosen.sort { Self.rowSortsBefore($0, $1, keys: aggregate.orderBy, values: orderValues[aggregateIndex]) }
                }
                var seen: Set<[Value]> = []
                let columns = argumentColumns[aggregateIndex]
                for rowIndex in chosen {
                    let arguments = columns.map { $0.value(at: rowIndex) }
                    if aggregate.distinct {
                        if arguments.contains(where: \.isNull) || !seen.insert(arguments).inserted { continue }
                    }
                    do {
                        try accumulator.add(arguments)
                    } catch {
                        throw Diagnostic(error.phase, error.message, at: aggregate.span)
                    }
                }
                outputs[aggregateIndex].append(accumulator.result())
            }
        }
        var columns: [Column] = []
        for groupIndex in 0..<groups.count {
            columns.append(Column.from(groupKeys.map { $0[groupIndex] }, type: groupColumns[groupIndex].type))
        }
        for output in outputs { columns.append(Column.from(output)) }
        return Relation(columns: columns, names: names, count: groupKeys.count)
    }

    // MARK: Joins

    private func join(
        _ kind: JoinKind, _ left: Relation, _ right: Relation, leftKeys: [BoundExpr], rightKeys: [BoundExpr], residual: BoundExpr?, leftWidth: Int
    ) throws -> Relation {
        // Right-side expressions use the joined layout: pad the left part with empty columns.
        let paddedRight = Relation(
            columns: Array(repeating: Column.constant(.null, count: 0), count: leftWidth) + right.columns,
            names: Array(repeating: "", count: leftWidth) + right.names, count: right.count)
        var pairs: [(Int, Int)] = []
        if leftKeys.isEmpty {
            pairs.reserveCapacity(left.count * right.count)
            for leftRow in 0..<left.count {
                for rightRow in 0..<right.count { pairs.append((leftRow, rightRow)) }
            }
        } else {
            let leftColumns = try leftKeys.map { try evaluator.evaluate($0, left) }
            let rightColumns = try rightKeys.map { try evaluator.evaluate($0, paddedRight) }
            if leftColumns.count == 1, let stringPairs = Self.stringKeyPairs(leftColumns[0], rightColumns[0]) {
                pairs = stringPairs
            } else {
                pairs = Self.hashedPairs(leftColumns, rightColumns, leftCount: left.count, rightCount: right.count)
            }
        }
        if let residual, !pairs.isEmpty {
            let candidates = combine(left, right, pairs.map { ($0.0, Optional($0.1)) })
            let keep = Set(try evaluator.selection(residual, candidates))
            pairs = pairs.enumerated().filter { keep.contains($0.offset) }.map(\.element)
        }
        guard kind == .left else { return combine(left, right, pairs.map { ($0.0, Optional($0.1)) }) }
        // Pairs come in left-row order: give each left row without a match one row of NULLs.
        var rows: [(Int, Int?)] = []
        var pairIndex = 0
        for leftRow in 0..<left.count {
            let before = rows.count
            while pairIndex < pairs.count, pairs[pairIndex].0 == leftRow {
                rows.append((leftRow, pairs[pairIndex].1))
                pairIndex += 1
            }
            if rows.count == before { rows.append((leftRow, nil)) }
        }
        return combine(left, right, rows)
    }

    /// The row pairs whose keys are equal (NULL equal to nothing), in left-row order and, for
    /// each left row, right-row order: keys boxed and hashed as values.
    private static func hashedPairs(_ leftColumns: [Column], _ rightColumns: [Column], leftCount: Int, rightCount: Int) -> [(Int, Int)] {
        var table: [[Value]: [Int]] = [:]
        for rightRow in 0..<rightCount {
            let key = rightColumns.map { $0.value(at: rightRow) }
            if key.contains(where: \.isNull) { continue }
            table[key, default: []].append(rightRow)
        }
        var pairs: [(Int, Int)] = []
        for leftRow in 0..<leftCount {
            let key = leftColumns.map { $0.value(at: leftRow) }
            if key.contains(where: \.isNull) { continue }
            for rightRow in table[key] ?? [] { pairs.append((leftRow, rightRow)) }
        }
        return pairs
    }

    /// `hashedPairs` for one key that is a string column on both sides (ids, names): strings
    /// hashed directly, each right row chained to the next with the same key. Nil for other keys.
    private static func stringKeyPairs(_ left: Column, _ right: Column) -> [(Int, Int)]? {
        func strings(_ column: Column) -> [ByteString?]? {
            switch column.storage {
            case .string(let values): return values.indices.map { column.isValid($0) ? ByteString(values[$0]) : nil }
            case .dictionary(let codes, let dictionary):
                let keys = dictionary.strings.map(ByteString.init)
                return codes.indices.map { column.isValid($0) ? keys[Int(codes[$0])] : nil }
            default: return nil
            }
        }
        guard let leftKeys = strings(left), let rightKeys = strings(right) else { return nil }
        var first: [ByteString: Int] = [:]
        first.reserveCapacity(rightKeys.count)
        var next = [Int](repeating: -1, count: rightKeys.count)
        for rightRow in rightKeys.indices.reversed() {
            guard let key = rightKeys[rightRow] else { continue }
            if let following = first.updateValue(rightRow, forKey: key) { next[rightRow] = following }
        }
        var pairs: [(Int, Int)] = []
        pairs.reserveCapacity(leftKeys.count)
        for (leftRow, key) in leftKeys.enumerated() {
            guard let key, var rightRow = first[key] else { continue }
            while rightRow >= 0 {
                pairs.append((leftRow, rightRow))
                rightRow = next[rightRow]
            }
        }
        return pairs
    }

    private func combine(_ left: Relation, _ right: Relation, _ pairs: [(Int, Int?)]) -> Relation {
        let leftRows = pairs.map(\.0)
        let rightRows = pairs.map(\.1)
        let hasUnmatched = rightRows.contains { $0 == nil }
        let rightColumns = right.columns.map { column in
            hasUnmatched ? column.gather(optional: rightRows) : column.gather(rightRows.map { $0 ?? 0 })
        }
        return Relation(columns: left.columns.map { $0.gather(leftRows) } + rightColumns, names: left.names + right.names, count: pairs.count)
    }

    // MARK: Set operations

    private func setOperation(_ op: SetOperator, all: Bool, _ left: Relation, _ right: Relation) throws -> Relation {
        guard left.columns.count == right.columns.count else {
            throw Diagnostic(.binder, "Set operations can only apply to expressions with the same number of result columns (\(left.columns.count) and \(right.columns.count))")
        }
        func rowValues(_ relation: Relation, _ rowIndex: Int) -> [Value] { relation.columns.map { $0.value(at: rowIndex) } }
        var rows: [[Value]] = []
        switch op {
        case .union:
            rows = (0..<left.count).map { rowValues(left, $0) } + (0..<right.count).map { rowValues(right, $0) }
            if !all {
                var seen: Set<[Value]> = []
                rows = rows.filter { seen.insert($0).inserted }
            }
        case .except, .intersect:
            var counts: [[Value]: Int] = [:]
            for rowIndex in 0..<right.count { counts[rowValues(right, rowIndex), default: 0] += 1 }
            var emitted: Set<[Value]> = []
            for rowIndex in 0..<left.count {
                let row = rowValues(left, rowIndex)
                let inRight = (counts[row] ?? 0) > 0
                if all {
                    if inRight { counts[row, default: 0] -= 1 }
                    if (op == .intersect) == inRight { rows.append(row) }
                } else if (op == .intersect) == inRight, emitted.insert(row).inserted {
                    rows.append(row)
                }
            }
        }
        let columns = (0..<left.columns.count).map { columnIndex in
            Column.from(rows.map { $0[columnIndex] }, type: left.columns[columnIndex].type.unified(with: right.columns[columnIndex].type))
        }
        return Relation(columns: columns, names: left.names, count: rows.count)
    }
}
