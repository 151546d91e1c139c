import Foundation
import Testing
@testable import QuerySyntax

// MARK: - Helpers shared by the QuerySyntax tests

/// Source text with the position markers 1️⃣…9️⃣ removed, and the UTF-8 offset where each marker stood.
func removingMarkers(_ marked: String) -> (source: String, offsets: [Int: Int]) {
    var source = String.UnicodeScalarView()
    var offsets: [Int: Int] = [:]
    var utf8Count = 0
    let scalars = Array(marked.unicodeScalars)
    var scalarIndex = 0
    while scalarIndex < scalars.count {
        let scalar = scalars[scalarIndex]
        if scalarIndex + 2 < scalars.count, ("1"..."9").contains(scalar), scalars[scalarIndex + 1] == "\u{FE0F}", scalars[scalarIndex + 2] == "\u{20E3}" {
            offsets[Int(scalar.value) - 0x30] = utf8Count
            scalarIndex += 3
            continue
        }
        source.append(scalar)
        utf8Count += String(scalar).utf8.count
        scalarIndex += 1
    }
    return (String(source), offsets)
}

/// The span from marker 1️⃣ to marker 2️⃣ (or an empty span at 1️⃣ when there is no 2️⃣).
func markedSpan(_ offsets: [Int: Int]) -> SourceSpan? {
    guard let start = offsets[1] else { return nil }
    return SourceSpan(start: start, end: offsets[2] ?? start)
}

/// Parses one statement, which must be a query, and returns it.
func parseQuery(_ source: String) throws -> Query {
    let statements = try Parser.parse(source)
    guard statements.count == 1, case .query(let query) = statements[0] else {
        throw Diagnostic(.parser, "expected exactly one query in \(source)")
    }
    return query
}

/// The first select item's expression of a one-SELECT query.
func firstExpression(_ source: String) throws -> Expr {
    let query = try parseQuery(source)
    guard case .select(let core) = query.body, case .expression(let expression, _) = core.items.first else {
        throw Diagnostic(.parser, "expected an expression item in \(source)")
    }
    return expression
}

/// The source text covered by `span`.
func text(_ source: String, _ span: SourceSpan) -> String {
    String(decoding: Array(source.utf8)[span.start..<span.end], as: UTF8.self)
}

/// Checks `parse(print(ast)) == ast` (spans aside) and that printing is a fixed point.
func expectRoundTrip(_ source: String, sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        let statements = try Parser.parse(source)
        let printed = ASTPrinter.print(statements)
        let reparsed = try Parser.parse(printed)
        #expect(reparsed.map { $0.withoutSpans() } == statements.map { $0.withoutSpans() }, "\(source)\nprinted as\n\(printed)", sourceLocation: sourceLocation)
        #expect(ASTPrinter.print(reparsed) == printed, sourceLocation: sourceLocation)
    } catch {
        Issue.record("\(source)\n\(error)", sourceLocation: sourceLocation)
    }
}

/// The everyday queries shipped in Samples/queries.
func sampleQueries() throws -> [String] {
    let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Samples/queries")
    let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".sql") }.sorted()
    return try files.map { try String(contentsOf: directory.appendingPathComponent($0), encoding: .utf8) }
}

/// A small seeded random number generator (SplitMix64), so that fuzz inputs are the same on every run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}

/// Queries covering every construct of the language; each must parse and round-trip.
let roundTripCorpus: [String] = [
    // PRODUCT.md §1
    "SELECT name, val_f1 FROM runs WHERE state='finished' ORDER BY val_f1 DESC LIMIT 10",
    "SELECT name, config.learning_rate, summary.\"val/f1\" FROM runs",
    "SELECT config.lr, count(*), avg(val_f1), stddev(val_f1) FROM runs GROUP BY ALL ORDER BY 3 DESC;",
    "SELECT run.name, arg_max(_step, \"val/acc\") AS best_step, max(\"val/acc\") FROM history GROUP BY run.name;",
    "SELECT name, version FROM upstream('bert-classifier:production') WHERE type = 'dataset';",
    // statements
    "SHOW TABLES", "show tables;", "SHOW KEYS", "SHOW KEYS config", "show keys SUMMARY", "SHOW KEYS history",
    "DESCRIBE runs", "describe \"history\"", "EXPLAIN SELECT 1", "EXPLAIN WITH t AS (SELECT 1) SELECT * FROM t",
    "SELECT 1; SELECT 2;; ;SELECT 3", ";;", "",
    // select lists
    "SELECT *", "SELECT * FROM runs", "SELECT DISTINCT project FROM runs", "SELECT ALL project FROM runs",
    "SELECT r.* FROM runs r", "SELECT config.*, summary.* FROM runs", "SELECT a.b.c.* FROM t",
    "SELECT * EXCLUDE (config, summary) FROM runs", "SELECT * EXCLUDE notes FROM runs", "SELECT config.* EXCLUDE (seed) FROM runs",
    "SELECT \"weird\"\"name\".* FROM t", "SELECT val_f1 AS f1, val_f1 f2, val_f1 AS \"F 1\", val_f1 \"x\" FROM runs",
    "SELECT 1 AS from, 2 AS select, 3 AS \"group\"", "SELECT \"group\", name, state, project, version, type, user, host, notes, tags FROM runs",
    "SELECT left(name, 3), right(name, 2), replace(name, 'a', 'b'), filter, over, window, keys, tables FROM runs",
    // FROM and joins
    "SELECT * FROM runs AS r", "SELECT * FROM runs r JOIN history h ON h.run_id = r.id",
    "SELECT * FROM runs r INNER JOIN history h USING (run_id)", "SELECT * FROM runs r LEFT JOIN history h ON r.id = h.run_id",
    "SELECT * FROM runs r LEFT OUTER JOIN history h USING (run_id, \"_step\")", "SELECT * FROM runs CROSS JOIN history",
    "SELECT * FROM runs, history, artifacts", "SELECT * FROM a JOIN (b JOIN c ON b.x = c.x) ON a.y = b.y",
    "SELECT * FROM (a JOIN b ON a.x = b.x) LEFT JOIN c USING (z)", "SELECT * FROM (SELECT 1 AS x) AS t", "SELECT * FROM (SELECT 1) t",
    "SELECT * FROM (SELECT 1)", "SELECT * FROM ((SELECT 1)) t", "SELECT * FROM ((SELECT 1) UNION ALL (SELECT 2)) AS u",
    "SELECT * FROM ((SELECT 1) ORDER BY 1 LIMIT 1) AS u", "SELECT * FROM (WITH a AS (SELECT 1) SELECT * FROM a) w",
    "SELECT * FROM upstream('bert:production') AS u", "SELECT * FROM downstream('data:v1') d", "SELECT * FROM now()",
    "SELECT * FROM runs \"r\" JOIN history AS \"h\" ON \"r\".id = \"h\".run_id",
    // clauses
    "SELECT project, count(*) FROM runs WHERE state = 'finished' GROUP BY project HAVING count(*) > 2 ORDER BY 2 DESC, 1",
    "SELECT project, max(val_f1) FROM runs GROUP BY project, state", "SELECT project FROM runs GROUP BY ALL HAVING max(x) > 0",
    "SELECT name, row_number() OVER (PARTITION BY project ORDER BY val_f1 DESC) AS rank FROM runs QUALIFY rank <= 3",
    "SELECT name FROM runs ORDER BY val_f1 DESC NULLS FIRST, name ASC NULLS LAST, created_at NULLS LAST",
    "SELECT name FROM runs LIMIT 10 OFFSET 20", "SELECT name FROM runs OFFSET 20 LIMIT 10", "SELECT name FROM runs OFFSET 5",
    "SELECT name FROM runs LIMIT 2 * 5",
    // WITH and set operations
    "WITH best AS (SELECT * FROM runs WHERE val_f1 > 0.9) SELECT name FROM best",
    "WITH a AS (SELECT 1 AS x), b AS (SELECT x + 1 AS y FROM a) SELECT * FROM a, b",
    "WITH RECURSIVE up AS (SELECT 1) SELECT 1",
    "WITH RECURSIVE lineage AS (SELECT id, parent FROM edges WHERE id = 'x' UNION ALL SELECT e.id, e.parent FROM edges e JOIN lineage l ON e.id = l.parent) SELECT * FROM lineage",
    "SELECT 1 UNION SELECT 2", "SELECT 1 UNION ALL SELECT 2 UNION SELECT 3", "SELECT 1 EXCEPT SELECT 2", "SELECT 1 INTERSECT SELECT 2",
    "SELECT 1 UNION SELECT 2 INTERSECT SELECT 3", "SELECT 1 INTERSECT SELECT 2 UNION SELECT 3", "SELECT 1 UNION DISTINCT SELECT 2",
    "SELECT 1 INTERSECT ALL SELECT 2 EXCEPT ALL SELECT 3", "(SELECT 1) UNION (SELECT 2) ORDER BY 1 LIMIT 1",
    "(SELECT 1 ORDER BY 1 LIMIT 1) UNION ALL (SELECT 2 LIMIT 1)", "SELECT 1 UNION (SELECT 2 UNION SELECT 3)", "(SELECT 1)", "((SELECT 1))",
    "SELECT a FROM t UNION SELECT b FROM u ORDER BY 1 DESC LIMIT 5 OFFSET 1",
    // literals
    "SELECT 0, 42, 9223372036854775807, 9223372036854775808, 99999999999999999999999, 0.5, .5, 1., 1e-3, 2E+5, 1.5e10, 1e999999",
    "SELECT 'text', '', 'it''s', 'multi\nline', TRUE, false, NULL, 'ünïcödé ✓'",
    "SELECT -1, - 1, +2, -(-3), - -4, -x, -0.5, -9223372036854775808",
    // operators and precedence
    "SELECT 1 + 2 * 3 - 4 / 5 // 6 % 7", "SELECT (1 + 2) * 3", "SELECT 1 - (2 - 3)", "SELECT 1 - 2 - 3", "SELECT a || b || 'c'",
    "SELECT 'x' || 1 + 2", "SELECT (a || b) + 1", "SELECT a = b, a == b, a <> b, a != b, a < b, a <= b, a > b, a >= b",
    "SELECT name ~ '^bert', name !~ 'test$' FROM runs", "SELECT a AND b OR c AND NOT d", "SELECT (a OR b) AND c",
    "SELECT NOT a = b", "SELECT NOT NOT x", "SELECT NOT (a AND b)", "SELECT a OR NOT b AND c",
    "SELECT a IS NULL, a IS NOT NULL, a IS DISTINCT FROM b, a IS NOT DISTINCT FROM b, a IS TRUE, a IS NOT FALSE",
    "SELECT x BETWEEN 1 AND 2, x NOT BETWEEN 1 + 1 AND 3 AND y",
    "SELECT x IN (1, 2, 3), x NOT IN ('a'), x IN (SELECT y FROM t), x NOT IN (WITH q AS (SELECT 1) SELECT * FROM q)",
    "SELECT 'bert' IN tags, 'bert' NOT IN tags, x IN tags || other, x IN [1, 2]",
    "SELECT x IN ((SELECT 1) UNION SELECT 2), x IN ((SELECT 1)), x IN ((SELECT 1), 2)",
    "SELECT name LIKE 'bert%', name NOT LIKE '%x', name ILIKE 'BERT%', name NOT ILIKE 'a', name LIKE 'a!%' ESCAPE '!'",
    "SELECT a = b IS NULL", "SELECT (a = b) = c", "SELECT a < b = true", "SELECT a BETWEEN b AND c IS NULL",
    "SELECT x::INTEGER, x::DOUBLE PRECISION, x::VARCHAR[], x::DECIMAL(10, 2), x::TIMESTAMP WITH TIME ZONE, -x::INT",
    "SELECT CAST(x AS DOUBLE), TRY_CAST(x AS INT), CAST(x AS VARCHAR(10)), CAST(y AS character varying), TRY_CAST(z AS int[])",
    "SELECT DATE '2024-01-31', TIMESTAMP '2024-01-31 12:00:00', TIME '12:00', TIMESTAMPTZ '2024-01-01 00:00+00'",
    "SELECT tags[1], tags[1][2], (tags)[i + 1], [1, 2, 3][2], [], [[1], [2, 3]], f(x)[1], x::INT[][1]",
    // functions
    "SELECT count(*), count(DISTINCT project), count(ALL x), sum(x), now(), string_agg(name, ', ' ORDER BY name DESC)",
    "SELECT count(*) FILTER (WHERE state = 'finished'), sum(x) FILTER (WHERE y > 1) AS s FROM runs",
    "SELECT rank() OVER (ORDER BY val_f1 DESC), lag(x, 1) OVER (PARTITION BY run_id ORDER BY _step), sum(x) OVER ()",
    "SELECT avg(loss) OVER (PARTITION BY run.id ORDER BY _step ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) FROM history",
    "SELECT min(x) OVER (ORDER BY t ROWS UNBOUNDED PRECEDING), max(x) OVER (ORDER BY t RANGE BETWEEN INTERVAL 7 DAY PRECEDING AND INTERVAL 1 DAY FOLLOWING)",
    "SELECT max(x) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING), first(x) OVER (ROWS BETWEEN CURRENT ROW AND 2 FOLLOWING)",
    "SELECT last_value(x IGNORE NULLS) OVER (PARTITION BY run_id ORDER BY _step), lag(x, 2 IGNORE NULLS) OVER (ORDER BY t) FROM history",
    "SELECT count(*) FILTER (WHERE x) OVER (PARTITION BY a, b)", "SELECT \"quoted fn\"(1)", "SELECT quantile(x, 0.9), median(x), list(x)",
    "SELECT arg_max(name, val_f1), isnan(x), isinf(y), coalesce(a, b, 0), greatest(1, 2)",
    // CASE, INTERVAL, subqueries, EXISTS
    "SELECT CASE WHEN x > 1 THEN 'big' WHEN x > 0 THEN 'small' ELSE 'none' END",
    "SELECT CASE state WHEN 'finished' THEN 1 ELSE 0 END, CASE WHEN a THEN b END",
    "SELECT now() - INTERVAL 7 DAY, INTERVAL '7 days', INTERVAL '1' HOUR, INTERVAL (n * 2) DAY, INTERVAL 1.5 HOURS, INTERVAL (-1) DAY",
    "SELECT (SELECT max(created_at) FROM runs) - INTERVAL 30 DAY", "SELECT ((SELECT 1) UNION SELECT 2)", "SELECT ((SELECT 1) ORDER BY 1)",
    "SELECT ((SELECT 1)) + 1", "SELECT (SELECT 1) + (SELECT 2)",
    "SELECT EXISTS (SELECT 1), NOT EXISTS (SELECT 1 FROM runs), NOT (EXISTS (SELECT 1)), EXISTS ((SELECT 1))",
    "SELECT NOT EXISTS (SELECT 1) = TRUE", "SELECT * FROM runs r WHERE NOT EXISTS (SELECT 1 FROM history h WHERE h.run_id = r.id)",
    // names
    "SELECT config.model.arch, config.\"a.b\", summary.\"val/f1\", \"val/f1\", t.from, run.\"select\" FROM runs",
    "SELECT Name, NAME, name FROM RUNS", "select distinct project from runs where val_f1 > 0.5 order by project desc limit 3",
    "SELECT /* a comment */ 1 -- trailing comment\n FROM /* nested /* comment */ here */ runs",
    "SELECT\tname\r\nFROM\u{A0}runs", "SELECT ünïcödé FROM t", "SELECT _x, x1, x$y FROM t",
]

@Suite struct ParserTests {
    // MARK: Round trips

    @Test(arguments: roundTripCorpus)
    func roundTrips(source: String) {
        expectRoundTrip(source)
    }

    @Test func sampleQueriesParseAndRoundTrip() throws {
        let samples = try sampleQueries()
        #expect(samples.count >= 8)
        for sample in samples {
            expectRoundTrip(sample)
        }
    }

    @Test func printsCanonicalText() throws {
        let cases: [(String, String)] = [
            ("select name from runs where state='finished' order by val_f1 desc limit 10",
             "SELECT name FROM runs WHERE state = 'finished' ORDER BY val_f1 DESC LIMIT 10;"),
            ("SELECT (1 + 2) * 3, 1 + (2 * 3), (a AND b) OR c", "SELECT (1 + 2) * 3, 1 + 2 * 3, a AND b OR c;"),
            ("SELECT x::int, 'it''s', \"a\"\"b\"", "SELECT CAST(x AS int), 'it''s', \"a\"\"b\";"),
            ("SELECT * FROM a, b", "SELECT * FROM a CROSS JOIN b;"),
            ("SELECT a IS TRUE", "SELECT a IS NOT DISTINCT FROM TRUE;"),
            ("SELECT 1; show keys", "SELECT 1;\nSHOW KEYS;"),
            ("SELECT avg(x) OVER (ORDER BY t ROWS 2 PRECEDING)", "SELECT avg(x) OVER (ORDER BY t ROWS BETWEEN 2 PRECEDING AND CURRENT ROW);"),
        ]
        for (source, expected) in cases {
            #expect(ASTPrinter.print(try Parser.parse(source)) == expected)
        }
    }

    // MARK: Structure

    @Test func precedenceFollowsTheTable() throws {
        let cases: [(String, String)] = [
            ("1 + 2 * 3", "1 + 2 * 3"),
            ("a OR b AND c", "a OR b AND c"),
            ("NOT a = b", "NOT a = b"),
            ("-x::INT", "-CAST(x AS INT)"),
        ]
        for (source, expected) in cases {
            #expect(ASTPrinter.print(try Parser.parseExpression(source)) == expected)
        }
        // 1 + 2 * 3 is 1 + (2 * 3)
        guard case .binary(.add, _, let right) = try Parser.parseExpression("1 + 2 * 3").kind else {
            Issue.record("expected addition at the top")
            return
        }
        #expect(right.kind.withoutSpans() == .binary(.multiply, Expr(.literal(.integer(2)), span: SourceSpan(start: 0, end: 0)), Expr(.literal(.integer(3)), span: SourceSpan(start: 0, end: 0))))
        // a - b - c is (a - b) - c
        guard case .binary(.subtract, let left, _) = try Parser.parseExpression("a - b - c").kind, case .binary(.subtract, _, _) = left.kind else {
            Issue.record("expected left associativity")
            return
        }
        // NOT a AND b is (NOT a) AND b
        guard case .binary(.and, let notA, _) = try Parser.parseExpression("NOT a AND b").kind, case .unary(.not, _) = notA.kind else {
            Issue.record("expected NOT to bind tighter than AND")
            return
        }
        // x BETWEEN 1 AND 2 AND y is (x BETWEEN 1 AND 2) AND y
        guard case .binary(.and, let between, _) = try Parser.parseExpression("x BETWEEN 1 AND 2 AND y").kind, case .between = between.kind else {
            Issue.record("expected BETWEEN's AND to be its own")
            return
        }
        // UNION and EXCEPT are left-associative; INTERSECT binds tighter
        let query = try parseQuery("SELECT 1 UNION SELECT 2 INTERSECT SELECT 3 EXCEPT SELECT 4")
        guard case .setOperation(.except, _, let unionPart, _, _) = query.body, case .setOperation(.union, _, _, let intersectPart, _) = unionPart,
              case .setOperation(.intersect, _, _, _, _) = intersectPart else {
            Issue.record("unexpected set operation tree: \(ASTPrinter.print(query))")
            return
        }
    }

    @Test func membershipFormsAreDistinguished() throws {
        #expect(ASTPrinter.print(try Parser.parseExpression("'bert' IN tags")) == "'bert' IN tags")
        if case .inExpression(_, let list, negated: false) = try Parser.parseExpression("'bert' IN tags").kind {
            #expect(list.kind.withoutSpans() == .column([Name("tags", span: SourceSpan(start: 0, end: 0))]))
        } else {
            Issue.record("expected inExpression")
        }
        if case .inList(_, let items, negated: true) = try Parser.parseExpression("x NOT IN (1, 2)").kind {
            #expect(items.count == 2)
        } else {
            Issue.record("expected a negated inList")
        }
        if case .inSubquery(_, _, negated: false) = try Parser.parseExpression("x IN (SELECT y FROM t)").kind {} else {
            Issue.record("expected inSubquery")
        }
        if case .inSubquery(_, let query, negated: false) = try Parser.parseExpression("x IN ((SELECT 1) UNION SELECT 2)").kind {
            #expect(ASTPrinter.print(query) == "(SELECT 1) UNION SELECT 2")
        } else {
            Issue.record("expected inSubquery of a union")
        }
        if case .exists(_, negated: true) = try Parser.parseExpression("NOT EXISTS (SELECT 1)").kind {} else {
            Issue.record("expected a negated exists")
        }
        if case .unary(.not, let operand) = try Parser.parseExpression("NOT (EXISTS (SELECT 1))").kind, case .exists(_, negated: false) = operand.kind {} else {
            Issue.record("expected NOT around a parenthesised EXISTS")
        }
    }

    @Test func literalsHaveTheirTypes() throws {
        let expected: [(String, Literal)] = [
            ("42", .integer(42)), ("9223372036854775807", .integer(.max)), ("9223372036854775808", .double(9223372036854775808)),
            ("99999999999999999999999", .double(1e23)), ("0.5", .double(0.5)), (".5", .double(0.5)), ("1e-3", .double(0.001)),
            ("2E+5", .double(200_000)), ("1e999999", .double(.infinity)), ("'it''s'", .string("it's")), ("TRUE", .bool(true)),
            ("false", .bool(false)), ("NULL", .null), ("-9223372036854775808", .integer(.min)),
        ]
        for (source, literal) in expected {
            #expect(try Parser.parseExpression(source).kind == .literal(literal), "\(source)")
        }
    }

    @Test func namesKeepHowTheyWereWritten() throws {
        let expression = try firstExpression("SELECT Config.\"model\".Arch")
        guard case .column(let path) = expression.kind else {
            Issue.record("expected a column path")
            return
        }
        #expect(path.map(\.text) == ["Config", "model", "Arch"])
        #expect(path.map(\.quoted) == [false, true, false])
        let star = try parseQuery("SELECT t.\"a b\".* EXCLUDE (x, \"Y\") FROM t")
        guard case .select(let core) = star.body, case .star(let qualifier, let exclude, _) = core.items[0] else {
            Issue.record("expected a star item")
            return
        }
        #expect(qualifier.map(\.text) == ["t", "a b"])
        #expect(exclude.map(\.text) == ["x", "Y"])
        #expect(exclude.map(\.quoted) == [false, true])
    }

    @Test func intervalsKeepTheirUnit() throws {
        let cases: [(String, String?)] = [("INTERVAL 7 DAY", "DAY"), ("INTERVAL '7 days'", nil), ("INTERVAL '1' hour", "hour"), ("INTERVAL (n) Days", "Days")]
        for (source, unit) in cases {
            guard case .interval(_, let parsedUnit) = try Parser.parseExpression(source).kind else {
                Issue.record("expected an interval: \(source)")
                continue
            }
            #expect(parsedUnit?.text == unit)
        }
    }

    @Test func typedLiteralsAndTypeNames() throws {
        guard case .cast(let value, let type, isTry: false) = try Parser.parseExpression("TIMESTAMP '2024-01-31'").kind else {
            Issue.record("expected a cast")
            return
        }
        #expect(value.kind == .literal(.string("2024-01-31")))
        #expect(type.name == "TIMESTAMP")
        let types: [(String, String, Bool)] = [
            ("x::double precision", "double precision", false), ("x::INT[]", "INT", true), ("CAST(x AS DECIMAL(10, 2))", "DECIMAL(10,2)", false),
            ("TRY_CAST(x AS TIMESTAMP WITH TIME ZONE)", "TIMESTAMP WITH TIME ZONE", false),
        ]
        for (source, name, isList) in types {
            guard case .cast(_, let type, _) = try Parser.parseExpression(source).kind else {
                Issue.record("expected a cast: \(source)")
                continue
            }
            #expect(type.name == name)
            #expect(type.isList == isList)
        }
    }

    @Test func functionCallParts() throws {
        let expression = try Parser.parseExpression("string_agg(DISTINCT name, ', ' ORDER BY name DESC NULLS FIRST) FILTER (WHERE x) OVER (PARTITION BY a ORDER BY b ROWS BETWEEN 1 PRECEDING AND 2 FOLLOWING)")
        guard case .function(let call) = expression.kind else {
            Issue.record("expected a function call")
            return
        }
        #expect(call.name.text == "string_agg")
        #expect(call.distinct && !call.star)
        #expect(call.arguments.count == 2)
        #expect(call.orderBy.count == 1 && call.orderBy[0].descending && call.orderBy[0].nullsFirst == true)
        #expect(call.filter != nil)
        #expect(call.over?.partitionBy.count == 1)
        #expect(call.over?.frame?.unit == .rows)
        if case .preceding = call.over?.frame?.start, case .following = call.over?.frame?.end {} else {
            Issue.record("unexpected frame")
        }
        guard case .function(let countStar) = try Parser.parseExpression("count(*)").kind else {
            Issue.record("expected count(*)")
            return
        }
        #expect(countStar.star && countStar.arguments.isEmpty)
    }

    @Test func statementsAndTheirSpans() throws {
        let (source, offsets) = removingMarkers("1️⃣SHOW KEYS config2️⃣; 3️⃣DESCRIBE runs4️⃣;5️⃣EXPLAIN SELECT 16️⃣;;")
        let statements = try Parser.parse(source)
        #expect(statements.count == 3)
        #expect(statements[0] == .showKeys(section: Name("config", span: SourceSpan(start: 10, end: 16)), span: SourceSpan(start: offsets[1]!, end: offsets[2]!)))
        #expect(statements[1].span == SourceSpan(start: offsets[3]!, end: offsets[4]!))
        #expect(statements[2].span == SourceSpan(start: offsets[5]!, end: offsets[6]!))
        #expect(try Parser.parse("").isEmpty)
        #expect(try Parser.parse(" ;; -- only a comment\n").isEmpty)
    }

    // MARK: Spans

    @Test func spansCoverTheirText() throws {
        let source = "SELECT a.b + f(x) * 2 AS y, (c - 1), CASE WHEN z THEN 1 END FROM runs r WHERE 'bert' IN tags ORDER BY 1"
        let query = try parseQuery(source)
        #expect(query.span == SourceSpan(start: 0, end: source.utf8.count))
        guard case .select(let core) = query.body else {
            Issue.record("expected a SELECT")
            return
        }
        #expect(text(source, core.span) == source.replacingOccurrences(of: " ORDER BY 1", with: ""))
        let texts = core.items.compactMap { item -> String? in
            if case .expression(let expression, _) = item { return text(source, expression.span) }
            return nil
        }
        #expect(texts == ["a.b + f(x) * 2", "(c - 1)", "CASE WHEN z THEN 1 END"])
        #expect(core.from.map { text(source, $0.span) } == "runs r")
        #expect(core.whereClause.map { text(source, $0.span) } == "'bert' IN tags")
    }

    @Test func spansMarkedInline() throws {
        let cases = [
            "SELECT 1️⃣x IS NOT NULL2️⃣ FROM t",
            "SELECT 1️⃣x NOT BETWEEN 1 AND 22️⃣",
            "SELECT 1️⃣x IN (1, 2)2️⃣",
            "SELECT 1️⃣name LIKE 'a!%' ESCAPE '!'2️⃣",
            "SELECT 1️⃣count(*) FILTER (WHERE x) OVER (ORDER BY y)2️⃣ AS n",
            "SELECT 1️⃣CAST(x AS DOUBLE PRECISION)2️⃣",
            "SELECT 1️⃣x::VARCHAR[]2️⃣",
            "SELECT 1️⃣tags[1]2️⃣",
            "SELECT 1️⃣INTERVAL '1' HOUR2️⃣",
            "SELECT 1️⃣NOT EXISTS (SELECT 1)2️⃣",
            "SELECT 1️⃣(SELECT 1)2️⃣",
            "SELECT 1️⃣-x2️⃣",
            "SELECT 1️⃣[1, 2]2️⃣",
            "SELECT 1️⃣\"val/f1\"2️⃣",
            "SELECT 1️⃣summary.\"val/f1\"2️⃣ AS f1",
            "SELECT 1️⃣TIMESTAMP '2024-01-01'2️⃣",
        ]
        for marked in cases {
            let (source, offsets) = removingMarkers(marked)
            #expect(try firstExpression(source).span == markedSpan(offsets), "\(marked)")
        }
        let (source, offsets) = removingMarkers("SELECT * FROM 1️⃣runs r JOIN history h ON r.id = h.run_id2️⃣ WHERE x")
        guard case .select(let core) = try parseQuery(source).body else { return }
        #expect(core.from?.span == markedSpan(offsets))
        let (unionSource, unionOffsets) = removingMarkers("1️⃣SELECT 1 UNION (SELECT 2)2️⃣ ORDER BY 1")
        #expect(try parseQuery(unionSource).body.span == markedSpan(unionOffsets))
    }

    // MARK: Errors

    @Test func errorsHaveMessagesAndSpans() {
        let cases: [(String, String)] = [
            ("SELECT 1️⃣FROM2️⃣ runs", "syntax error at or near \"FROM\""),
            ("SELECT name FROM runs WHERE1️⃣", "syntax error at end of input"),
            ("SELECT name FROM runs WHERE 1️⃣2️⃣", "syntax error at end of input"),
            ("SELECT (1 + 2 1️⃣FROM2️⃣ runs", "expected ')' to close '(', found \"FROM\""),
            ("SELECT * FROM (SELECT 11️⃣", "expected ')' to close '(', found end of input"),
            ("SELECT [1, 2 1️⃣FROM2️⃣", "expected ']' to close '[', found \"FROM\""),
            ("SELECT 1️⃣'2️⃣abc", "unterminated quoted string"),
            ("SELECT 1️⃣\"2️⃣abc", "unterminated quoted identifier"),
            ("SELECT 1️⃣\"\"2️⃣", "zero-length delimited identifier at or near \"\"\"\""),
            ("SELECT 1 1️⃣/*2️⃣ unclosed /* */", "unterminated /* comment"),
            ("SELECT 1️⃣#2️⃣", "syntax error at or near \"#\""),
            ("SELECT 1️⃣\u{7}2️⃣", "invalid character U+0007"),
            ("SELECT 1️⃣12abc2️⃣", "trailing junk after numeric literal at or near \"12abc\""),
            ("SELECT * FROM runs 1️⃣RIGHT2️⃣ JOIN history USING (run_id)", "RIGHT JOIN is not supported: swap the two tables and use LEFT JOIN"),
            ("SELECT * FROM runs 1️⃣full2️⃣ JOIN history USING (run_id)", "FULL JOIN is not supported: use JOIN or LEFT JOIN with ON or USING"),
            ("SELECT * FROM a JOIN b 1️⃣WHERE2️⃣ x", "expected ON or USING after JOIN, found \"WHERE\""),
            ("SELECT CASE WHEN x THEN 1 1️⃣", "expected END to close CASE, found end of input"),
            ("SELECT CASE x 1️⃣ELSE2️⃣ 1 END", "expected WHEN in CASE, found \"ELSE\""),
            ("SELECT x IS 1️⃣52️⃣", "expected NULL, DISTINCT FROM, TRUE or FALSE after IS, found \"5\""),
            ("SELECT a FROM t LIMIT 1 1️⃣LIMIT2️⃣ 2", "syntax error at or near \"LIMIT\""),
            ("SHOW 1️⃣COLUMNS2️⃣", "expected TABLES or KEYS after SHOW, found \"COLUMNS\""),
            ("SHOW KEYS 1️⃣artifacts2️⃣", "expected CONFIG, SUMMARY, HISTORY or METADATA after SHOW KEYS, found \"artifacts\""),
            ("SELECT count(*) FROM runs GROUP 1️⃣name2️⃣", "expected BY after GROUP, found \"name\""),
            ("1️⃣DROP2️⃣ TABLE runs", "syntax error at or near \"DROP\""),
            ("SELECT x = 1️⃣NOT2️⃣ y", "syntax error at or near \"NOT\""),
            ("SELECT 1 UNION 1️⃣22️⃣", "syntax error at or near \"2\""),
            ("SELECT a b 1️⃣c2️⃣", "syntax error at or near \"c\""),
            ("WITH t AS 1️⃣SELECT2️⃣ 1", "expected '(' before the WITH query, found \"SELECT\""),
            ("SELECT x::1️⃣)2️⃣", "expected a type name, found \")\""),
            ("SELECT (1️⃣)2️⃣", "syntax error at or near \")\""),
            ("SELECT CAST(x 1️⃣INT2️⃣)", "expected AS in CAST, found \"INT\""),
            ("SELECT x BETWEEN 1 1️⃣OR2️⃣ 2", "expected AND in BETWEEN, found \"OR\""),
            ("SELECT x FROM runs ORDER BY x NULLS 1️⃣LATER2️⃣", "expected FIRST or LAST after NULLS, found \"LATER\""),
            ("SELECT t.* 1️⃣+2️⃣ 1", "syntax error at or near \"+\""),
            ("SELECT a.1️⃣)2️⃣", "expected a name after '.', found \")\""),
            ("SELECT 'it''s' 1️⃣'x'2️⃣", "syntax error at or near \"'x'\""),
            ("SELECT 1; SELECT 2 1️⃣SELECT2️⃣ 3", "syntax error at or near \"SELECT\""),
            ("SELECT rank() OVER (ROWS BETWEEN 1 1️⃣AND2️⃣ 2)", "expected PRECEDING or FOLLOWING in the window frame, found \"AND\""),
            ("SELECT 1 =1️⃣", "syntax error at end of input"),
            ("SELECT * FROM 1️⃣WHERE2️⃣", "syntax error at or near \"WHERE\""),
            ("SELECT 1️⃣select2️⃣", "syntax error at or near \"select\""),
            ("SELECT 1 AS 1️⃣'x'2️⃣", "expected an alias after AS, found \"'x'\""),
        ]
        for (marked, message) in cases {
            var (source, offsets) = removingMarkers(marked)
            if offsets[1] != nil, offsets[2] == nil, message.hasSuffix("end of input") {
                offsets[1] = source.utf8.count
            }
            do {
                let statements = try Parser.parse(source)
                Issue.record("expected an error for \(marked), parsed \(ASTPrinter.print(statements))")
            } catch {
                #expect(error.phase == .parser, "\(marked)")
                #expect(error.message == message, "\(marked)")
                #expect(error.span == markedSpan(offsets), "\(marked): \(String(describing: error.span))")
            }
        }
    }

    @Test func errorsRenderWithCarets() {
        let source = "SELECT name\nFROM runs\nWHERE state = 'finished' AND AND x"
        do {
            _ = try Parser.parse(source)
            Issue.record("expected an error")
        } catch {
            let expected = "Parser Error: syntax error at or near \"AND\"\n\nLINE 3: WHERE state = 'finished' AND AND x\n"
                + String(repeating: " ", count: "LINE 3: WHERE state = 'finished' AND ".count) + "^^^"
            #expect(error.render(in: source) == expected)
        }
    }

    @Test func reservedWordsNeedQuotesAndOthersDoNot() throws {
        for word in Parser.reservedWords {
            #expect(throws: Diagnostic.self, "\(word)") { try Parser.parse("SELECT 1 \(word.lowercased())") }
            expectRoundTrip("SELECT \"\(word.lowercased())\" FROM runs AS \"\(word)\"")
            expectRoundTrip("SELECT 1 AS \(word.lowercased())")
        }
        for word in ["name", "state", "project", "version", "type", "user", "host", "notes", "tags", "keys", "tables", "left", "filter", "over", "interval", "date", "asc", "desc", "first", "last", "exclude", "recursive"] {
            #expect(try Parser.parse("SELECT \(word), 1 \(word) FROM runs").count == 1, "\(word)")
        }
    }

    // MARK: Malformed input

    @Test func truncationsOfValidQueriesNeverCrash() throws {
        let corpus = roundTripCorpus + (try sampleQueries())
        var parsed = 0
        var failed = 0
        for query in corpus {
            let bytes = Array(query.utf8)
            for length in 0...bytes.count {
                do {
                    _ = try Parser.parse(String(decoding: bytes[0..<length], as: UTF8.self))
                    parsed += 1
                } catch {
                    #expect(error.phase == .parser)
                    failed += 1
                }
            }
        }
        #expect(parsed > 0 && failed > 0)
    }

    @Test func randomBytesNeverCrash() {
        var generator = SeededGenerator(state: 20_240_131)
        for _ in 0..<3_000 {
            let length = Int.random(in: 0...120, using: &generator)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            expectParsesOrThrows(String(decoding: bytes, as: UTF8.self))
        }
    }

    @Test func randomTokenSoupNeverCrashes() {
        let vocabulary = [
            "SELECT", "FROM", "WHERE", "GROUP", "BY", "ALL", "ORDER", "LIMIT", "OFFSET", "WITH", "RECURSIVE", "AS", "UNION", "EXCEPT",
            "INTERSECT", "JOIN", "LEFT", "CROSS", "ON", "USING", "NOT", "AND", "OR", "IN", "IS", "NULL", "BETWEEN", "LIKE", "ESCAPE",
            "CASE", "WHEN", "THEN", "ELSE", "END", "CAST", "TRY_CAST", "INTERVAL", "DAY", "EXISTS", "OVER", "PARTITION", "ROWS", "RANGE",
            "PRECEDING", "FOLLOWING", "UNBOUNDED", "CURRENT", "ROW", "FILTER", "DISTINCT", "EXCLUDE", "QUALIFY", "HAVING", "DESC", "NULLS",
            "FIRST", "TIMESTAMP", "SHOW", "KEYS", "TABLES", "DESCRIBE", "EXPLAIN", "x", "runs", "config", "\"val/f1\"", "'s'", "1", "2.5",
            "(", ")", "[", "]", ",", ".", ";", "*", "+", "-", "/", "//", "%", "||", "=", "<>", "<", ">=", "~", "!~", "::", "count", "f",
        ]
        var generator = SeededGenerator(state: 7)
        var parsed = 0
        for _ in 0..<20_000 {
            let length = Int.random(in: 1...30, using: &generator)
            let source = (0..<length).map { _ in vocabulary.randomElement(using: &generator) ?? "x" }.joined(separator: " ")
            if expectParsesOrThrows(source) { parsed += 1 }
        }
        #expect(parsed > 0)
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        for source in deeplyNestedSources(depth: 10_000) {
            do {
                _ = try Parser.parse(source)
                Issue.record("expected an error: \(source.prefix(40))")
            } catch {
                #expect(error.message.contains("nested too deeply"), "\(source.prefix(40)): \(error.message)")
            }
        }
    }

    /// Nesting well within the stack budget parses, in a debug build as in a release build.
    @Test func nestingUnderTheLimitParses() throws {
        let sources: [String] = [
            "SELECT " + repeated("(", 50) + "1" + repeated(")", 50),
            "SELECT " + repeated("NOT ", 100) + "x",
            "SELECT " + repeated("- ", 100) + "x",
            "SELECT " + repeated("f(", 40) + repeated(")", 40),
            "SELECT " + Array(repeating: "1", count: Parser.maximumDepth - 2).joined(separator: " + "),
            "SELECT " + Array(repeating: "x", count: Parser.maximumDepth - 2).joined(separator: " OR "),
            "SELECT x" + repeated("[1]", Parser.maximumDepth - 3),
            Array(repeating: "SELECT 1", count: Parser.maximumDepth - 1).joined(separator: " UNION "),
            repeated("(", 20) + "SELECT 1" + repeated(")", 20),
            "SELECT " + repeated("(SELECT ", 20) + "1" + repeated(")", 20),
            "SELECT * FROM " + repeated("(SELECT * FROM ", 20) + "runs" + repeated(")", 20),
        ]
        for source in sources {
            let statements = try Parser.parse(source)
            #expect(statements.count == 1)
            #expect(try Parser.parse(ASTPrinter.print(statements)).map { $0.withoutSpans() } == statements.map { $0.withoutSpans() })
        }
    }

    /// A parse as deep as the limits allow fits in a 512 KB stack (the size of a secondary thread's stack on macOS).
    @Test func deepestParseFitsInASmallStack() {
        final class Outcome: @unchecked Sendable {
            var messages: [String] = []
        }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            for source in deeplyNestedSources(depth: 10_000) {
                do {
                    _ = try Parser.parse(source)
                    outcome.messages.append("parsed")
                } catch let error as Diagnostic {
                    outcome.messages.append(error.message)
                } catch {
                    outcome.messages.append("\(error)")
                }
            }
            done.signal()
        }
        thread.stackSize = 512 * 1024
        thread.start()
        done.wait()
        #expect(outcome.messages.count == deeplyNestedSources(depth: 1).count)
        #expect(outcome.messages.allSatisfy { $0.contains("nested too deeply") }, "\(outcome.messages)")
    }

    @Test func hugeLiteralsAndTokens() throws {
        let huge = [
            "SELECT 1e999999", "SELECT 99999999999999999999999", "SELECT " + String(repeating: "9", count: 100_000),
            "SELECT 0." + String(repeating: "0", count: 100_000) + "1", "SELECT '" + String(repeating: "x", count: 1_000_000) + "'",
            "SELECT " + String(repeating: "a", count: 1_000_000), "SELECT \"" + String(repeating: "\"\"", count: 100_000) + "\"",
            "SELECT 1e-999999", "SELECT " + Array(repeating: "1", count: 100_000).joined(separator: ", "),
            "SELECT x IN (" + Array(repeating: "1", count: 100_000).joined(separator: ", ") + ")",
            String(repeating: ";", count: 100_000), "SELECT 1 " + String(repeating: "-- c\n", count: 100_000),
        ]
        for source in huge {
            expectParsesOrThrows(source)
        }
        #expect(try firstExpression("SELECT " + String(repeating: "9", count: 400)).kind == .literal(.double(.infinity)))
        #expect(try firstExpression("SELECT 1e999999").kind == .literal(.double(.infinity)))
        expectRoundTrip("SELECT 1e999999, 99999999999999999999999, 1e-999999")
    }
}

/// `text` repeated `count` times.
func repeated(_ text: String, _ count: Int) -> String {
    String(repeating: text, count: count)
}

/// Inputs nested `depth` deep in every way the grammar allows.
func deeplyNestedSources(depth: Int) -> [String] {
    var sources: [String] = []
    sources.append("SELECT " + repeated("(", depth) + "1" + repeated(")", depth))
    sources.append("SELECT " + repeated("NOT ", depth) + "x")
    sources.append("SELECT " + repeated("- ", depth) + "x")
    sources.append("SELECT " + repeated("[", depth) + repeated("]", depth))
    sources.append("SELECT " + repeated("f(", depth) + repeated(")", depth))
    sources.append("SELECT " + repeated("CASE WHEN ", depth) + "x")
    sources.append("SELECT " + repeated("(SELECT ", depth) + "1" + repeated(")", depth))
    sources.append("SELECT * FROM " + repeated("(SELECT * FROM ", depth) + "runs" + repeated(")", depth))
    sources.append("SELECT * FROM " + repeated("(", depth) + "runs" + repeated(")", depth))
    sources.append(repeated("(", depth) + "SELECT 1" + repeated(")", depth))
    sources.append("SELECT x" + repeated("::INT", depth))
    sources.append("SELECT x" + repeated("[1]", depth))
    sources.append("SELECT " + Array(repeating: "1", count: depth).joined(separator: " + "))
    sources.append("SELECT " + Array(repeating: "x", count: depth).joined(separator: " AND "))
    sources.append("SELECT " + Array(repeating: "x", count: depth).joined(separator: " = "))
    sources.append(Array(repeating: "SELECT 1", count: depth).joined(separator: " UNION "))
    sources.append("SELECT * FROM " + Array(repeating: "runs", count: depth).joined(separator: ", "))
    sources.append("SELECT " + repeated("EXISTS (SELECT ", depth) + "1" + repeated(")", depth))
    sources.append("SELECT x IN " + repeated("(", depth))
    sources.append("SELECT " + repeated("INTERVAL (", depth) + "1" + repeated(")", depth))
    sources.append("SELECT " + repeated("CAST(", depth) + "x" + repeated(" AS INT)", depth))
    sources.append("WITH " + Array(repeating: "t AS (WITH", count: depth).joined(separator: " ") + " u AS (SELECT 1) SELECT 1" + repeated(") SELECT 1", depth))
    return sources
}

/// Parses `source`, requiring that it either succeeds or throws a parser `Diagnostic` with a span inside the text.
@discardableResult
func expectParsesOrThrows(_ source: String, sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
    do {
        let statements = try Parser.parse(source)
        // Whatever parses must print to text that parses to the same tree.
        let printed = ASTPrinter.print(statements)
        do {
            let reparsed = try Parser.parse(printed)
            #expect(reparsed.map { $0.withoutSpans() } == statements.map { $0.withoutSpans() }, "\(source)\nprinted as\n\(printed)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(source)\nprinted as\n\(printed)\ndoes not parse: \(error)", sourceLocation: sourceLocation)
        }
        return true
    } catch {
        #expect(error.phase == .parser, sourceLocation: sourceLocation)
        let length = source.utf8.count
        #expect(error.span.map { $0.start >= 0 && $0.start <= $0.end && $0.end <= length } == true, "\(error.span.map(\.description) ?? "no span") in \(length) bytes", sourceLocation: sourceLocation)
        return false
    }
}
