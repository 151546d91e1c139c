import ColumnIndex

/// An aggregate: its name, how many arguments it takes, and a fresh accumulator per group.
struct AggregateFunction: Sendable {
    let name: String
    let arity: ClosedRange<Int>
    let makeAccumulator: @Sendable () -> Accumulator

    /// Whether the first argument must be numeric (a column of strings is an error; a string in
    /// a mixed-type column is skipped).
    var numericOnly: Bool { ["sum", "avg", "stddev", "stddev_pop", "variance", "var_pop"].contains(name) }

    static func lookup(_ name: String) -> AggregateFunction? { table[name.lowercased()] }

    static var names: [String] { Array(table.keys) }

    private static let definitions: [(names: [String], arity: ClosedRange<Int>, make: @Sendable () -> Accumulator)] = [
        (["count"], 0...1, { CountAccumulator() }),
        (["sum"], 1...1, { SumAccumulator() }),
        (["avg", "mean"], 1...1, { MomentsAccumulator(.mean, name: "avg") }),
        (["stddev", "stddev_samp"], 1...1, { MomentsAccumulator(.sampleStandardDeviation, name: "stddev") }),
        (["stddev_pop"], 1...1, { MomentsAccumulator(.populationStandardDeviation, name: "stddev_pop") }),
        (["variance", "var_samp"], 1...1, { MomentsAccumulator(.sampleVariance, name: "variance") }),
        (["var_pop"], 1...1, { MomentsAccumulator(.populationVariance, name: "var_pop") }),
        (["min"], 1...1, { ExtremeAccumulator(maximum: false) }),
        (["max"], 1...1, { ExtremeAccumulator(maximum: true) }),
        (["arg_max", "argmax", "max_by"], 2...2, { ArgExtremeAccumulator(maximum: true) }),
        (["arg_min", "argmin", "min_by"], 2...2, { ArgExtremeAccumulator(maximum: false) }),
        (["median"], 1...1, { QuantileAccumulator(fixed: 0.5, discrete: false) }),
        (["quantile", "quantile_cont"], 2...2, { QuantileAccumulator(fixed: nil, discrete: false) }),
        (["quantile_disc"], 2...2, { QuantileAccumulator(fixed: nil, discrete: true) }),
        (["first", "arbitrary"], 1...1, { PositionAccumulator(last: false) }),
        (["any_value"], 1...1, { PositionAccumulator(last: false, skipNulls: true) }),
        (["last"], 1...1, { PositionAccumulator(last: true) }),
        (["list", "array_agg"], 1...1, { ListAccumulator() }),
        (["string_agg", "group_concat", "listagg"], 1...2, { StringAggAccumulator() }),
        (["bool_and", "every"], 1...1, { BooleanAccumulator(all: true) }),
        (["bool_or", "any"], 1...1, { BooleanAccumulator(all: false) }),
    ]

    private static let table: [String: AggregateFunction] = {
        var table: [String: AggregateFunction] = [:]
        for definition in definitions {
            for name in definition.names {
                table[name] = AggregateFunction(name: definition.names[0], arity: definition.arity, makeAccumulator: definition.make)
            }
        }
        return table
    }()
}

/// The running state of one aggregate in one group. Rows arrive in input order; NULL inputs are
/// passed on (each aggregate decides; most skip them).
class Accumulator {
    func add(_ arguments: [Value]) throws(FunctionFailure) {}
    func result() -> Value { .null }
}

private func numeric(_ value: Value, _ name: String) throws(FunctionFailure) -> Double? {
    switch value {
    case .int(let integer): return Double(integer)
    case .double(let number): return number
    case .null: return nil
    case .string: return nil  // a string in a mixed-type key: not a number, skipped
    case let other: throw FunctionFailure(.binder, "\(name) expects numbers, not \(DataType.of(other))")
    }
}

final class CountAccumulator: Accumulator {
    private var count: Int64 = 0

    override func add(_ arguments: [Value]) throws(FunctionFailure) {
        if arguments.isEmpty || !arguments[0].isNull { count += 1 }
    }

    override func result() -> Value { .int(count) }
}

final class SumAccumulator: Accumulator {
    private var integer: Int64 = 0
    private var double = 0.0
    private var sawDouble = false
    private var sawAny = false
    private var overflowed = false

    override func add(_ arguments: [Value]) throws(FunctionFailure) {
        switch arguments[0] {
        case .int(let value):
            sawAny = true
            let (sum, overflow) = integer.addingReportingOverflow(value)
            if overflow { overflowed = true }
            integer = sum
            double += Double(value)
        case let value:
            guard let number = try numeric(value, "sum") else { return }
            sawAny = true
            sawDouble = true
            double += number
        }
    }

    override func result() -> Value {
        guard sawAny else { return .null }
        return sawDouble || overflowed ? .double(double) : .int(integer)
    }
}

/// Mean, variance and standard deviation by Welford's method.
final class MomentsAccumulator: Accumulator {
    enum Statistic { case mean, sampleVariance, populationVariance, sampleStandardDeviation, populationStandardDeviation }

    private let statistic: Statistic
    private let name: String
    private var count = 0.0
    private var mean = 0.0
    private var squares = 0.0
    /// The plain sum, for the mean (so that a single Infinity gives Infinity, as in DuckDB).
    private var sum = 0.0

    init(_ statistic: Statistic, name: String) {
        self.statistic = statistic
        self.name = name
    }

    override func add(_ arguments: [Value]) throws(FunctionFailure) {
        guard let value = try numeric(arguments[0], name) else { return }
        count += 1
        sum += value
        let delta = value - mean
        mean += delta / count
        squares += delta * (value - mean)
    }

    override func result() -> Value {
        switch statistic {
        case .mean: return count > 0 ? .double(sum / count) : .null
        case .sampleVariance: return count > 1 ? .double(squares / (count - 1)) : .null
        case .populationVariance: return count > 0 ? .double(squares / count) : .null
        case .sampleStandardDeviation: return count > 1 ? .double((squares / (count - 1)).squareRoot()) : .null
        case .populationStandardDeviation: return count > 0 ? .double((squares / count).squareRoot()) : .null
        }
    }
}

/// min and max in ORDER BY's order, except that NaN counts only when there is nothing else:
/// a diverged run is never the best.
final class ExtremeAccumulator: Accumulator {
    private let maximum: Bool
    private var best: Value = .null
    private var sawNaN = false

    init(maximum: Bool) { self.maximum = maximum }

    override func add(_ arguments: [Value]) throws(FunctionFailure) {
        let value = arguments[0]
        if value.isNull { return }
        if value.numeric?.isNaN == true {
            sawNaN = true
            return
        }
        if best.isNull || ValueOrder.sortsBefore(value, best, descending: maximum, nullsFirst: false) { best = value }
    }

    override func result() -> Value {
        if best.isNull && sawNaN { return .double(.nan) }
        return best
    }
}

/// arg_max(arg, value): `arg` of the row with the largest `value` (the first such row on ties;
/// rows whose value is NULL or NaN never win, unless all are NaN).
final class ArgExtremeAccumulator: Accumulator {
    private let maximum: Bool
    private var bestKey: Value = .null
    private var bestArgument: Value = .null
    private var nanArgument: Value?

    init(maximum: Bool) { self.maximum = maximum }

    override func add(_ arguments: [Value]) throws(FunctionFailure) {
        let key = arguments[1]
        if key.isNull { return }
        if key.numeric?.isNaN == true {
            if nanArgument == nil { nanArgument = arguments[0] }
            return
        }
        if bestKey.isNull || ValueOrder.sortsBefore(key, bestKey, descending: maximum, nullsFirst: false) {
            bestKey = key
            bestArgument = arguments[0]
        }
    }

    override func result() -> Value {
        if bestKey.isNull, let nanArgument { return nanArgument }
        return bestArgument
    }
}

/// median and quantiles over the values in ORDER BY's order (NaN last).
///
/// The values are kept sorted as they come (new ones sorted, then merged in, stably), so a window
/// that reads the result after every row of a growing frame (a running median) merges each value
/// once rather than sorting the whole frame again for every row.
final class QuantileAccumulator: Accumulator {
    private var fraction: Double?
    private let discrete: Bool
    /// The numbers so far, sorted; and the other values (strings of a mixed-type column), sorted.
    private var numbers: [Value] = []
    private var others: [Value] = []
    /// Values added since the last result, in order.
    private var pending: [Value] = []
    private var invalidFraction = false

    init(fixed: Double?, discrete: Bool) {
        fraction = fixed
        self.discrete = discrete
    }

    override func add(_ arguments: [Value]) throws(FunctionFailure) {
        if fraction == nil, arguments.count > 1 {
            guard let requested = arguments[1].numeric, requested >= 0, requested <= 1 else {
                throw FunctionFailure(.invalidInput, "quantile: the fraction must be between 0 and 1, not \(Render.text(arguments[1]))")
            }
            fraction = requested
        }
        let value = arguments[0]
        if value.isNull { return }
        pending.append(value)
    }

    override func result() -> Value {
        settle()
        guard !(numbers.isEmpty && others.isEmpty), let fraction else { return .null }
        // Numbers, when there are any (a string in a mixed-type key is skipped); else all values.
        let sorted = numbers.isEmpty ? others : numbers
        let position = fraction * Double(sorted.count - 1)
        if discrete || numbers.isEmpty {
            // DuckDB's discrete quantile: the value at position ceil(n·q) − 1.
            let position = Int((Double(sorted.count) * fraction).rounded(.up)) - 1
            return sorted[max(0, min(sorted.count - 1, position))]
        }
        let lower = Int(position.rounded(.down))
        let upper = Int(position.rounded(.up))
        guard let low = sorted[lower].numeric, let high = sorted[upper].numeric else { return sorted[lower] }
        if lower == upper { return .double(low) }
        // DuckDB's interpolation, lo·(1 − d) + hi·d: between an infinity and a number (or two
        // equal infinities) it is that infinity, where lo + (hi − lo)·d was NaN.
        let weight = position - Double(lower)
        return .double(low * (1 - weight) + high * weight)
    }

    /// Sorts the pending values into `numbers` and `others`.
    private func settle() {
        guard !pending.isEmpty else { return }
        Self.merge(pending.filter(\.isNumber), into: &numbers)
        Self.merge(pending.filter { !$0.isNumber }, into: &others)
        pending.removeAll(keepingCapacity: true)
    }

    /// Merges `values`, sorted stably, into the sorted `target`: equal values keep the order they
    /// were added in, as one stable sort of them all would.
    private static func merge(_ values: [Value], into target: inout [Value]) {
        guard !values.isEmpty else { return }
        let incoming = values.sorted { ValueOrder.sortsBefore($0, $1, descending: false, nullsFirst: false) }
        if target.isEmpty {
            target = incoming
            return
        }
        if incoming.count <= 8 {
            // A few (a growing frame's next row): each goes after the values it does not sort before.
            for value in incoming {
                var low = 0
                var high = target.count
                while low < high {
                    let middle = (low + high) / 2
                    if ValueOrder.sortsBefore(value, target[middle], descending: false, nullsFirst: false) { high = middle } else { low = middle + 1 }
                }
                target.insert(value, at: low)
            }
            return
        }
        var merged: [Value] = []
        merged.reserveCapacity(target.count + incoming.count)
        var old = 0
        var new = 0
        while old < target.count, new < incoming.count {
            if ValueOrder.sortsBefore(incoming[new], target[old], descending: false, nullsFirst: false) {
                merged.append(incoming[new])
                new += 1
            } else {
                merged.append(target[old])
                old += 1
            }
        }
        merged.append(contentsOf: target[old...])
        merged.append(contentsOf: incoming[new...])
        target = merged
    }
}

final class PositionAccumulator: Accumulator {
    private let last: Bool
    private let skipNulls: Bool
    private var value: Value = .null
    private var seen = false

    init(last: Bool, skipNulls: Bool = false) {
        self.last = last
        self.skipNulls = skipNulls
    }

    override func add(_ arguments: [Value]) throws(FunctionFailure) {
        if skipNulls, arguments[0].isNull { return }
        if last || !seen {
            value = arguments[0]
            seen = true
        }
    }

    override func result() -> Value { value }
}

final class ListAccumulator: Accumulator {
    private var values: [Value] = []
    private var seen = false

    override func add(_ arguments: [Value]) throws(FunctionFailure) {
        seen = true
        values.append(arguments[0])
    }

    override func result() -> Value { seen ? .list(values) : .null }
}

final class StringAggAccumulator: Accumulator {
    private var text = ""
    private var seen = false

    override func add(_ arguments: [Value]) throws(FunctionFailure) {
        if arguments[0].isNull { return }
        let separator: String
        if arguments.count > 1 {
            guard case .string(let given) = arguments[1] else {
                throw FunctionFailure(.binder, "string_agg: the separator must be a string")
            }
            separator = given
        } else {
            separator = ","
        }
        if seen { text += separator }
        text += Render.text(arguments[0])
        seen = true
    }

    override func result() -> Value { seen ? .string(text) : .null }
}

final class BooleanAccumulator: Accumulator {
    private let all: Bool
    private var result_: Bool?

    init(all: Bool) { self.all = all }

    override func add(_ arguments: [Value]) throws(FunctionFailure) {
        switch arguments[0] {
        case .null: return
        case .bool(let flag): result_ = all ? (result_ ?? true) && flag : (result_ ?? false) || flag
        case let other: throw FunctionFailure(.binder, "bool_and/bool_or expect booleans, not \(DataType.of(other))")
        }
    }

    override func result() -> Value { result_.map(Value.bool) ?? .null }
}
