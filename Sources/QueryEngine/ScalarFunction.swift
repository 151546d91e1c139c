import ColumnIndex
import QuerySyntax
#if canImport(Glibc)
import Glibc
#endif

/// Why a function could not compute a value; the evaluator adds the call's span.
struct FunctionFailure: Error {
    var phase: Diagnostic.Phase
    var message: String

    init(_ phase: Diagnostic.Phase = .invalidInput, _ message: String) {
        self.phase = phase
        self.message = message
    }
}

/// A scalar function or operator: its name, how many arguments it takes, and what it computes
/// for one row. Most functions are NULL when any argument is NULL (`propagatesNull`).
struct ScalarFunction: Sendable {
    let name: String
    let arity: ClosedRange<Int>
    let propagatesNull: Bool
    let evaluate: @Sendable ([Value]) throws(FunctionFailure) -> Value

    init(_ name: String, _ arity: ClosedRange<Int>, propagatesNull: Bool = true, _ evaluate: @escaping @Sendable ([Value]) throws(FunctionFailure) -> Value) {
        self.name = name
        self.arity = arity
        self.propagatesNull = propagatesNull
        self.evaluate = evaluate
    }
}

/// Operators: arithmetic, comparison, concatenation.
enum Operators {
    static func binary(_ op: BinaryOperator) -> ScalarFunction {
        switch op {
        case .add: return arithmetic("+", integer: { $0.addingReportingOverflow($1) }, double: +)
        case .subtract: return arithmetic("-", integer: { $0.subtractingReportingOverflow($1) }, double: -)
        case .multiply: return arithmetic("*", integer: { $0.multipliedReportingOverflow(by: $1) }, double: *)
        case .divide:
            return ScalarFunction("/", 2...2) { arguments throws(FunctionFailure) in
                guard let (a, b) = try numbers(arguments, "/") else { return .null }
                if b == 0 { throw FunctionFailure(.outOfRange, "division by zero") }
                return .double(a / b)
            }
        case .integerDivide:
            return ScalarFunction("//", 2...2) { arguments throws(FunctionFailure) in
                if case let (.int(a), .int(b)) = (arguments[0], arguments[1]) {
                    if b == 0 { throw FunctionFailure(.outOfRange, "division by zero") }
                    if a == .min && b == -1 { throw FunctionFailure(.outOfRange, "overflow in integer division") }
                    return .int(a / b)
                }
                guard let (a, b) = try numbers(arguments, "//") else { return .null }
                if b == 0 { throw FunctionFailure(.outOfRange, "division by zero") }
                return .double((a / b).rounded(.towardZero))
            }
        case .modulo:
            return ScalarFunction("%", 2...2) { arguments throws(FunctionFailure) in
                if case let (.int(a), .int(b)) = (arguments[0], arguments[1]) {
                    if b == 0 { throw FunctionFailure(.outOfRange, "division by zero") }
                    return .int(b == -1 ? 0 : a % b)
                }
                guard let (a, b) = try numbers(arguments, "%") else { return .null }
                if b == 0 { throw FunctionFailure(.outOfRange, "division by zero") }
                return .double(fmod(a, b))
            }
        case .concat:
            return ScalarFunction("||", 2...2) { arguments in
                if case let (.list(a), .list(b)) = (arguments[0], arguments[1]) { return .list(a + b) }
                return .string(Render.text(arguments[0]) + Render.text(arguments[1]))
            }
        case .equal: return comparison("=") { $0 == .equal }
        case .notEqual: return comparison("<>") { $0 != .equal }
        case .less: return comparison("<", ordering: true) { $0 == .less }
        case .lessOrEqual: return comparison("<=", ordering: true) { $0 == .less || $0 == .equal }
        case .greater: return comparison(">", ordering: true) { $0 == .greater }
        case .greaterOrEqual: return comparison(">=", ordering: true) { $0 == .greater || $0 == .equal }
        case .distinctFrom:
            return ScalarFunction("IS DISTINCT FROM", 2...2, propagatesNull: false) { arguments in
                .bool(!notDistinct(arguments[0], arguments[1]))
            }
        case .notDistinctFrom:
            return ScalarFunction("IS NOT DISTINCT FROM", 2...2, propagatesNull: false) { arguments in
                .bool(notDistinct(arguments[0], arguments[1]))
            }
        case .regexMatch:
            return ScalarFunction("~", 2...2) { arguments throws(FunctionFailure) in
                .bool(try Patterns.regexMatches(try string(arguments[0], "~"), try string(arguments[1], "~")))
            }
        case .regexNotMatch:
            return ScalarFunction("!~", 2...2) { arguments throws(FunctionFailure) in
                .bool(!(try Patterns.regexMatches(try string(arguments[0], "!~"), try string(arguments[1], "!~"))))
            }
        case .and, .or:
            // Bound as BoundExpr.and/.or (three-valued, not NULL-propagating); never called.
            return ScalarFunction(op.rawValue, 2...2) { _ in .null }
        }
    }

    static let negate = ScalarFunction("-", 1...1) { arguments throws(FunctionFailure) in
        switch arguments[0] {
        case .int(let integer):
            if integer == .min { throw FunctionFailure(.outOfRange, "overflow in negation of \(integer)") }
            return .int(-integer)
        case .double(let number): return .double(-number)
        case .interval(let interval):
            guard let negated = interval.negated else { throw FunctionFailure(.outOfRange, "overflow in negation of \(interval)") }
            return .interval(negated)
        case let other: throw FunctionFailure(.binder, "cannot negate a \(DataType.of(other)) value")
        }
    }

    private static func notDistinct(_ a: Value, _ b: Value) -> Bool {
        if a.isNull || b.isNull { return a.isNull && b.isNull }
        return ValueOrder.compare(a, b) == .equal
    }

    /// Both arguments as doubles, or a type error (which the evaluator turns into NULL for a
    /// value of a mixed-type key).
    private static func numbers(_ arguments: [Value], _ op: String) throws(FunctionFailure) -> (Double, Double)? {
        guard let a = arguments[0].numeric, let b = arguments[1].numeric else {
            throw FunctionFailure(.binder, "No operator \(op) for \(DataType.of(arguments[0])) and \(DataType.of(arguments[1]))")
        }
        return (a, b)
    }

    private static func arithmetic(
        _ name: String, integer: @escaping @Sendable (Int64, Int64) -> (partialValue: Int64, overflow: Bool),
        double: @escaping @Sendable (Double, Double) -> Double
    ) -> ScalarFunction {
        ScalarFunction(name, 2...2) { arguments throws(FunctionFailure) in
            switch (arguments[0], arguments[1]) {
            case let (.int(a), .int(b)):
                let result = integer(a, b)
                if result.overflow { throw FunctionFailure(.outOfRange, "overflow in \(a) \(name) \(b)") }
                return .int(result.partialValue)
            case let (.timestamp(micros), .interval(interval)) where name == "+" || name == "-":
                guard let signed = name == "+" ? interval : interval.negated else { throw FunctionFailure(.outOfRange, "interval out of range") }
                return .timestamp(try Dates.add(micros, signed))
            case let (.interval(interval), .timestamp(micros)) where name == "+":
                return .timestamp(try Dates.add(micros, interval))
            case let (.timestamp(a), .timestamp(b)) where name == "-":
                let (difference, overflow) = a.subtractingReportingOverflow(b)
                if overflow { throw FunctionFailure(.outOfRange, "overflow in the difference of two timestamps") }
                return .interval(Interval(days: difference / Dates.microsPerDay, micros: difference % Dates.microsPerDay))
            case let (.interval(a), .interval(b)) where name == "+" || name == "-":
                guard let right = name == "+" ? b : b.negated, let sum = Dates.sum(a, right) else {
                    throw FunctionFailure(.outOfRange, "interval out of range")
                }
                return .interval(sum)
            case let (.interval(a), .int(b)) where name == "*", let (.int(b), .interval(a)) where name == "*":
                guard let product = Dates.product(a, b) else { throw FunctionFailure(.outOfRange, "interval out of range") }
                return .interval(product)
            case let (.string(a), .string(b)):
                throw FunctionFailure(.binder, "No operator \(name) for VARCHAR and VARCHAR ('\(a)' \(name) '\(b)'); use || to concatenate")
            default:
                guard let (a, b) = try numbers(arguments, name) else { return .null }
                return .double(double(a, b))
            }
        }
    }

    private static func comparison(_ name: String, ordering: Bool = false, _ test: @escaping @Sendable (ComparisonOutcome) -> Bool) -> ScalarFunction {
        ScalarFunction(name, 2...2) { arguments in
            if ordering, let a = arguments[0].numeric, let b = arguments[1].numeric, a.isNaN || b.isNaN { return .bool(false) }
            guard let outcome = ValueOrder.compare(arguments[0], arguments[1]) else { return .null }
            return .bool(test(outcome))
        }
    }

    static func string(_ value: Value, _ function: String) throws(FunctionFailure) -> String {
        if case .string(let text) = value { return text }
        throw FunctionFailure(.binder, "\(function) expects a string, not \(DataType.of(value)) (cast it with ::VARCHAR)")
    }
}
