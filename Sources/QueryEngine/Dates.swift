import ColumnIndex
import RunStore

/// Calendar arithmetic on microsecond timestamps (UTC).
enum Dates {
    static let microsPerDay: Int64 = 86_400_000_000

    struct Civil {
        var year: Int64, month: Int64, day: Int64
        var hour: Int64, minute: Int64, second: Int64, micros: Int64
    }

    static func civil(_ micros: Int64) -> Civil {
        let days = floorDiv(micros, microsPerDay)
        let ofDay = micros - days * microsPerDay
        let date = Timestamp.civil(fromDays: days)
        let seconds = ofDay / 1_000_000
        return Civil(year: date.year, month: date.month, day: date.day, hour: seconds / 3600, minute: seconds / 60 % 60,
                     second: seconds % 60, micros: ofDay % 1_000_000)
    }

    static func micros(_ civil: Civil) -> Int64 {
        let days = Timestamp.days(fromCivil: civil.year, civil.month, civil.day)
        return days * microsPerDay + ((civil.hour * 60 + civil.minute) * 60 + civil.second) * 1_000_000 + civil.micros
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let quotient = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? quotient - 1 : quotient
    }

    /// Timestamps must stay within ±290,000 years of 1970 (what microseconds in 64 bits hold).
    static let yearLimit: Int64 = 290_000

    /// `micros + interval`, or an error when the result leaves the representable range.
    static func add(_ micros: Int64, _ interval: Interval) throws(FunctionFailure) -> Int64 {
        var failure: FunctionFailure { FunctionFailure(.outOfRange, "timestamp out of range: \(Render.text(.timestamp(micros))) + \(interval)") }
        var result = micros
        if interval.months != 0 {
            var parts = civil(result)
            guard interval.months.magnitude < UInt64(yearLimit * 24) else { throw failure }
            let totalMonths = parts.year * 12 + (parts.month - 1) + interval.months
            parts.year = floorDiv(totalMonths, 12)
            guard parts.year.magnitude < UInt64(yearLimit) else { throw failure }
            parts.month = totalMonths - parts.year * 12 + 1
            parts.day = min(parts.day, daysInMonth(parts.year, parts.month))
            result = self.micros(parts)
        }
        let (dayMicros, overflow1) = interval.days.multipliedReportingOverflow(by: microsPerDay)
        let (withDays, overflow2) = result.addingReportingOverflow(dayMicros)
        let (total, overflow3) = withDays.addingReportingOverflow(interval.micros)
        if overflow1 || overflow2 || overflow3 { throw failure }
        return total
    }

    /// The sum of two intervals, part by part; nil on overflow.
    static func sum(_ a: Interval, _ b: Interval) -> Interval? {
        let (months, overflow1) = a.months.addingReportingOverflow(b.months)
        let (days, overflow2) = a.days.addingReportingOverflow(b.days)
        let (micros, overflow3) = a.micros.addingReportingOverflow(b.micros)
        return overflow1 || overflow2 || overflow3 ? nil : Interval(months: months, days: days, micros: micros)
    }

    /// An interval times an integer, part by part; nil on overflow.
    static func product(_ a: Interval, _ factor: Int64) -> Interval? {
        let (months, overflow1) = a.months.multipliedReportingOverflow(by: factor)
        let (days, overflow2) = a.days.multipliedReportingOverflow(by: factor)
        let (micros, overflow3) = a.micros.multipliedReportingOverflow(by: factor)
        return overflow1 || overflow2 || overflow3 ? nil : Interval(months: months, days: days, micros: micros)
    }

    static func daysInMonth(_ year: Int64, _ month: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// `date_trunc('day', ts)` and the other parts.
    static func truncate(_ micros: Int64, to part: String) throws(FunctionFailure) -> Int64 {
        var parts = civil(micros)
        switch part.lowercased() {
        case "microsecond", "microseconds", "us": return micros
        case "millisecond", "milliseconds", "ms": parts.micros = parts.micros / 1000 * 1000
        case "second", "seconds", "s": parts.micros = 0
        case "minute", "minutes", "m": parts.micros = 0; parts.second = 0
        case "hour", "hours", "h": parts.micros = 0; parts.second = 0; parts.minute = 0
        case "day", "days", "d": parts.micros = 0; parts.second = 0; parts.minute = 0; parts.hour = 0
        case "week", "weeks", "w":
            let days = floorDiv(micros, microsPerDay)
            let weekday = ((days % 7) + 7 + 3) % 7  // 1970-01-01 was a Thursday; weeks start on Monday
            return (days - weekday) * microsPerDay
        case "month", "months": parts = Civil(year: parts.year, month: parts.month, day: 1, hour: 0, minute: 0, second: 0, micros: 0)
        case "quarter", "quarters":
            parts = Civil(year: parts.year, month: (parts.month - 1) / 3 * 3 + 1, day: 1, hour: 0, minute: 0, second: 0, micros: 0)
        case "year", "years", "y": parts = Civil(year: parts.year, month: 1, day: 1, hour: 0, minute: 0, second: 0, micros: 0)
        default: throw FunctionFailure(.invalidInput, "unknown date part '\(part)' (expected year, quarter, month, week, day, hour, minute, second)")
        }
        return self.micros(parts)
    }

    /// `date_part('year', ts)` and the other parts.
    static func part(_ micros: Int64, _ part: String) throws(FunctionFailure) -> Value {
        let parts = civil(micros)
        switch part.lowercased() {
        case "year", "years", "y": return .int(parts.year)
        case "quarter": return .int((parts.month - 1) / 3 + 1)
        case "month", "months": return .int(parts.month)
        case "day", "days", "d": return .int(parts.day)
        case "hour", "hours", "h": return .int(parts.hour)
        case "minute", "minutes", "m": return .int(parts.minute)
        case "second", "seconds", "s": return .int(parts.second)
        case "dow", "dayofweek": return .int(((floorDiv(micros, microsPerDay) % 7) + 7 + 4) % 7)
        case "doy", "dayofyear":
            return .int(floorDiv(micros, microsPerDay) - Timestamp.days(fromCivil: parts.year, 1, 1) + 1)
        case "epoch": return .double(Double(micros) / 1e6)
        default: throw FunctionFailure(.invalidInput, "unknown date part '\(part)'")
        }
    }
}
