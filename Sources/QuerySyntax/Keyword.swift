/// The words the parser gives a meaning to, recognised once per token (case-insensitively) so that
/// the parser compares small enum values instead of strings.
///
/// Only the reserved ones (`isReserved`) are barred from being bare column names and aliases; all
/// the others are also ordinary names (`name`, `type`, `left`, `filter`, `interval`, …).
enum Keyword: String, CaseIterable, Sendable {
    case all = "ALL", and = "AND", `as` = "AS", asc = "ASC", between = "BETWEEN", by = "BY"
    case `case` = "CASE", cast = "CAST", char = "CHAR", character = "CHARACTER", config = "CONFIG", cross = "CROSS"
    case current = "CURRENT", date = "DATE", desc = "DESC", describe = "DESCRIBE", distinct = "DISTINCT"
    case double = "DOUBLE", `else` = "ELSE", end = "END", escape = "ESCAPE", except = "EXCEPT", exclude = "EXCLUDE"
    case exists = "EXISTS", explain = "EXPLAIN", `false` = "FALSE", filter = "FILTER", first = "FIRST"
    case following = "FOLLOWING", from = "FROM", full = "FULL", group = "GROUP", having = "HAVING", history = "HISTORY"
    case ignore = "IGNORE", ilike = "ILIKE", `in` = "IN", inner = "INNER", intersect = "INTERSECT", interval = "INTERVAL", `is` = "IS"
    case join = "JOIN", keys = "KEYS", last = "LAST", left = "LEFT", like = "LIKE", limit = "LIMIT", metadata = "METADATA"
    case natural = "NATURAL", not = "NOT", null = "NULL", nulls = "NULLS", offset = "OFFSET", on = "ON", or = "OR"
    case order = "ORDER", outer = "OUTER", over = "OVER", partition = "PARTITION", preceding = "PRECEDING"
    case precision = "PRECISION", qualify = "QUALIFY", range = "RANGE", recursive = "RECURSIVE", respect = "RESPECT"
    case right = "RIGHT"
    case row = "ROW", rows = "ROWS", select = "SELECT", show = "SHOW", summary = "SUMMARY", tables = "TABLES"
    case then = "THEN", time = "TIME", timestamp = "TIMESTAMP", timestamptz = "TIMESTAMPTZ", `true` = "TRUE"
    case tryCast = "TRY_CAST", unbounded = "UNBOUNDED", union = "UNION", using = "USING", varying = "VARYING"
    case when = "WHEN", `where` = "WHERE", window = "WINDOW", with = "WITH", without = "WITHOUT", zone = "ZONE"
    // Interval units.
    case year = "YEAR", years = "YEARS", month = "MONTH", months = "MONTHS", week = "WEEK", weeks = "WEEKS"
    case day = "DAY", days = "DAYS", hour = "HOUR", hours = "HOURS", minute = "MINUTE", minutes = "MINUTES"
    case second = "SECOND", seconds = "SECONDS", millisecond = "MILLISECOND", milliseconds = "MILLISECONDS"
    case microsecond = "MICROSECOND", microseconds = "MICROSECONDS", quarter = "QUARTER", quarters = "QUARTERS"
    case decade = "DECADE", decades = "DECADES", century = "CENTURY", centuries = "CENTURIES"
    case millennium = "MILLENNIUM", millennia = "MILLENNIA"

    /// The keyword a bare word spells, in any letter case.
    init?(word: String) {
        guard word.utf8.count <= Keyword.longestWord, let keyword = Keyword.byText[Token.uppercasedASCII(word)] else { return nil }
        self = keyword
    }

    private static let byText: [String: Keyword] = Dictionary(uniqueKeysWithValues: allCases.map { ($0.rawValue, $0) })
    private static let longestWord = allCases.map(\.rawValue.utf8.count).max() ?? 0

    /// Words that cannot be a bare column name or alias (quote them: `"group"`).
    var isReserved: Bool {
        switch self {
        case .all, .and, .as, .between, .by, .case, .distinct, .else, .end, .except, .exists, .false, .from, .group,
             .having, .ilike, .in, .intersect, .is, .like, .limit, .not, .null, .offset, .on, .or, .order, .qualify,
             .select, .then, .true, .union, .using, .when, .where, .with:
            return true
        default:
            return false
        }
    }

    /// Words that continue a FROM clause, so cannot be a bare table alias.
    var isJoinWord: Bool {
        switch self {
        case .join, .inner, .left, .right, .full, .outer, .cross, .natural, .window: return true
        default: return false
        }
    }

    /// The units that may follow an INTERVAL's value.
    var isIntervalUnit: Bool {
        switch self {
        case .year, .years, .month, .months, .week, .weeks, .day, .days, .hour, .hours, .minute, .minutes, .second,
             .seconds, .millisecond, .milliseconds, .microsecond, .microseconds, .quarter, .quarters, .decade, .decades,
             .century, .centuries, .millennium, .millennia:
            return true
        default:
            return false
        }
    }

    /// The type names that make a typed literal before a string: `TIMESTAMP '2024-01-31'`.
    var isTypedLiteralType: Bool {
        switch self {
        case .date, .time, .timestamp, .timestamptz: return true
        default: return false
        }
    }

    /// The comparison-level words that `NOT` may precede: `NOT IN`, `NOT LIKE`, …
    var isNegatableComparison: Bool {
        switch self {
        case .between, .in, .like, .ilike: return true
        default: return false
        }
    }

    /// The words that may follow a query operand inside parentheses: `((SELECT 1) UNION …)`.
    var continuesQuery: Bool {
        switch self {
        case .union, .except, .intersect, .order, .limit, .offset: return true
        default: return false
        }
    }
}
