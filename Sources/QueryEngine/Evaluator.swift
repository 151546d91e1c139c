import ColumnIndex
import QuerySyntax

/// Evaluates bound expressions over a relation, a column at a time.
///
/// `rows` selects the rows to evaluate (nil: all of them); the result has one value per selected
/// row. CASE, COALESCE-like branches evaluate only on the rows that reach them, so an error in a
/// branch no row takes is never raised. Comparisons and arithmetic on typed numeric columns run as
/// typed loops; everything else goes row by row through `Value`.
struct Evaluator {
    let executor: Executor

    func evaluate(_ expression: BoundExpr, _ relation: Relation, rows: [Int]? = nil) throws -> Column {
        let count = rows?.count ?? relation.count
        // An expression that reads no column (`(SELECT max(x) FROM t) - INTERVAL 30 DAY`) has one
        // value for every row: compute it once.
        if count > 1, expression.isCompound, expression.isRowIndependent {
            let once = try evaluate(expression, relation, rows: [rows?.first ?? 0])
            return Column.constant(once.value(at: 0), count: count)
        }
        switch expression {
        case .column(let slot):
            let column = relation.columns[slot.index]
            return rows.map { column.gather($0) } ?? column
        case .outer(let reference):
            return Column.constant(reference.value, count: count)
        case .literal(let value):
            return Column.constant(value, count: count)
        case .call(let function, let arguments, let span):
            let columns: [Column]
            if arguments.count == 2, case .literal(.int(let constant)) = arguments[1] {
                // `_step // 100`, `_step > 10`: the constant stays a scalar, never a column.
                let left = try evaluate(arguments[0], relation, rows: rows)
                if case .int(let values) = left.storage,
                    let fast = Kernels.integers(function.name, values, constant, validity: left.validity)
                {
                    return fast
                }
                columns = [left, Column.constant(.int(constant), count: count)]
            } else {
                columns = try arguments.map { try evaluate($0, relation, rows: rows) }
            }
            if let fast = Kernels.binary(function.name, columns) { return fast }
            if function.name == "list_contains", let fast = Kernels.listContains(columns) { return fast }
            var builder = ColumnBuilder()
            var values = [Value](repeating: .null, count: columns.count)
            for rowIndex in 0..<count {
                var hasNull = false
                for (argumentIndex, column) in columns.enumerated() {
                    let value = column.value(at: rowIndex)
                    if value.isNull { hasNull = true }
                    values[argumentIndex] = value
                }
                if hasNull && function.propagatesNull {
                    builder.append(.null)
                    continue
                }
                do {
                    builder.append(try function.evaluate(values))
                } catch where error.phase == .binder && columns.contains(where: { $0.type == .any }) {
                    // A value of the wrong type in a mixed-type key: NULL there, as comparisons are.
                    builder.append(.null)
                } catch {
                    throw Diagnostic(error.phase, error.message, at: span)
                }
            }
            return builder.finish()
        case .and(let terms):
            return try logical(terms, relation, rows: rows, isAnd: true)
        case .or(let terms):
            return try logical(terms, relation, rows: rows, isAnd: false)
        case .not(let inner):
            let column = try evaluate(inner, relation, rows: rows)
            return try mapRows(column) { value throws(Diagnostic) in
                switch value {
                case .null: return .null
                case .bool(let flag): return .bool(!flag)
                default: throw Diagnostic(.binder, "NOT expects a boolean, not \(DataType.of(value))")
                }
            }
        case .isNull(let inner, let negated):
            let column = try evaluate(inner, relation, rows: rows)
            return Column.from((0..<count).map { Value.bool(column.isValid($0) == negated) }, type: .boolean)
        case .caseWhen(let branches, let otherwise):
            var results = [Value](repeating: .null, count: count)
            var remaining = Array(0..<count)
            let base = rows
            for branch in branches where !remaining.isEmpty {
                let selected = base.map { all in remaining.map { all[$0] } } ?? remaining
                let condition = try evaluate(branch.condition, relation, rows: selected)
                var taken: [Int] = []
                var notTaken: [Int] = []
                for (position, resultIndex) in remaining.enumerated() {
                    if case .bool(true) = condition.value(at: position) { taken.append(resultIndex) } else { notTaken.append(resultIndex) }
                }
                if !taken.isEmpty {
                    let takenRows = base.map { all in taken.map { all[$0] } } ?? taken
                    let values = try evaluate(branch.result, relation, rows: takenRows)
                    for (position, resultIndex) in taken.enumerated() { results[resultIndex] = values.value(at: position) }
                }
                remaining = notTaken
            }
            if let otherwise, !remaining.isEmpty {
                let selected = base.map { all in remaining.map { all[$0] } } ?? remaining
                let values = try evaluate(otherwise, relation, rows: selected)
                for (position, resultIndex) in remaining.enumerated() { results[resultIndex] = values.value(at: position) }
            }
            return Column.from(results)
        case .cast(let inner, let type, let isTry, let span):
            let column = try evaluate(inner, relation, rows: rows)
            return try mapRows(column, type: type) { value throws(Diagnostic) in
                if let converted = Cast.convert(value, to: type) { return converted }
                if isTry { return .null }
                throw Diagnostic(.conversion, "Could not convert \(DataType.of(value)) '\(Render.text(value))' to \(type)", at: span)
            }
        case .inList(let inner, let list, let negated):
            let column = try evaluate(inner, relation, rows: rows)
            let options = try list.map { try evaluate($0, relation, rows: rows) }
            return Column.from((0..<count).map { rowIndex in
                membership(column.value(at: rowIndex), options.map { $0.value(at: rowIndex) }, negated: negated)
            }, type: .boolean)
        case .like(let inner, let pattern, let escape, let caseInsensitive, let negated, let span):
            let subjects = try evaluate(inner, relation, rows: rows)
            let patterns = try evaluate(pattern, relation, rows: rows)
            let escapes = try escape.map { try evaluate($0, relation, rows: rows) }
            var builder = ColumnBuilder()
            for rowIndex in 0..<count {
                let subject = subjects.value(at: rowIndex)
                let patternValue = patterns.value(at: rowIndex)
                if subject.isNull || patternValue.isNull {
                    builder.append(.null)
                    continue
                }
                guard case .string(let patternText) = patternValue else {
                    throw Diagnostic(.binder, "LIKE expects a string pattern, not \(DataType.of(patternValue))", at: span)
                }
                guard case .string(let text) = subject else {
                    // A number in a mixed-type key is not comparable with a pattern: NULL, as comparisons are.
                    builder.append(.null)
                    continue
                }
                var escapeCharacter: Character?
                if let escapes {
                    if escapes.value(at: rowIndex).isNull {
                        builder.append(.null)
                        continue
                    }
                    guard case .string(let escapeText) = escapes.value(at: rowIndex), escapeText.count <= 1 else {
                        throw Diagnostic(.invalidInput, "the ESCAPE of LIKE must be a single character", at: span)
                    }
                    escapeCharacter = escapeText.first
                }
                let matches = Patterns.like(text, patternText, escape: escapeCharacter, caseInsensitive: caseInsensitive)
                builder.append(.bool(matches != negated))
            }
            return builder.finish()
        case .scalarSubquery(let subquery, let span):
            let results = try subqueryResults(subquery, relation, rows: rows, count: count)
            return Column.from(try results.map { result -> Value in
                guard result.columns.count == 1 else {
                    throw Diagnostic(.binder, "a scalar subquery must return one column, not \(result.columns.count)", at: span)
                }
                if result.count > 1 {
                    throw Diagnostic(.invalidInput, "more than one row returned by a subquery used as an expression", at: span)
                }
                return result.count == 0 ? .null : result.columns[0].value(at: 0)
            })
        case .inSubquery(let inner, let subquery, let negated) where !subquery.outerReferences.isEmpty:
            let results = try subqueryResults(subquery, relation, rows: rows, count: count)
            let column = try evaluate(inner, relation, rows: rows)
            return Column.from(try (0..<count).map { rowIndex -> Value in
                let result = results[rowIndex]
                guard result.columns.count == 1 else {
                    throw Diagnostic(.binder, "a subquery after IN must return one column, not \(result.columns.count)")
                }
                if result.count == 0 { return .bool(negated) }
                let value = column.value(at: rowIndex)
                return value.isNull ? .null : membership(value, result.columns[0].values, negated: negated)
            }, type: .boolean)
        case .inSubquery(let inner, let subquery, let negated):
            let result = try executor.run(subquery)
            guard result.columns.count == 1 else {
                throw Diagnostic(.binder, "a subquery after IN must return one column, not \(result.columns.count)")
            }
            let options = result.columns[0].values
            var set: Set<Value> = []
            var hasNull = false
            for option in options {
                if option.isNull { hasNull = true } else { set.insert(option) }
            }
            let column = try evaluate(inner, relation, rows: rows)
            return Column.from((0..<count).map { rowIndex -> Value in
                // Nothing is in an empty set, not even NULL.
                if options.isEmpty { return .bool(negated) }
                let value = column.value(at: rowIndex)
                if value.isNull { return .null }
                if set.contains(value) { return .bool(!negated) }
                // The hash lookup misses what only the comparison rules equate (a timestamp and
                // its ISO string) or cannot decide (a number and a string): compare those.
                if set.contains(where: { !Self.sameKind($0, value) }) { return membership(value, options, negated: negated) }
                return hasNull ? .null : .bool(negated)
            }, type: .boolean)
        case .exists(let subquery, let negated):
            let results = try subqueryResults(subquery, relation, rows: rows, count: count)
            return Column.from(results.map { Value.bool(($0.count > 0) != negated) }, type: .boolean)
        }
    }

    /// A subquery's result for each evaluated row: one run when it is uncorrelated, else one run
    /// per distinct combination of the outer values it reads.
    private func subqueryResults(_ subquery: SubqueryPlan, _ relation: Relation, rows: [Int]?, count: Int) throws -> [Relation] {
        let references = subquery.outerReferences
        if references.isEmpty { return Array(repeating: try executor.run(subquery), count: count) }
        let outerColumns = references.map { reference -> Column in
            let column = relation.columns[reference.slot.index]
            return rows.map { column.gather($0) } ?? column
        }
        var cache: [[Value]: Relation] = [:]
        var results: [Relation] = []
        results.reserveCapacity(count)
        for rowIndex in 0..<count {
            let key = outerColumns.map { $0.value(at: rowIndex) }
            if let cached = cache[key] {
                results.append(cached)
                continue
            }
            for (reference, value) in zip(references, key) { reference.value = value }
            let result = try executor.execute(subquery.plan)
            cache[key] = result
            results.append(result)
        }
        return results
    }

    /// Whether two values are of one kind for equality (numbers with numbers, strings with strings…).
    private static func sameKind(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.int, .int), (.int, .double), (.double, .int), (.double, .double), (.string, .string), (.bool, .bool),
            (.timestamp, .timestamp), (.interval, .interval), (.list, .list), (.object, .object):
            return true
        default:
            return false
        }
    }

    /// `x IN (a, b, c)`: true when one equals, NULL when none does but one is NULL, else false.
    private func membership(_ value: Value, _ options: [Value], negated: Bool) -> Value {
        if value.isNull { return .null }
        var sawNull = false
        for option in options {
            switch ValueOrder.compare(value, option) {
            case .equal?: return .bool(!negated)
            case nil: sawNull = true
            default: break
            }
        }
        return sawNull ? .null : .bool(negated)
    }

    /// Three-valued AND/OR; later terms are evaluated only on rows the earlier ones left undecided.
    private func logical(_ terms: [BoundExpr], _ relation: Relation, rows: [Int]?, isAnd: Bool) throws -> Column {
        let count = rows?.count ?? relation.count
        var results = [Value](repeating: .bool(isAnd), count: count)
        var undecided = Array(0..<count)
        for term in terms where !undecided.isEmpty {
            let selected = rows.map { all in undecided.map { all[$0] } } ?? undecided
            let column = try evaluate(term, relation, rows: selected)
            var stillUndecided: [Int] = []
            for (position, resultIndex) in undecided.enumerated() {
                switch column.value(at: position) {
                case .bool(let flag):
                    if flag != isAnd {
                        results[resultIndex] = .bool(flag)
                    } else {
                        stillUndecided.append(resultIndex)
                    }
                case .null:
                    results[resultIndex] = .null
                    stillUndecided.append(resultIndex)
                case let other:
                    throw Diagnostic(.binder, "\(isAnd ? "AND" : "OR") expects booleans, not \(DataType.of(other))")
                }
            }
            undecided = stillUndecided
        }
        return Column.from(results, type: .boolean)
    }

    private func mapRows(_ column: Column, type: DataType? = nil, _ transform: (Value) throws(Diagnostic) -> Value) throws -> Column {
        var builder = ColumnBuilder()
        for rowIndex in 0..<column.count {
            let value = column.value(at: rowIndex)
            builder.append(value.isNull ? .null : try transform(value))
        }
        var result = builder.finish()
        if let type, result.type == .null { result.type = type }
        return result
    }

    /// The rows where a predicate is true.
    func selection(_ predicate: BoundExpr, _ relation: Relation) throws -> [Int] {
        let column = try evaluate(predicate, relation)
        if case .bool(let flags) = column.storage {
            var rows: [Int] = []
            for rowIndex in 0..<flags.count where flags[rowIndex] && column.isValid(rowIndex) { rows.append(rowIndex) }
            return rows
        }
        var rows: [Int] = []
        for rowIndex in 0..<column.count {
            switch column.value(at: rowIndex) {
            case .bool(true): rows.append(rowIndex)
            case .bool(false), .null: continue
            case let other: throw Diagnostic(.binder, "a condition must be a boolean, not \(DataType.of(other))")
            }
        }
        return rows
    }
}

/// Typed loops for the commonest operators on plain numeric columns.
enum Kernels {
    static func binary(_ name: String, _ columns: [Column]) -> Column? {
        guard columns.count == 2 else { return nil }
        let validity = combine(columns[0].validity, columns[1].validity)
        switch (columns[0].storage, columns[1].storage) {
        case let (.double(left), .double(right)):
            return doubles(name, left, right, validity: validity)
        case let (.int(left), .int(right)):
            return integers(name, left, right, validity: validity)
        // Mixed int and double: arithmetic goes through doubles as the row path does; comparisons
        // stay on the row path, which compares an integer beyond 2^53 exactly.
        case let (.int(left), .double(right)) where ["+", "-", "*"].contains(name):
            return doubles(name, ContiguousArray(left.map(Double.init)), right, validity: validity)
        case let (.double(left), .int(right)) where ["+", "-", "*"].contains(name):
            return doubles(name, left, ContiguousArray(right.map(Double.init)), validity: validity)
        // Timestamps compare as their microseconds.
        case let (.timestamp(left), .timestamp(right)) where ["<", "<=", ">", ">=", "=", "<>"].contains(name):
            return integers(name, left, right, validity: validity)
        case let (.dictionary(codes, dictionary), .dictionary(_, constant)) where constant.strings.count == 1,
            let (.dictionary(_, constant), .dictionary(codes, dictionary)) where constant.strings.count == 1:
            return dictionaryEquality(name, codes, dictionary, constant.strings[0], validity: validity)
        default:
            return nil
        }
    }

    /// `'bert' IN tags` (list_contains of a list column and one string): the row path's answer
    /// without boxing the arguments of each row; nil when a row holds something other than a list.
    static func listContains(_ columns: [Column]) -> Column? {
        guard columns.count == 2, case .values(let lists) = columns[0].storage,
              case .dictionary(_, let constant) = columns[1].storage, constant.strings.count == 1, columns[1].validity == nil
        else { return nil }
        let needle = Value.string(constant.strings[0])
        var flags = ContiguousArray<Bool>(repeating: false, count: lists.count)
        for rowIndex in 0..<lists.count where columns[0].isValid(rowIndex) {
            guard case .list(let items) = lists[rowIndex] else {
                if lists[rowIndex].isNull { continue }
                return nil
            }
            flags[rowIndex] = items.contains { ValueOrder.compare($0, needle) == .equal }
        }
        return Column(storage: .bool(flags), validity: columns[0].validity, type: .boolean)
    }

    /// `=`/`<>` of a dictionary-encoded column with a one-string dictionary (a constant): compare codes.
    private static func dictionaryEquality(
        _ name: String, _ codes: ContiguousArray<UInt32>, _ dictionary: StringDictionary, _ constant: String, validity: Bitmap?
    ) -> Column? {
        guard name == "=" || name == "<>" else { return nil }
        let target = dictionary.strings.firstIndex { $0.hasSameBytes(as: constant) }.map(UInt32.init)
        var flags = ContiguousArray<Bool>(repeating: false, count: codes.count)
        let equal = name == "="
        for rowIndex in 0..<codes.count { flags[rowIndex] = (codes[rowIndex] == target) == equal }
        return Column(storage: .bool(flags), validity: validity, type: .boolean)
    }

    /// Integer arithmetic and comparisons; nil (the row path, with its errors) when a division by
    /// zero or an overflow could happen.
    private static func integers(_ name: String, _ left: ContiguousArray<Int64>, _ right: ContiguousArray<Int64>, validity: Bitmap?) -> Column? {
        func compare(_ test: (Int64, Int64) -> Bool) -> Column {
            var flags = ContiguousArray<Bool>(repeating: false, count: left.count)
            for rowIndex in 0..<left.count { flags[rowIndex] = test(left[rowIndex], right[rowIndex]) }
            return Column(storage: .bool(flags), validity: validity, type: .boolean)
        }
        func arithmetic(_ operation: (Int64, Int64) -> (partialValue: Int64, overflow: Bool)) -> Column? {
            var values = ContiguousArray<Int64>(repeating: 0, count: left.count)
            for rowIndex in 0..<left.count {
                let result = operation(left[rowIndex], right[rowIndex])
                if result.overflow, validity?[rowIndex] ?? true { return nil }
                values[rowIndex] = result.partialValue
            }
            return Column(storage: .int(values), validity: validity, type: .bigint)
        }
        switch name {
        case "<": return compare(<)
        case "<=": return compare(<=)
        case ">": return compare(>)
        case ">=": return compare(>=)
        case "=": return compare(==)
        case "<>": return compare(!=)
        case "+": return arithmetic { $0.addingReportingOverflow($1) }
        case "-": return arithmetic { $0.subtractingReportingOverflow($1) }
        case "*": return arithmetic { $0.multipliedReportingOverflow(by: $1) }
        case "//":
            // Zero divisors (and Int64.min // -1) are left to the row path and its errors.
            for rowIndex in 0..<right.count where validity?[rowIndex] ?? true {
                if right[rowIndex] == 0 || (right[rowIndex] == -1 && left[rowIndex] == .min) { return nil }
            }
            return arithmetic { dividend, divisor in (divisor == 0 || (divisor == -1 && dividend == .min) ? 0 : dividend / divisor, false) }
        default: return nil
        }
    }

    /// Integer arithmetic and comparisons with a constant right operand, one loop without a
    /// second column; nil (the general kernel, then the row path with its errors) when a row
    /// could overflow or the divisor is 0 or -1. Division goes through doubles, which a machine
    /// divides many at a time, when every dividend is below 2^53 in magnitude: then the quotient
    /// truncated is exact (a quotient that is not a whole number lies at least 1/|divisor| from
    /// one, more than the rounding error of |dividend/divisor| · 2^-53).
    static func integers(_ name: String, _ left: ContiguousArray<Int64>, _ constant: Int64, validity: Bitmap?) -> Column? {
        let count = left.count
        func compare(_ test: (Int64) -> Bool) -> Column {
            let flags = left.withUnsafeBufferPointer { left in
                ContiguousArray<Bool>(unsafeUninitializedCapacity: count) { flags, initialized in
                    for rowIndex in 0..<count { flags[rowIndex] = test(left[rowIndex]) }
                    initialized = count
                }
            }
            return Column(storage: .bool(flags), validity: validity, type: .boolean)
        }
        func arithmetic(_ operation: (Int64) -> (partialValue: Int64, overflow: Bool)) -> Column? {
            var overflowed = false
            let values = left.withUnsafeBufferPointer { left in
                ContiguousArray<Int64>(unsafeUninitializedCapacity: count) { values, initialized in
                    for rowIndex in 0..<count {
                        let result = operation(left[rowIndex])
                        if result.overflow, validity?[rowIndex] ?? true { overflowed = true }
                        values[rowIndex] = result.partialValue
                    }
                    initialized = count
                }
            }
            return overflowed ? nil : Column(storage: .int(values), validity: validity, type: .bigint)
        }
        switch name {
        case "<": return compare { $0 < constant }
        case "<=": return compare { $0 <= constant }
        case ">": return compare { $0 > constant }
        case ">=": return compare { $0 >= constant }
        case "=": return compare { $0 == constant }
        case "<>": return compare { $0 != constant }
        case "+": return arithmetic { $0.addingReportingOverflow(constant) }
        case "-": return arithmetic { $0.subtractingReportingOverflow(constant) }
        case "*": return arithmetic { $0.multipliedReportingOverflow(by: constant) }
        case "//":
            guard constant != 0, constant != -1 else { return nil }
            let exact: Int64 = 1 << 53
            let small = left.withUnsafeBufferPointer { left in
                var largest: UInt64 = 0
                for value in left { largest = max(largest, value.magnitude) }
                return largest < UInt64(exact)
            }
            guard small, constant.magnitude < UInt64(exact) else { return arithmetic { ($0 / constant, false) } }
            let divisor = Double(constant)
            return arithmetic { (Int64((Double($0) / divisor).rounded(.towardZero)), false) }
        default: return nil
        }
    }

    private static func combine(_ a: Bitmap?, _ b: Bitmap?) -> Bitmap? {
        guard let a else { return b }
        guard let b else { return a }
        var result = a
        for rowIndex in 0..<a.count where !b[rowIndex] { result[rowIndex] = false }
        return result
    }

    private static func doubles(_ name: String, _ left: ContiguousArray<Double>, _ right: ContiguousArray<Double>, validity: Bitmap?) -> Column? {
        func compare(_ test: (Double, Double) -> Bool) -> Column {
            var flags = ContiguousArray<Bool>(repeating: false, count: left.count)
            for rowIndex in 0..<left.count { flags[rowIndex] = test(left[rowIndex], right[rowIndex]) }
            return Column(storage: .bool(flags), validity: validity, type: .boolean)
        }
        func arithmetic(_ operation: (Double, Double) -> Double) -> Column {
            var values = ContiguousArray<Double>(repeating: 0, count: left.count)
            for rowIndex in 0..<left.count { values[rowIndex] = operation(left[rowIndex], right[rowIndex]) }
            return Column(storage: .double(values), validity: validity, type: .double)
        }
        switch name {
        // IEEE comparisons already give our NaN rule for < <= > >=; = treats NaN as equal to NaN.
        case "<": return compare(<)
        case "<=": return compare(<=)
        case ">": return compare(>)
        case ">=": return compare(>=)
        case "=": return compare { $0 == $1 || ($0.isNaN && $1.isNaN) }
        case "<>": return compare { !($0 == $1 || ($0.isNaN && $1.isNaN)) }
        case "+": return arithmetic(+)
        case "-": return arithmetic(-)
        case "*": return arithmetic(*)
        default: return nil
        }
    }
}
