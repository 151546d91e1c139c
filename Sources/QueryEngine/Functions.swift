import ColumnIndex
import Foundation
import RunStore

/// The scalar functions by name (lowercase), with their aliases.
enum Functions {
    static func lookup(_ name: String) -> ScalarFunction? { table[name.lowercased()] }

    static var names: [String] { Array(table.keys) }

    /// A function the binder itself lowers syntax to (`'a' IN tags`, `[1, 2]`, `tags[1]`).
    static func required(_ name: String) -> ScalarFunction {
        table[name] ?? ScalarFunction(name, 0...64) { _ throws(FunctionFailure) in
            throw FunctionFailure(.notImplemented, "the built-in function \(name) is missing")
        }
    }

    private static func number(_ value: Value, _ function: String) throws(FunctionFailure) -> Double {
        if let number = value.numeric { return number }
        throw FunctionFailure(.binder, "\(function) expects a number, not \(DataType.of(value))")
    }

    private static func integer(_ value: Value, _ function: String) throws(FunctionFailure) -> Int64 {
        if case .int(let integer) = value { return integer }
        if case .double(let number) = value, let exact = Int64(exactly: number) { return exact }
        throw FunctionFailure(.binder, "\(function) expects an integer, not \(Render.text(value))")
    }

    private static func list(_ value: Value, _ function: String) throws(FunctionFailure) -> [Value] {
        if case .list(let elements) = value { return elements }
        throw FunctionFailure(.binder, "\(function) expects a list, not \(DataType.of(value))")
    }

    private static func timestamp(_ value: Value, _ function: String) throws(FunctionFailure) -> Int64 {
        if case .timestamp(let micros) = value { return micros }
        if case .string(let text) = value, let micros = Cast.timestampMicros(text) { return micros }
        throw FunctionFailure(.binder, "\(function) expects a timestamp, not \(DataType.of(value))")
    }

    private static func math(_ name: String, _ body: @escaping @Sendable (Double) -> Double) -> ScalarFunction {
        ScalarFunction(name, 1...1) { arguments throws(FunctionFailure) in .double(body(try number(arguments[0], name))) }
    }

    private static func text(_ name: String, _ body: @escaping @Sendable (String) -> Value) -> ScalarFunction {
        ScalarFunction(name, 1...1) { arguments throws(FunctionFailure) in body(try Operators.string(arguments[0], name)) }
    }

    private static let definitions: [(names: [String], function: ScalarFunction)] = [
        // Math
        (["abs"], ScalarFunction("abs", 1...1) { arguments throws(FunctionFailure) in
            if case .int(let integer) = arguments[0] {
                if integer == .min { throw FunctionFailure(.outOfRange, "overflow in abs(\(integer))") }
                return .int(abs(integer))
            }
            return .double(abs(try number(arguments[0], "abs")))
        }),
        (["round"], ScalarFunction("round", 1...2) { arguments throws(FunctionFailure) in
            let digits = arguments.count > 1 ? try integer(arguments[1], "round") : 0
            if case .int(let integer) = arguments[0], digits >= 0 { return .int(integer) }
            let value = try number(arguments[0], "round")
            guard value.isFinite, digits < 300 else { return .double(value) }
            if digits < -300 { return .double(0) }
            let scale = pow(10.0, Double(digits))
            return .double((value * scale).rounded(.toNearestOrAwayFromZero) / scale)
        }),
        (["floor"], ScalarFunction("floor", 1...1) { arguments throws(FunctionFailure) in
            if case .int = arguments[0] { return arguments[0] }
            return .double(try number(arguments[0], "floor").rounded(.down))
        }),
        (["ceil", "ceiling"], ScalarFunction("ceil", 1...1) { arguments throws(FunctionFailure) in
            if case .int = arguments[0] { return arguments[0] }
            return .double(try number(arguments[0], "ceil").rounded(.up))
        }),
        (["sqrt"], ScalarFunction("sqrt", 1...1) { arguments throws(FunctionFailure) in
            let value = try number(arguments[0], "sqrt")
            if value < 0 { throw FunctionFailure(.outOfRange, "cannot take the square root of a negative number") }
            return .double(value.squareRoot())
        }),
        (["pow", "power"], ScalarFunction("pow", 2...2) { arguments throws(FunctionFailure) in
            .double(pow(try number(arguments[0], "pow"), try number(arguments[1], "pow")))
        }),
        (["exp"], math("exp", exp)),
        (["ln"], ScalarFunction("ln", 1...1) { arguments throws(FunctionFailure) in
            let value = try number(arguments[0], "ln")
            if value <= 0 { throw FunctionFailure(.outOfRange, "cannot take the logarithm of zero or a negative number") }
            return .double(log(value))
        }),
        (["log", "log10"], ScalarFunction("log10", 1...1) { arguments throws(FunctionFailure) in
            let value = try number(arguments[0], "log10")
            if value <= 0 { throw FunctionFailure(.outOfRange, "cannot take the logarithm of zero or a negative number") }
            return .double(log10(value))
        }),
        (["log2"], ScalarFunction("log2", 1...1) { arguments throws(FunctionFailure) in
            let value = try number(arguments[0], "log2")
            if value <= 0 { throw FunctionFailure(.outOfRange, "cannot take the logarithm of zero or a negative number") }
            return .double(log2(value))
        }),
        (["sign"], ScalarFunction("sign", 1...1) { arguments throws(FunctionFailure) in
            let value = try number(arguments[0], "sign")
            return .int(value > 0 ? 1 : value < 0 ? -1 : 0)
        }),
        (["pi"], ScalarFunction("pi", 0...0) { _ in .double(.pi) }),
        (["isnan"], ScalarFunction("isnan", 1...1) { arguments throws(FunctionFailure) in
            if case .int = arguments[0] { return .bool(false) }
            return .bool(try number(arguments[0], "isnan").isNaN)
        }),
        (["isinf"], ScalarFunction("isinf", 1...1) { arguments throws(FunctionFailure) in
            if case .int = arguments[0] { return .bool(false) }
            return .bool(try number(arguments[0], "isinf").isInfinite)
        }),
        (["isfinite"], ScalarFunction("isfinite", 1...1) { arguments throws(FunctionFailure) in
            if case .int = arguments[0] { return .bool(true) }
            return .bool(try number(arguments[0], "isfinite").isFinite)
        }),
        (["greatest"], ScalarFunction("greatest", 1...64, propagatesNull: false) { arguments in
            arguments.filter { !$0.isNull }.reduce(Value.null) { best, value in
                best.isNull || ValueOrder.sortsBefore(best, value, descending: false, nullsFirst: false) ? value : best
            }
        }),
        (["least"], ScalarFunction("least", 1...64, propagatesNull: false) { arguments in
            arguments.filter { !$0.isNull }.reduce(Value.null) { best, value in
                best.isNull || ValueOrder.sortsBefore(value, best, descending: false, nullsFirst: false) ? value : best
            }
        }),
        // NULL handling
        (["coalesce"], ScalarFunction("coalesce", 1...64, propagatesNull: false) { arguments in
            arguments.first { !$0.isNull } ?? .null
        }),
        (["ifnull"], ScalarFunction("ifnull", 2...2, propagatesNull: false) { arguments in
            arguments[0].isNull ? arguments[1] : arguments[0]
        }),
        (["nullif"], ScalarFunction("nullif", 2...2, propagatesNull: false) { arguments in
            ValueOrder.compare(arguments[0], arguments[1]) == .equal ? .null : arguments[0]
        }),
        (["typeof"], ScalarFunction("typeof", 1...1, propagatesNull: false) { arguments in
            .string(DataType.of(arguments[0]).description)
        }),
        // Strings
        (["lower", "lcase"], text("lower") { .string($0.lowercased()) }),
        (["upper", "ucase"], text("upper") { .string($0.uppercased()) }),
        (["length", "len", "char_length", "character_length", "array_length", "list_length"], ScalarFunction("length", 1...1) { arguments throws(FunctionFailure) in
            switch arguments[0] {
            case .string(let text): return .int(Int64(text.count))
            case .list(let elements): return .int(Int64(elements.count))
            case .object(let object): return .int(Int64(object.count))
            case let other: throw FunctionFailure(.binder, "length expects a string or a list, not \(DataType.of(other))")
            }
        }),
        (["concat"], ScalarFunction("concat", 1...64, propagatesNull: false) { arguments in
            .string(arguments.filter { !$0.isNull }.map(Render.text).joined())
        }),
        (["substr", "substring"], ScalarFunction("substr", 2...3) { arguments throws(FunctionFailure) in
            // DuckDB's rules: 1-based; 0 is the position before the first character; a negative
            // start counts from the end. Clamped first, so that no arithmetic can overflow.
            let characters = Array(try Operators.string(arguments[0], "substr"))
            let count = characters.count
            var start = Int(clamping: max(min(try integer(arguments[1], "substr"), Int64(count) + 1), -Int64(count) - 1))
            var length = arguments.count > 2 ? Int(clamping: min(try integer(arguments[2], "substr"), Int64(count) + 2)) : count + 2
            if length < 0 { throw FunctionFailure(.outOfRange, "substr: the length must not be negative") }
            if start == 0 { length -= 1; start = 1 }
            var from = start > 0 ? start - 1 : count + start
            if from < 0 { length += from; from = 0 }
            let to = min(count, from + max(length, 0))
            guard from < to else { return .string("") }
            return .string(String(characters[from..<to]))
        }),
        (["left"], ScalarFunction("left", 2...2) { arguments throws(FunctionFailure) in
            let characters = Array(try Operators.string(arguments[0], "left"))
            let count = Int(clamping: max(min(try integer(arguments[1], "left"), Int64(characters.count)), -Int64(characters.count)))
            return .string(String(count >= 0 ? characters.prefix(count) : characters.dropLast(-count)))
        }),
        (["right"], ScalarFunction("right", 2...2) { arguments throws(FunctionFailure) in
            let characters = Array(try Operators.string(arguments[0], "right"))
            let count = Int(clamping: max(min(try integer(arguments[1], "right"), Int64(characters.count)), -Int64(characters.count)))
            return .string(String(count >= 0 ? characters.suffix(count) : characters.dropFirst(-count)))
        }),
        (["replace"], ScalarFunction("replace", 3...3) { arguments throws(FunctionFailure) in
            let subject = try Operators.string(arguments[0], "replace")
            let target = try Operators.string(arguments[1], "replace")
            if target.isEmpty { return .string(subject) }
            return .string(subject.replacingOccurrences(of: target, with: try Operators.string(arguments[2], "replace")))
        }),
        (["trim"], text("trim") { .string($0.trimmingSpaces) }),
        (["ltrim"], text("ltrim") { .string(String($0.drop(while: { $0.isWhitespace }))) }),
        (["rtrim"], text("rtrim") { .string(String($0.reversed().drop(while: { $0.isWhitespace }).reversed())) }),
        (["reverse"], text("reverse") { .string(String($0.reversed())) }),
        (["repeat"], ScalarFunction("repeat", 2...2) { arguments throws(FunctionFailure) in
            let count = try integer(arguments[1], "repeat")
            let subject = try Operators.string(arguments[0], "repeat")
            if count > 1_000_000 || Int64(subject.utf8.count) * max(count, 0) > 100_000_000 {
                throw FunctionFailure(.outOfRange, "repeat: the result would be too large")
            }
            return .string(String(repeating: subject, count: Int(max(count, 0))))
        }),
        (["starts_with", "prefix"], ScalarFunction("starts_with", 2...2) { arguments throws(FunctionFailure) in
            .bool(try Operators.string(arguments[0], "starts_with").hasPrefix(try Operators.string(arguments[1], "starts_with")))
        }),
        (["ends_with", "suffix"], ScalarFunction("ends_with", 2...2) { arguments throws(FunctionFailure) in
            .bool(try Operators.string(arguments[0], "ends_with").hasSuffix(try Operators.string(arguments[1], "ends_with")))
        }),
        (["contains"], ScalarFunction("contains", 2...2) { arguments throws(FunctionFailure) in
            if case .list(let elements) = arguments[0] { return .bool(elements.contains { ValueOrder.compare($0, arguments[1]) == .equal }) }
            let needle = try Operators.string(arguments[1], "contains")
            let haystack = try Operators.string(arguments[0], "contains")
            return .bool(needle.isEmpty || haystack.contains(needle))
        }),
        (["strpos", "instr", "position"], ScalarFunction("strpos", 2...2) { arguments throws(FunctionFailure) in
            let haystack = try Operators.string(arguments[0], "strpos")
            let needle = try Operators.string(arguments[1], "strpos")
            if needle.isEmpty { return .int(1) }
            guard let range = haystack.range(of: needle) else { return .int(0) }
            return .int(Int64(haystack.distance(from: haystack.startIndex, to: range.lowerBound) + 1))
        }),
        (["split", "string_split", "str_split", "string_to_array"], ScalarFunction("string_split", 2...2) { arguments throws(FunctionFailure) in
            let subject = try Operators.string(arguments[0], "string_split")
            let separator = try Operators.string(arguments[1], "string_split")
            if separator.isEmpty { return .list(subject.map { .string(String($0)) }) }
            return .list(subject.components(separatedBy: separator).map(Value.string))
        }),
        (["lpad"], ScalarFunction("lpad", 3...3) { arguments throws(FunctionFailure) in
            try pad(arguments, left: true)
        }),
        (["rpad"], ScalarFunction("rpad", 3...3) { arguments throws(FunctionFailure) in
            try pad(arguments, left: false)
        }),
        (["regexp_matches"], ScalarFunction("regexp_matches", 2...2) { arguments throws(FunctionFailure) in
            .bool(try Patterns.regexMatches(try Operators.string(arguments[0], "regexp_matches"), try Operators.string(arguments[1], "regexp_matches")))
        }),
        (["regexp_replace"], ScalarFunction("regexp_replace", 3...4) { arguments throws(FunctionFailure) in
            let options = arguments.count > 3 ? try Operators.string(arguments[3], "regexp_replace") : ""
            return .string(try Patterns.regexReplace(
                try Operators.string(arguments[0], "regexp_replace"), try Operators.string(arguments[1], "regexp_replace"),
                try Operators.string(arguments[2], "regexp_replace"), global: options.contains("g")))
        }),
        (["regexp_extract"], ScalarFunction("regexp_extract", 2...3) { arguments throws(FunctionFailure) in
            let group = arguments.count > 2 ? try integer(arguments[2], "regexp_extract") : 0
            return .string(try Patterns.regexExtract(
                try Operators.string(arguments[0], "regexp_extract"), try Operators.string(arguments[1], "regexp_extract"), group: Int(group)))
        }),
        // Dates
        (["now", "current_timestamp", "get_current_timestamp"], ScalarFunction("now", 0...0) { _ in
            .timestamp(Int64(roundingChecked: Timestamp.now() * 1e6) ?? 0)
        }),
        (["date_trunc", "datetrunc"], ScalarFunction("date_trunc", 2...2) { arguments throws(FunctionFailure) in
            .timestamp(try Dates.truncate(try timestamp(arguments[1], "date_trunc"), to: try Operators.string(arguments[0], "date_trunc")))
        }),
        (["date_part", "datepart"], ScalarFunction("date_part", 2...2) { arguments throws(FunctionFailure) in
            try Dates.part(try timestamp(arguments[1], "date_part"), try Operators.string(arguments[0], "date_part"))
        }),
        (["year"], ScalarFunction("year", 1...1) { arguments throws(FunctionFailure) in try Dates.part(try timestamp(arguments[0], "year"), "year") }),
        (["month"], ScalarFunction("month", 1...1) { arguments throws(FunctionFailure) in try Dates.part(try timestamp(arguments[0], "month"), "month") }),
        (["day", "dayofmonth"], ScalarFunction("day", 1...1) { arguments throws(FunctionFailure) in try Dates.part(try timestamp(arguments[0], "day"), "day") }),
        (["hour"], ScalarFunction("hour", 1...1) { arguments throws(FunctionFailure) in try Dates.part(try timestamp(arguments[0], "hour"), "hour") }),
        (["epoch"], ScalarFunction("epoch", 1...1) { arguments throws(FunctionFailure) in
            .double(Double(try timestamp(arguments[0], "epoch")) / 1e6)
        }),
        (["to_timestamp"], ScalarFunction("to_timestamp", 1...1) { arguments throws(FunctionFailure) in
            let seconds = try number(arguments[0], "to_timestamp")
            guard seconds.isFinite, abs(seconds) < 9e12 else { throw FunctionFailure(.outOfRange, "to_timestamp: \(seconds) is out of range") }
            return Int64(roundingChecked: seconds * 1e6).map(Value.timestamp) ?? .null
        }),
        (["date_diff", "datediff"], ScalarFunction("date_diff", 3...3) { arguments throws(FunctionFailure) in
            // The number of `part` boundaries between the two (whole weeks for week), as DuckDB counts.
            let part = try Operators.string(arguments[0], "date_diff").lowercased()
            let start = try timestamp(arguments[1], "date_diff")
            let end = try timestamp(arguments[2], "date_diff")
            let from = Dates.civil(start)
            let to = Dates.civil(end)
            func boundaries(_ unit: String, _ size: Int64) throws(FunctionFailure) -> Int64 {
                Dates.floorDiv(try Dates.truncate(end, to: unit), size) - Dates.floorDiv(try Dates.truncate(start, to: unit), size)
            }
            switch part {
            case "year", "years", "y": return .int(to.year - from.year)
            case "quarter", "quarters": return .int((to.year * 4 + (to.month - 1) / 3) - (from.year * 4 + (from.month - 1) / 3))
            case "month", "months": return .int((to.year * 12 + to.month) - (from.year * 12 + from.month))
            case "week", "weeks", "w": return .int(try boundaries("day", Dates.microsPerDay) / 7)
            case "day", "days", "d": return .int(try boundaries("day", Dates.microsPerDay))
            case "hour", "hours", "h": return .int(try boundaries("hour", 3_600_000_000))
            case "minute", "minutes", "m": return .int(try boundaries("minute", 60_000_000))
            case "second", "seconds", "s": return .int(try boundaries("second", 1_000_000))
            default: throw FunctionFailure(.invalidInput, "date_diff: unknown part '\(part)' (expected year, quarter, month, week, day, hour, minute or second)")
            }
        }),
        // Lists
        (["list_contains", "list_has", "array_contains", "array_has"], ScalarFunction("list_contains", 2...2) { arguments throws(FunctionFailure) in
            .bool(try list(arguments[0], "list_contains").contains { ValueOrder.compare($0, arguments[1]) == .equal })
        }),
        (["list_extract", "list_element", "array_extract"], ScalarFunction("list_extract", 2...2) { arguments throws(FunctionFailure) in
            let elements = try list(arguments[0], "list_extract")
            let index = try integer(arguments[1], "list_extract")
            let position = index > 0 ? index - 1 : Int64(elements.count) + index
            return position >= 0 && position < elements.count ? elements[Int(position)] : .null
        }),
        (["list_sort", "array_sort"], ScalarFunction("list_sort", 1...1) { arguments throws(FunctionFailure) in
            .list(try list(arguments[0], "list_sort").sorted { ValueOrder.sortsBefore($0, $1, descending: false, nullsFirst: false) })
        }),
        (["list_distinct", "array_distinct"], ScalarFunction("list_distinct", 1...1) { arguments throws(FunctionFailure) in
            var seen: Set<Value> = []
            return .list(try list(arguments[0], "list_distinct").filter { !$0.isNull && seen.insert($0).inserted })
        }),
        (["list_concat", "array_concat", "list_cat"], ScalarFunction("list_concat", 2...2) { arguments throws(FunctionFailure) in
            .list(try list(arguments[0], "list_concat") + list(arguments[1], "list_concat"))
        }),
        (["list_sum"], ScalarFunction("list_sum", 1...1) { arguments throws(FunctionFailure) in
            let elements = try list(arguments[0], "list_sum").filter { !$0.isNull }
            if elements.isEmpty { return .null }
            var integerSum: Int64 = 0
            var exact = true
            for element in elements {
                guard case .int(let integer) = element else { exact = false; break }
                let (sum, overflow) = integerSum.addingReportingOverflow(integer)
                if overflow { exact = false; break }
                integerSum = sum
            }
            if exact { return .int(integerSum) }
            return .double(elements.compactMap(\.numeric).reduce(0, +))
        }),
        (["list_min"], ScalarFunction("list_min", 1...1) { arguments throws(FunctionFailure) in
            try list(arguments[0], "list_min").filter { !$0.isNull }.min { ValueOrder.sortsBefore($0, $1, descending: false, nullsFirst: false) } ?? .null
        }),
        (["list_max"], ScalarFunction("list_max", 1...1) { arguments throws(FunctionFailure) in
            try list(arguments[0], "list_max").filter { !$0.isNull }.min { ValueOrder.sortsBefore($0, $1, descending: true, nullsFirst: false) } ?? .null
        }),
        (["list_value", "list_pack"], ScalarFunction("list_value", 0...64, propagatesNull: false) { arguments in .list(arguments) }),
        (["array_to_string", "list_to_string", "array_join"], ScalarFunction("array_to_string", 2...2) { arguments throws(FunctionFailure) in
            let separator = try Operators.string(arguments[1], "array_to_string")
            return .string(try list(arguments[0], "array_to_string").filter { !$0.isNull }.map(Render.text).joined(separator: separator))
        }),
    ]

    private static func pad(_ arguments: [Value], left: Bool) throws(FunctionFailure) -> Value {
        let subject = Array(try Operators.string(arguments[0], left ? "lpad" : "rpad"))
        let width = try integer(arguments[1], left ? "lpad" : "rpad")
        let filler = Array(try Operators.string(arguments[2], left ? "lpad" : "rpad"))
        if width > 1_000_000 { throw FunctionFailure(.outOfRange, "pad: the width \(width) is too large") }
        let target = Int(max(width, 0))
        if subject.count >= target || filler.isEmpty { return .string(String(subject.prefix(target))) }
        let padding = (0..<(target - subject.count)).map { filler[$0 % filler.count] }
        return .string(left ? String(padding + subject) : String(subject + padding))
    }

    private static let table: [String: ScalarFunction] = {
        var table: [String: ScalarFunction] = [:]
        for (names, function) in definitions {
            for name in names { table[name] = function }
        }
        return table
    }()
}
