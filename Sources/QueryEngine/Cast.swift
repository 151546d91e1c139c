import ColumnIndex
import QuerySyntax
import RunStore

/// Conversions between types: `CAST`, `TRY_CAST`, `::`, and the implicit ones operators make.
enum Cast {
    /// The type a `TypeName` names (`INT`, `DOUBLE PRECISION`, `TEXT[]`, …).
    static func type(named typeName: TypeName) throws -> DataType {
        let base: DataType
        // Sizes and precisions (`DECIMAL(10, 2)`, `VARCHAR(20)`) do not change how values are held.
        let bareName = typeName.name.split(separator: "(", maxSplits: 1).first.map(String.init) ?? typeName.name
        switch bareName.trimmingSpaces.uppercased() {
        case "BOOLEAN", "BOOL", "LOGICAL": base = .boolean
        case "BIGINT", "INT", "INTEGER", "INT8", "INT4", "INT64", "LONG", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER":
            base = .bigint
        case "DOUBLE", "FLOAT", "REAL", "FLOAT8", "FLOAT4", "DOUBLE PRECISION", "DECIMAL", "NUMERIC": base = .double
        case "VARCHAR", "TEXT", "STRING", "CHAR", "BPCHAR": base = .varchar
        case "TIMESTAMP", "DATETIME", "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE", "DATE": base = .timestamp
        case "INTERVAL": base = .interval
        case "JSON": base = .object
        default:
            throw Diagnostic(.catalog, "Type with name \(typeName.name) does not exist!", at: typeName.span,
                             candidates: ["BOOLEAN", "BIGINT", "DOUBLE", "VARCHAR", "TIMESTAMP", "INTERVAL"].filter {
                                 Suggest.distance($0, typeName.name.uppercased()) <= 3
                             })
        }
        return typeName.isList ? .list(base) : base
    }

    /// `value` as `type`; nil when it cannot be converted (TRY_CAST's NULL, CAST's error).
    static func convert(_ value: Value, to type: DataType) -> Value? {
        if value.isNull { return .null }
        switch type {
        case .null, .any: return value
        case .boolean:
            switch value {
            case .bool: return value
            case .int(let integer): return .bool(integer != 0)
            case .double(let number): return number.isNaN ? nil : .bool(number != 0)
            case .string(let text):
                switch text.lowercased().trimmingSpaces {
                case "true", "t", "yes", "y", "1": return .bool(true)
                case "false", "f", "no", "n", "0": return .bool(false)
                default: return nil
                }
            default: return nil
            }
        case .bigint:
            switch value {
            case .int: return value
            case .bool(let flag): return .int(flag ? 1 : 0)
            case .double(let number):
                guard number.isFinite, let integer = Int64(exactly: number.rounded(.toNearestOrAwayFromZero)) else { return nil }
                return .int(integer)
            case .string(let text):
                let trimmed = text.trimmingSpaces
                if let integer = Int64(trimmed) { return .int(integer) }
                guard let number = Double(trimmed) else { return nil }
                return convert(.double(number), to: .bigint)
            case .timestamp(let micros): return .int(micros)
            default: return nil
            }
        case .double:
            switch value {
            case .double: return value
            case .int(let integer): return .double(Double(integer))
            case .bool(let flag): return .double(flag ? 1 : 0)
            case .string(let text): return parseDouble(text).map(Value.double)
            default: return nil
            }
        case .varchar:
            return .string(Render.text(value))
        case .timestamp:
            switch value {
            case .timestamp: return value
            case .string(let text): return timestampMicros(text).map(Value.timestamp)
            case .int(let seconds):
                let (micros, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000)
                return overflow ? nil : .timestamp(micros)
            case .double(let seconds): return Int64(roundingChecked: seconds * 1e6).map(Value.timestamp)
            default: return nil
            }
        case .interval:
            switch value {
            case .interval: return value
            case .string(let text): return parseInterval(text, unit: nil)
            default: return nil
            }
        case .list(let element):
            switch value {
            case .list(let elements):
                var converted: [Value] = []
                for item in elements {
                    guard let cast = convert(item, to: element) else { return nil }
                    converted.append(cast)
                }
                return .list(converted)
            case .string(let text):
                guard let parsed = try? JSONParser.parse(text), case .array = parsed else { return nil }
                return convert(Value(parsed), to: type)
            default: return nil
            }
        case .object:
            switch value {
            case .object: return value
            case .string(let text):
                guard let parsed = try? JSONParser.parse(text), case .object = parsed else { return nil }
                return Value(parsed)
            default: return nil
            }
        }
    }

    /// `1e-3`, `NaN`, `inf`, `-Infinity`, with surrounding spaces.
    static func parseDouble(_ text: String) -> Double? {
        let trimmed = text.trimmingSpaces
        switch trimmed.lowercased() {
        case "nan": return .nan
        case "inf", "infinity", "+inf", "+infinity": return .infinity
        case "-inf", "-infinity": return -.infinity
        default: return Double(trimmed)
        }
    }

    static func timestampMicros(_ text: String) -> Int64? {
        Timestamp.parse(text.trimmingSpaces).flatMap { Int64(roundingChecked: $0 * 1e6) }
    }

    /// `'7 days'`, `'1 hour 30 minutes'`, `'2'` with `unit` DAY, `'-3 months'`.
    static func parseInterval(_ text: String, unit: String?) -> Value? {
        let words = text.split(whereSeparator: { $0 == " " }).map(String.init)
        var interval = Interval()
        var index = 0
        while index < words.count {
            guard let amount = Double(words[index]) else { return nil }
            let unitWord: String
            if index + 1 < words.count {
                unitWord = words[index + 1]
                index += 2
            } else if let unit {
                unitWord = unit
                index += 1
            } else {
                return nil
            }
            guard let part = Cast.interval(amount, unit: unitWord), let sum = Dates.sum(interval, part) else { return nil }
            interval = sum
        }
        return index == 0 ? nil : .interval(interval)
    }

    /// `amount` of `unit` (`day`, `days`, `h`, `minute`, …).
    /// nil for an unknown unit, or an amount too large to hold.
    static func interval(_ amount: Double, unit: String) -> Interval? {
        func months(_ factor: Double) -> Interval? { Int64(roundingChecked: amount * factor).map { Interval(months: $0) } }
        func micros(_ factor: Double) -> Interval? { Int64(roundingChecked: amount * factor).map { Interval(micros: $0) } }
        switch unit.lowercased() {
        case "millennium", "millennia", "millenniums": return months(12_000)
        case "century", "centuries": return months(1_200)
        case "decade", "decades": return months(120)
        case "year", "years", "y", "yr", "yrs": return months(12)
        case "quarter", "quarters": return months(3)
        case "month", "months", "mon", "mons": return months(1)
        case "week", "weeks", "w": return Int64(roundingChecked: amount * 7).map { Interval(days: $0) }
        case "day", "days", "d":
            guard let whole = Int64(roundingChecked: amount.rounded(.towardZero)),
                let rest = Int64(roundingChecked: (amount - amount.rounded(.towardZero)) * 86_400e6)
            else { return nil }
            return Interval(days: whole, micros: rest)
        case "hour", "hours", "h", "hr", "hrs": return micros(3_600e6)
        case "minute", "minutes", "m", "min", "mins": return micros(60e6)
        case "second", "seconds", "s", "sec", "secs": return micros(1e6)
        case "millisecond", "milliseconds", "ms", "msec": return micros(1e3)
        case "microsecond", "microseconds", "us", "usec": return micros(1)
        default: return nil
        }
    }
}

extension String {
    var trimmingSpaces: String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}
