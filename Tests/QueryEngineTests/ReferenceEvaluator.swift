import ColumnIndex
import Foundation
import RunStore

// A deliberately naive, row-at-a-time reference evaluator of the random queries' shape
// (RandomQueries.swift), written from PRODUCT.md §4 and sharing no code with QueryEngine: it reads
// the store through RunStore into plain rows and evaluates one row, one value at a time.
//
// Semantics (PRODUCT.md §4, DuckDB where it is silent):
// - NULL in, NULL out (arithmetic, comparisons, abs); AND/OR/NOT are three-valued.
// - A comparison of values of unrelated types (a number with a string) is NULL; an int compares
//   with a double by exact value; strings compare by their UTF-8 bytes; a timestamp compares with a
//   string by reading the string as an ISO-8601 timestamp (NULL when it is not one).
// - NaN never satisfies <, <=, >, >= (not even NaN <= NaN); NaN = NaN is true, NaN = 1 is false,
//   NaN <> 1 is true.
// - x IN (a, b) is x = a OR x = b; x BETWEEN a AND b is x >= a AND x <= b.
// - int + - * int is an int (overflow is an error); any other pair of numbers gives a double; a
//   string in a numeric operation (from a mixed-type key) gives NULL, as does abs of a string.
// - coalesce is the first non-NULL argument; arguments after it are not evaluated.
// - ORDER BY: NULLs last unless NULLS FIRST; numbers (NaN after every number in both directions),
//   then strings, then booleans, then timestamps; DESC reverses the order within a class only.
// - count(*) counts rows, count(x) non-NULL values; min/max are the first value in ORDER BY x ASC
//   (min) or DESC (max) order, NaN only when there is nothing else; sum/avg add the numbers (NaN
//   and ±Infinity included, strings of mixed-type keys skipped): sum of ints is an int unless it
//   overflows (then a double), avg = sum / count as doubles; NULL when there are no numbers.
// - Groups: NULLs together, NaNs together, 1 and 1.0 together; the first row's value stands for
//   the group.

/// An error the engine must raise too (integer overflow), or a query the reference cannot evaluate.
struct ReferenceError: Error, CustomStringConvertible {
    var description: String
    /// The generator produced something outside the reference's shape: a bug in the test itself.
    var unsupported = false
}

/// The runs of a store as plain rows: a column's RunQL text → its value in that run.
struct ReferenceTable: Sendable {
    let rows: [[String: Value]]

    static func load(_ store: RunStore, columns: [RandomQueryColumn]) throws -> ReferenceTable {
        var rows: [[String: Value]] = []
        for location in store.runLocations() {
            let metadata = try store.readMetadata(location)
            let config = try store.readObject(location, .config)
            let summary = try store.effectiveSummary(location)
            var row: [String: Value] = [:]
            for column in columns {
                switch column.source {
                case .builtin(let name): row[column.sql] = try builtin(name, metadata)
                case .config(let path): row[column.sql] = try lookup(config, path, column.sql)
                case .summary(let path): row[column.sql] = try lookup(summary, path, column.sql)
                }
            }
            rows.append(row)
        }
        return ReferenceTable(rows: rows)
    }

    private static func builtin(_ name: String, _ run: RunMetadata) throws -> Value {
        func text(_ string: String?) -> Value { string.map { .string($0) } ?? .null }
        switch name {
        case "id": return .string(run.id)
        case "name": return text(run.name)
        case "state": return .string(run.state.rawValue)
        case "user": return text(run.user)
        case "host": return text(run.host)
        case "job_type": return text(run.jobType)
        case "runtime": return run.runtime.map { .double($0) } ?? .null
        case "exit_code": return run.exitCode.map { .int($0) } ?? .null
        case "created_at": return run.createdAt.map { .timestamp(Int64(($0 * 1_000_000).rounded())) } ?? .null
        default: throw ReferenceError(description: "the reference does not know the built-in column \(name)", unsupported: true)
        }
    }

    /// The value at a path of nested keys; NULL where a run lacks it.
    private static func lookup(_ object: JSONObject, _ path: [String], _ sql: String) throws -> Value {
        var current = JSONValue.object(object)
        for key in path {
            guard case .object(let members) = current, let next = members[key] else { return .null }
            current = next
        }
        switch current {
        case .null: return .null
        case .bool(let flag): return .bool(flag)
        case .int(let integer): return .int(integer)
        case .double(let number): return .double(number)
        case .bigInt(let digits): return .double(Double(digits) ?? .nan)
        case .string(let text): return .string(text)
        case .array, .object:
            throw ReferenceError(description: "\(sql) holds a list or an object; the reference handles scalars only", unsupported: true)
        }
    }
}

enum Reference {
    enum Outcome { case less, equal, greater, unordered }

    // MARK: Comparison

    private static func isNumber(_ value: Value) -> Bool {
        switch value {
        case .int, .double: return true
        default: return false
        }
    }

    private static func isNaN(_ value: Value) -> Bool {
        if case .double(let number) = value { return number.isNaN }
        return false
    }

    /// `integer` against `number` (not NaN) exactly, without rounding the integer to a double.
    private static func compare(integer: Int64, double number: Double) -> Outcome {
        if number >= 9_223_372_036_854_775_808.0 { return .less }  // 2^63 and +Infinity
        if number < -9_223_372_036_854_775_808.0 { return .greater }  // below -2^63 and -Infinity
        let whole = number.rounded(.towardZero)
        let wholeInteger = Int64(whole)
        if integer < wholeInteger { return .less }
        if integer > wholeInteger { return .greater }
        let fraction = number - whole
        return fraction > 0 ? .less : fraction < 0 ? .greater : .equal
    }

    private static func flip(_ outcome: Outcome) -> Outcome {
        switch outcome {
        case .less: return .greater
        case .greater: return .less
        default: return outcome
        }
    }

    private static func bytes(_ a: String, _ b: String) -> Outcome {
        if a.utf8.elementsEqual(b.utf8) { return .equal }
        return a.utf8.lexicographicallyPrecedes(b.utf8) ? .less : .greater
    }

    /// A SQL comparison: nil when it is NULL (a NULL operand, or values of unrelated types).
    static func compare(_ a: Value, _ b: Value) -> Outcome? {
        switch (a, b) {
        case let (.int(x), .int(y)): return x < y ? .less : x == y ? .equal : .greater
        case let (.double(x), .double(y)):
            if x.isNaN || y.isNaN { return x.isNaN && y.isNaN ? .equal : .unordered }
            return x < y ? .less : x == y ? .equal : .greater
        case let (.int(x), .double(y)):
            return y.isNaN ? .unordered : compare(integer: x, double: y)
        case let (.double(x), .int(y)):
            return x.isNaN ? .unordered : flip(compare(integer: y, double: x))
        case let (.string(x), .string(y)): return bytes(x, y)
        case let (.bool(x), .bool(y)): return x == y ? .equal : !x ? .less : .greater
        case let (.timestamp(x), .timestamp(y)): return x < y ? .less : x == y ? .equal : .greater
        case let (.timestamp, .string(text)):
            guard let seconds = Timestamp.parse(text) else { return nil }
            return compare(a, .timestamp(Int64((seconds * 1_000_000).rounded())))
        case let (.string(text), .timestamp):
            guard let seconds = Timestamp.parse(text) else { return nil }
            return compare(.timestamp(Int64((seconds * 1_000_000).rounded())), b)
        default: return nil
        }
    }

    static func comparison(_ op: ComparisonOperator, _ a: Value, _ b: Value) -> Value {
        guard let outcome = compare(a, b) else { return .null }
        // NaN never satisfies <, <=, >, >= (not even against NaN, which it equals).
        if op.isOrdering, isNaN(a) || isNaN(b) { return .bool(false) }
        switch op {
        case .equal: return .bool(outcome == .equal)
        case .notEqual: return .bool(outcome != .equal)
        case .less: return .bool(outcome == .less)
        case .lessOrEqual: return .bool(outcome == .less || outcome == .equal)
        case .greater: return .bool(outcome == .greater)
        case .greaterOrEqual: return .bool(outcome == .greater || outcome == .equal)
        }
    }

    /// The class of a value in ORDER BY; the classes keep this order in both directions.
    private static func orderClass(_ value: Value) throws -> Int {
        switch value {
        case .int, .double: return 0
        case .string: return 1
        case .bool: return 2
        case .timestamp: return 3
        default: throw ReferenceError(description: "the reference does not order \(value)", unsupported: true)
        }
    }

    /// -1 when `a` comes first under one ORDER BY key, 1 when `b` does, 0 for a tie.
    static func orderCompare(_ a: Value, _ b: Value, descending: Bool, nullsFirst: Bool) throws -> Int {
        switch (a.isNull, b.isNull) {
        case (true, true): return 0
        case (true, false): return nullsFirst ? -1 : 1
        case (false, true): return nullsFirst ? 1 : -1
        case (false, false): break
        }
        let classA = try orderClass(a)
        let classB = try orderClass(b)
        if classA != classB { return classA < classB ? -1 : 1 }
        // NaN after every number, whatever the direction.
        if isNaN(a) || isNaN(b) { return isNaN(a) == isNaN(b) ? 0 : isNaN(a) ? 1 : -1 }
        guard let outcome = compare(a, b) else {
            throw ReferenceError(description: "no order between \(a) and \(b)", unsupported: true)
        }
        let ascending: Int
        switch outcome {
        case .less: ascending = -1
        case .greater: ascending = 1
        case .equal, .unordered: ascending = 0
        }
        return descending ? -ascending : ascending
    }

    /// Whether two result values are the same: same type and value, NaN equal to NaN, doubles by bits
    /// (so 0.0 and -0.0 differ), strings by bytes.
    static func identical(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.double(x), .double(y)): return x.bitPattern == y.bitPattern || (x.isNaN && y.isNaN)
        case let (.string(x), .string(y)): return x.utf8.elementsEqual(y.utf8)
        case let (.timestamp(x), .timestamp(y)): return x == y
        default: return false
        }
    }

    /// Whether two values fall into the same group: numbers by value (1 and 1.0), NaN with NaN.
    private static func sameGroup(_ a: Value, _ b: Value) -> Bool {
        if a.isNull || b.isNull { return a.isNull && b.isNull }
        if isNumber(a), isNumber(b) {
            if isNaN(a) || isNaN(b) { return isNaN(a) && isNaN(b) }
            return compare(a, b) == .equal
        }
        return identical(a, b)
    }

    // MARK: Expressions

    private static func truth(_ value: Value) throws -> Bool? {
        switch value {
        case .null: return nil
        case .bool(let flag): return flag
        default: throw ReferenceError(description: "a condition evaluated to \(value)", unsupported: true)
        }
    }

    private static func arithmetic(_ op: ArithmeticOperator, _ a: Value, _ b: Value) throws -> Value {
        if a.isNull || b.isNull { return .null }
        switch (a, b) {
        case let (.int(x), .int(y)):
            let (result, overflow): (Int64, Bool)
            switch op {
            case .add: (result, overflow) = x.addingReportingOverflow(y)
            case .subtract: (result, overflow) = x.subtractingReportingOverflow(y)
            case .multiply: (result, overflow) = x.multipliedReportingOverflow(by: y)
            }
            if overflow { throw ReferenceError(description: "overflow in \(x) \(op.rawValue) \(y)") }
            return .int(result)
        case (.int, .double), (.double, .int), (.double, .double):
            let x = double(a)
            let y = double(b)
            switch op {
            case .add: return .double(x + y)
            case .subtract: return .double(x - y)
            case .multiply: return .double(x * y)
            }
        case (.string, .string), (.string, .int), (.string, .double), (.int, .string), (.double, .string):
            return .null  // a string of a mixed-type key is not a number
        default:
            throw ReferenceError(description: "the reference does not compute \(a) \(op.rawValue) \(b)", unsupported: true)
        }
    }

    private static func double(_ value: Value) -> Double {
        switch value {
        case .int(let integer): return Double(integer)
        case .double(let number): return number
        default: return .nan
        }
    }

    static func evaluate(_ expression: RandomQueryExpr, _ row: [String: Value]) throws -> Value {
        switch expression {
        case .column(let name, _):
            guard let value = row[name] else { throw ReferenceError(description: "no column \(name) in the reference's rows", unsupported: true) }
            return value
        case .literal(let value, _):
            return value
        case .arithmetic(let op, let left, let right):
            let a = try evaluate(left, row)
            let b = try evaluate(right, row)
            return try arithmetic(op, a, b)
        case .abs(let operand):
            switch try evaluate(operand, row) {
            case .null: return .null
            case .int(let integer):
                if integer == .min { throw ReferenceError(description: "overflow in abs(\(integer))") }
                return .int(integer < 0 ? -integer : integer)
            case .double(let number): return .double(number.magnitude)
            case .string: return .null
            case let other: throw ReferenceError(description: "the reference does not compute abs(\(other))", unsupported: true)
            }
        case .coalesce(let arguments):
            for argument in arguments {
                let value = try evaluate(argument, row)
                if !value.isNull { return value }
            }
            return .null
        case .comparison(let op, let left, let right):
            let a = try evaluate(left, row)
            let b = try evaluate(right, row)
            return comparison(op, a, b)
        case .and(let left, let right):
            let a = try truth(evaluate(left, row))
            if a == false { return .bool(false) }
            let b = try truth(evaluate(right, row))
            if b == false { return .bool(false) }
            return a == nil || b == nil ? .null : .bool(true)
        case .or(let left, let right):
            let a = try truth(evaluate(left, row))
            if a == true { return .bool(true) }
            let b = try truth(evaluate(right, row))
            if b == true { return .bool(true) }
            return a == nil || b == nil ? .null : .bool(false)
        case .not(let operand):
            guard let flag = try truth(evaluate(operand, row)) else { return .null }
            return .bool(!flag)
        case .isNull(let operand, let negated):
            return .bool(try evaluate(operand, row).isNull != negated)
        case .inList(let operand, let list, let negated):
            let value = try evaluate(operand, row)
            var result: Bool? = false
            for option in list {
                switch comparison(.equal, value, try evaluate(option, row)) {
                case .bool(true): result = true
                case .null: if result == false { result = nil }
                default: break
                }
                if result == true { break }
            }
            guard let result else { return .null }
            return .bool(result != negated)
        case .between(let operand, let low, let high, let negated):
            let range = RandomQueryExpr.and(.comparison(.greaterOrEqual, operand, low), .comparison(.lessOrEqual, operand, high))
            guard let flag = try truth(evaluate(range, row)) else { return .null }
            return .bool(flag != negated)
        }
    }

    // MARK: Aggregates

    private static func aggregate(_ aggregate: RandomQueryAggregate, _ rows: [[String: Value]]) throws -> Value {
        switch aggregate {
        case .countStar:
            return .int(Int64(rows.count))
        case .count(let argument):
            var count: Int64 = 0
            for row in rows where !(try evaluate(argument, row)).isNull { count += 1 }
            return .int(count)
        case .min(let argument), .max(let argument):
            var maximum = false
            if case .max = aggregate { maximum = true }
            var best: Value = .null
            var sawNaN = false
            for row in rows {
                let value = try evaluate(argument, row)
                if value.isNull { continue }
                if isNaN(value) {
                    sawNaN = true
                    continue
                }
                // The first value in ORDER BY's order (ASC for min, DESC for max); ties keep the first.
                if best.isNull {
                    best = value
                } else if try orderCompare(value, best, descending: maximum, nullsFirst: false) < 0 {
                    best = value
                }
            }
            return best.isNull && sawNaN ? .double(.nan) : best
        case .sum(let argument), .avg(let argument):
            var integerSum: Int64 = 0
            var overflowed = false
            var doubleSum = 0.0
            var sawDouble = false
            var count = 0
            for row in rows {
                switch try evaluate(argument, row) {
                case .null, .string: continue
                case .int(let integer):
                    let (sum, overflow) = integerSum.addingReportingOverflow(integer)
                    integerSum = sum
                    if overflow { overflowed = true }
                    doubleSum += Double(integer)
                case .double(let number):
                    sawDouble = true
                    doubleSum += number
                case let other:
                    throw ReferenceError(description: "the reference does not add \(other)", unsupported: true)
                }
                count += 1
            }
            if count == 0 { return .null }
            if case .avg = aggregate { return .double(doubleSum / Double(count)) }
            return sawDouble || overflowed ? .double(doubleSum) : .int(integerSum)
        }
    }

    // MARK: Queries

    /// The rows of the query's result, in order.
    static func run(_ query: RandomQuery, on table: ReferenceTable) throws -> [[Value]] {
        var rows: [[String: Value]] = []
        for row in table.rows {
            if let filter = query.filter {
                guard try truth(evaluate(filter, row)) == true else { continue }
            }
            rows.append(row)
        }

        // Each output row with the values it sorts by.
        var output: [(values: [Value], keys: [Value])] = []
        switch query.grouping {
        case .none:
            for row in rows {
                var values: [Value] = []
                for item in query.items {
                    guard case .scalar(let expression) = item else {
                        throw ReferenceError(description: "an aggregate in a query without GROUP BY", unsupported: true)
                    }
                    values.append(try evaluate(expression, row))
                }
                output.append((values, try orderKeys(query, values: values, row: row)))
            }
        case .global, .byFirstItem:
            var groups: [(key: Value, rows: [[String: Value]])] = []
            if case .global = query.grouping {
                groups = [(.null, rows)]
            } else {
                guard case .scalar(let keyExpression) = query.items[0] else {
                    throw ReferenceError(description: "the group key is an aggregate", unsupported: true)
                }
                for row in rows {
                    let key = try evaluate(keyExpression, row)
                    if let position = groups.firstIndex(where: { sameGroup($0.key, key) }) {
                        groups[position].rows.append(row)
                    } else {
                        groups.append((key, [row]))
                    }
                }
            }
            for group in groups {
                if let minimum = query.havingMinimumCount, group.rows.count < minimum { continue }
                var values: [Value] = []
                for item in query.items {
                    switch item {
                    case .scalar: values.append(group.key)
                    case .aggregate(let function): values.append(try aggregate(function, group.rows))
                    }
                }
                var keys: [Value] = []
                for order in query.orderBy {
                    switch order.key {
                    case .position(let index), .alias(let index): keys.append(values[index])
                    case .expression: keys.append(group.key)  // the generator orders grouped queries by the key only
                    }
                }
                output.append((values, keys))
            }
        }

        // A plain insertion sort: stable, and obviously right.
        var sorted: [(values: [Value], keys: [Value])] = []
        for candidate in output {
            var position = sorted.count
            while position > 0, try comesBefore(candidate.keys, sorted[position - 1].keys, query.orderBy) { position -= 1 }
            sorted.insert(candidate, at: position)
        }
        var result = sorted.map(\.values)
        if let offset = query.offset { result = Array(result.dropFirst(offset)) }
        if let limit = query.limit { result = Array(result.prefix(limit)) }
        return result
    }

    private static func orderKeys(_ query: RandomQuery, values: [Value], row: [String: Value]) throws -> [Value] {
        try query.orderBy.map { order in
            switch order.key {
            case .position(let index), .alias(let index): return values[index]
            case .expression(let expression): return try evaluate(expression, row)
            }
        }
    }

    private static func comesBefore(_ a: [Value], _ b: [Value], _ orders: [RandomQuery.Order]) throws -> Bool {
        for (index, order) in orders.enumerated() {
            let outcome = try orderCompare(a[index], b[index], descending: order.descending ?? false, nullsFirst: order.nullsFirst ?? false)
            if outcome != 0 { return outcome < 0 }
        }
        return false
    }
}
