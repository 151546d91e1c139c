import Foundation
import QueryEngine
import QuerySyntax
import Testing

/// Malformed and extreme queries, through the whole engine (parse, bind, execute): each gives a
/// result or a Diagnostic; none crashes or hangs.
@Suite struct RobustnessTests {
    static let seedQueries = [
        "SELECT name, val_f1 FROM runs WHERE state = 'finished' ORDER BY val_f1 DESC LIMIT 10",
        "SELECT config.model.arch, count(*), avg(val_f1) FROM runs GROUP BY ALL HAVING count(*) > 1 ORDER BY 2 DESC",
        "SELECT run.name, arg_max(_step, \"val/acc\"), max(loss) FROM history GROUP BY run.name",
        "SELECT a.id, b.id FROM runs a LEFT JOIN runs b ON a.user = b.user AND a.id <> b.id",
        "WITH t AS (SELECT id, runtime FROM runs) SELECT id FROM t WHERE runtime > (SELECT avg(runtime) FROM t)",
        "SELECT CASE WHEN loss > 1 THEN 'high' ELSE 'low' END, CAST(config.lr AS DOUBLE), 'bert' IN tags FROM runs",
        "SELECT id FROM runs WHERE created_at > now() - INTERVAL 7 DAY UNION SELECT id FROM runs WHERE name LIKE 'a%'",
        "SELECT run_id, _step, row_number() OVER (PARTITION BY run_id ORDER BY \"val/acc\" DESC) AS r, avg(loss) OVER (PARTITION BY run.name ORDER BY _step ROWS BETWEEN 2 PRECEDING AND 1 FOLLOWING) FROM history QUALIFY r <= 2",
        "SELECT project, count(*), rank() OVER (ORDER BY count(*) DESC), lag(project, 1, 'x') OVER (ORDER BY project), ntile(3) OVER (), sum(runtime) OVER (ORDER BY runtime RANGE BETWEEN 10 PRECEDING AND 5 FOLLOWING) FROM runs GROUP BY project, runtime",
    ]

    /// Runs `sql` through the engine; true when it produced a result or a Diagnostic.
    static func survives(_ sql: String, _ engine: Engine) -> Bool {
        do {
            for statement in try engine.parse(sql) { _ = try engine.execute(statement, source: sql) }
            return true
        } catch is Diagnostic {
            return true
        } catch {
            Issue.record("\(sql): a non-diagnostic error: \(error)")
            return false
        }
    }

    @Test func truncatedQueriesAtEveryCharacter() throws {
        let engine = try Stores.engine("edge")
        for query in Self.seedQueries {
            for length in 0...query.count {
                #expect(Self.survives(String(query.prefix(length)), engine))
            }
        }
    }

    @Test func randomMutationsOfValidQueries() throws {
        let engine = try Stores.engine("edge")
        var state: UInt64 = 0x5EED
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var mixed = state
            mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
            mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
            return mixed ^ (mixed >> 31)
        }
        let pieces = ["(", ")", ",", "'", "\"", "*", "NULL", "SELECT", "FROM", "GROUP BY", "ORDER BY", "1e999", "-", "::", "[", "]", "NaN", "/", "0", "runs", "history", "count(", "sum(", "JOIN", "ON", "IN", "~", "%", "\u{0}", "é", "--", "/*"]
        for round in 0..<600 {
            var characters = Array(Self.seedQueries[round % Self.seedQueries.count])
            for _ in 0..<(1 + Int(next() % 4)) {
                let position = Int(next() % UInt64(characters.count + 1))
                switch next() % 3 {
                case 0: characters.insert(contentsOf: Array(" " + pieces[Int(next() % UInt64(pieces.count))] + " "), at: position)
                case 1: if position < characters.count { characters.remove(at: position) }
                default: characters.insert(Character(Unicode.Scalar(UInt8(next() % 128))), at: position)
                }
            }
            #expect(Self.survives(String(characters), engine))
        }
    }

    @Test func extremeInputs() throws {
        let engine = try Stores.engine("edge")
        let cases = [
            "SELECT " + String(repeating: "(", count: 10_000) + "1" + String(repeating: ")", count: 10_000),
            "SELECT " + String(repeating: "NOT ", count: 10_000) + "true",
            "SELECT " + String(repeating: "1 + ", count: 900) + "1",
            "SELECT " + String(repeating: "-", count: 5_000) + "1",
            "SELECT 1 " + String(repeating: "UNION ALL SELECT 1 ", count: 500),
            "SELECT 1e999999, 99999999999999999999999999, -9223372036854775808, 'x' || '" + String(repeating: "y", count: 100_000) + "'",
            "SELECT " + (0..<2_000).map { "runtime AS c\($0)" }.joined(separator: ", ") + " FROM runs",
            "SELECT id FROM runs WHERE id IN (" + (0..<5_000).map { "'r\($0)'" }.joined(separator: ", ") + ")",
            "SELECT repeat('x', 1000000000)",
            "SELECT lpad('x', 2000000000, 'y')",
            String(repeating: "SELECT 1;", count: 2_000),
            "SELECT count(*) FROM history a, history b, history c",
        ]
        let start = Date()
        for sql in cases { #expect(Self.survives(sql, engine), "\(sql.prefix(60))") }
        #expect(Date().timeIntervalSince(start) < 60)
    }

    /// Ctrl-C during a long window over one partition: it used to be checked only between
    /// partitions (every 4,096), so a window over the sample history (one partition) whose every
    /// row aggregates thousands of rows ran to the end. The per-row loops check now; the query
    /// stops soon after the request. (FILTER (WHERE true) keeps these on the general accumulator,
    /// which visits each row's frame: the slow path that must stay interruptible.)
    @Test func longWindowOverOnePartitionIsCancellable() throws {
        let engine = try Stores.engine("sample")
        let queries = [
            "SELECT max(m) FROM (SELECT median(train_loss) FILTER (WHERE true) OVER (ORDER BY _step ROWS BETWEEN 5000 PRECEDING AND 5000 FOLLOWING) AS m FROM history)",
            "SELECT max(m) FROM (SELECT quantile_cont(train_loss, 0.5) FILTER (WHERE true) OVER (ORDER BY _step, run_id ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS m FROM history, (SELECT 1 UNION ALL SELECT 2) t)",
            "SELECT max(m) FROM (SELECT stddev(train_loss) OVER (ORDER BY _step ROWS BETWEEN 9223372036854775807 PRECEDING AND 9223372036854775807 FOLLOWING) AS m FROM history a, (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) t)",
        ]
        for sql in queries {
            let started = Date()
            let requested = started.addingTimeInterval(0.2)
            let statement = try #require(try engine.parse(sql).first)
            let error = #expect(throws: Diagnostic.self, "\(sql)") {
                try engine.execute(statement, source: sql, isCancelled: { Date() > requested })
            }
            #expect(error?.phase == .interrupted, "\(sql)")
            #expect(Date().timeIntervalSince(requested) < 2, "\(sql)")
        }
    }
}
