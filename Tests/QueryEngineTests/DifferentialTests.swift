import ColumnIndex
import Foundation
import QueryEngine
import QuerySyntax
import RunStore
import Testing
import TestSupport

/// Differential tests: seeded random queries (RandomQueries.swift) run through the engine and
/// through a deliberately naive row-at-a-time reference evaluator (ReferenceEvaluator.swift) that
/// shares no code with QueryEngine, and the results must agree exactly: same rows in the same order,
/// each value of the same type and value (NaN equal to NaN, doubles compared by bits, strings by bytes).
///
/// - Stores: the fixture store `edge` (Tests/QueryEngineTests/stores/edge: NaN, ±Infinity, NULLs,
///   mixed-type keys, a 2^53 + 1 integer, non-ASCII names) with 8 seeds × 40 queries, and the
///   sample store (Samples/store, 152 runs) with 3 seeds × 30 queries.
/// - Shape: SELECT of expressions over built-in columns and config/summary keys (+ - *, comparisons,
///   AND/OR/NOT, IS [NOT] NULL, [NOT] IN lists, [NOT] BETWEEN, coalesce, abs) with WHERE, ORDER BY
///   (keys by expression, position or alias, ASC/DESC, NULLS FIRST/LAST; `id` always last so the
///   order is total), LIMIT/OFFSET; GROUP BY one expression (written or by position) with count(*),
///   count, min, max, sum, avg and HAVING count(*) >= n; aggregates without GROUP BY.
/// - Errors: when both sides fail (integer overflow) the query agrees, whatever the messages; when
///   exactly one fails it is a mismatch. No error class is excluded.
///   (Bare integer literals are never ORDER BY or GROUP BY keys: those are positions.)
/// - Reproducing: a mismatch names the store, the seed and the query's index and prints the SQL,
///   which can be pasted into `runql` as is; `RUNQL_DIFF_VERBOSE=1` prints every query and answer.
///
/// Engine bugs the generator found, all fixed since and kept as regression tests in
/// `fixedEngineBug(_:)`; the generator produces their patterns again (set `RUNQL_DIFF_AVOID_FIXED=1`
/// to leave them out) — repros on the `edge` store:
/// 1. `SELECT config.lr + config.lr FROM runs` → "No operator + for VARCHAR and VARCHAR" because
///    run r3 holds lr as the string '3e-4'; a string in a numeric operation of a mixed-type key is
///    NULL (as `config.lr * 10` already is), so r3 should give NULL.
/// 2. `SELECT abs(config.lr) FROM runs` → "abs expects a number, not VARCHAR"; NULL for r3 expected.
/// 3. `SELECT id, val_f1 < mixed FROM runs WHERE id = 'r2'` → false; NaN compared with the string
///    'high' is NULL (number vs string), so `NOT (val_f1 < mixed)` wrongly keeps r2.
/// 4. `SELECT id, mixed IN (1, 'x') FROM runs WHERE id IN ('r2', 'r3')` → false, false; `x IN (a, b)`
///    is `x = a OR x = b`, and 'high' = 1 / 2.5 = 'x' are NULL, so NULL, NULL (the engine treats an
///    option of another type as not equal instead of NULL).
/// 5. `SELECT sum(coalesce(mixed, 0)) FROM runs WHERE id = 'r2'` → "sum(VARCHAR) is not defined";
///    the computed column happens to hold only strings on the rows left, so the type check fires
///    although the key is mixed-type; NULL expected (as `sum(mixed)` over the same row gives).
/// 6. `SELECT id FROM runs WHERE name = 'e\u{301}psilon'` (decomposed é) → r6, whose name is the
///    precomposed 'épsilon': string `=` is Swift's canonical equivalence, not binary comparison.
/// 7. `SELECT coalesce(1, config.seed * 4611686018427387904) FROM runs` → "Out of Range Error:
///    overflow"; coalesce evaluates every argument on every row although the first is never NULL
///    (Evaluator's own documentation says COALESCE-like branches evaluate only where they are reached).
@Suite struct DifferentialTests {
    static let edgeSeeds: [UInt64] = Array(1...8)
    static let sampleSeeds: [UInt64] = [101, 102, 103]

    @Test(arguments: edgeSeeds)
    func edgeStore(seed: UInt64) throws {
        try Self.check(store: "edge", seed: seed, queries: 40)
    }

    @Test(arguments: sampleSeeds)
    func sampleStore(seed: UInt64) throws {
        try Self.check(store: "sample", seed: seed, queries: 30)
    }

    /// The reference itself against answers worked out by hand (and agreed by the golden files).
    @Test func referenceKnownAnswers() throws {
        let fixture = try DifferentialFixtures.fixture("edge")
        func ids(_ order: [RandomQuery.Order], filter: RandomQueryExpr? = nil) throws -> [String] {
            let query = RandomQuery(items: [.scalar(.column("id", .string))], filter: filter, orderBy: order + [RandomQuery.Order(key: .expression(.column("id", .string)))])
            return try Reference.run(query, on: fixture.table).map { row in
                if case .string(let id) = row[0] { return id }
                return "?"
            }
        }
        let f1 = RandomQueryExpr.column("val_f1", [.number, .nan])
        let mixed = RandomQueryExpr.column("mixed", [.number, .string])
        #expect(try ids([.init(key: .expression(f1), descending: true)]) == ["r1", "r5", "r3", "r6", "r2", "r4"])
        #expect(try ids([.init(key: .expression(f1), descending: false)]) == ["r6", "r3", "r1", "r5", "r2", "r4"])
        #expect(try ids([.init(key: .expression(f1), descending: true, nullsFirst: true)]) == ["r4", "r1", "r5", "r3", "r6", "r2"])
        #expect(try ids([.init(key: .expression(mixed), descending: true)]) == ["r3", "r1", "r2", "r4", "r5", "r6"])
        #expect(try ids([.init(key: .expression(mixed))]) == ["r1", "r3", "r2", "r4", "r5", "r6"])
        #expect(try ids([], filter: .comparison(.greater, f1, .literal(.double(0.8), "0.8"))) == ["r1", "r3", "r5"])
        #expect(try ids([], filter: .comparison(.equal, f1, f1)) == ["r1", "r2", "r3", "r5", "r6"])
        #expect(try ids([], filter: .comparison(.greater, mixed, .literal(.int(1), "1"))) == ["r3"])
        #expect(try ids([], filter: .comparison(.greater, .column("config.seed", .number), .literal(.double(9_007_199_254_740_992), "9007199254740992.0"))) == ["r5"])
        let sums = RandomQuery(
            items: [.aggregate(.sum(mixed)), .aggregate(.avg(mixed)), .aggregate(.max(mixed)), .aggregate(.min(.column("loss", [.number, .infinite])))], filter: nil,
            grouping: .global)
        let row = try Reference.run(sums, on: fixture.table)[0]
        #expect(Reference.identical(row[0], .double(3.5)) && Reference.identical(row[1], .double(1.75)))
        #expect(Reference.identical(row[2], .double(2.5)) && Reference.identical(row[3], .double(-.infinity)))
    }

    /// Regression tests: the engine bugs the generator found (the list above, all fixed), as
    /// minimal queries on `edge` where engine and reference must agree.
    @Test(arguments: 0..<KnownEngineBugs.repros.count)
    func fixedEngineBug(_ number: Int) throws {
        let fixture = try DifferentialFixtures.fixture("edge")
        let (title, query) = KnownEngineBugs.repros[number]
        if case .mismatch(let report) = Self.compare(query, on: fixture, label: "engine bug \(number + 1) (\(title))") {
            Issue.record(Comment(rawValue: report))
        }
    }

    // MARK: Running both sides

    enum Outcome {
        case rows([[Value]])
        case error(String)
    }

    /// The seed of query `index` of a seed's run, so one query can be regenerated alone.
    static func querySeed(_ seed: UInt64, _ index: Int) -> UInt64 {
        seed &* 0x0000_0100_0000_01B3 &+ UInt64(index) &* 0x9E37_79B9
    }

    /// How one query fared.
    enum Verdict {
        case agreeWithRows, agreeEmpty, bothFailed
        /// The report of a disagreement (or of a query the reference cannot evaluate).
        case mismatch(String)
    }

    /// Runs `query` on both sides and compares.
    static func compare(_ query: RandomQuery, on fixture: DifferentialFixture, label: String) -> Verdict {
        let sql = query.sql
        let expected: Outcome
        do {
            expected = .rows(try Reference.run(query, on: fixture.table))
        } catch let error as ReferenceError where !error.unsupported {
            expected = .error(error.description)
        } catch {
            return .mismatch("the reference cannot evaluate \(label): \(error)\n\(sql)")
        }
        let actual = run(sql, on: fixture.engine)
        if verbose { print("[\(label)] \(sql)\n  → \(summary(actual))") }
        switch (expected, actual) {
        case (.error, .error):
            return .bothFailed
        case (.rows(let reference), .rows(let engine)) where same(reference, engine):
            return reference.isEmpty ? .agreeEmpty : .agreeWithRows
        default:
            return .mismatch("""
                engine and reference disagree — \(label)
                \(sql)
                --- engine
                \(describe(actual))
                --- reference
                \(describe(expected))
                """)
        }
    }

    static func check(store: String, seed: UInt64, queries count: Int) throws {
        let fixture = try DifferentialFixtures.fixture(store)
        let bugs = KnownEngineBugs.fromEnvironment
        var mismatches = 0
        var withRows = 0
        var bothFailed = 0
        for index in 0..<count {
            var generator = RandomQueryGenerator(seed: querySeed(seed, index), catalog: fixture.catalog, bugs: bugs)
            let query = generator.query()
            switch compare(query, on: fixture, label: "store \(store), seed \(seed), query \(index)") {
            case .agreeWithRows: withRows += 1
            case .agreeEmpty: break
            case .bothFailed: bothFailed += 1
            case .mismatch(let report):
                mismatches += 1
                Issue.record(Comment(rawValue: report))
                if mismatches >= 10 {
                    Issue.record("store \(store), seed \(seed): stopped after \(mismatches) mismatches")
                    return
                }
            }
        }
        // The comparison must mean something: most queries return rows, few fail on both sides.
        #expect(withRows * 2 >= count, "store \(store), seed \(seed): only \(withRows) of \(count) queries returned rows")
        #expect(bothFailed * 5 <= count, "store \(store), seed \(seed): \(bothFailed) of \(count) queries failed on both sides")
    }

    /// `RUNQL_DIFF_VERBOSE=1` prints every query and what the engine answered.
    static let verbose = ProcessInfo.processInfo.environment["RUNQL_DIFF_VERBOSE"] == "1"

    static func summary(_ outcome: Outcome) -> String {
        switch outcome {
        case .error(let message): return "error: " + (message.split(separator: "\n").first.map(String.init) ?? "")
        case .rows(let rows): return "\(rows.count) rows" + (rows.first.map { ": " + $0.map(describe).joined(separator: " | ") } ?? "")
        }
    }

    static func run(_ sql: String, on engine: Engine) -> Outcome {
        do {
            let statements = try engine.parse(sql)
            guard statements.count == 1 else { return .error("\(statements.count) statements") }
            let result = try engine.execute(statements[0], source: sql)
            return .rows((0..<result.rowCount).map { row in (0..<result.columns.count).map { result.value(row: row, column: $0) } })
        } catch let diagnostic as Diagnostic {
            return .error(diagnostic.render(in: sql))
        } catch {
            return .error("\(error)")
        }
    }

    static func same(_ a: [[Value]], _ b: [[Value]]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { x, y in x.count == y.count && zip(x, y).allSatisfy { Reference.identical($0, $1) } }
    }

    static func describe(_ outcome: Outcome) -> String {
        switch outcome {
        case .error(let message): return "error: \(message)"
        case .rows(let rows):
            if rows.isEmpty { return "(no rows)" }
            return rows.map { $0.map(describe).joined(separator: " | ") }.joined(separator: "\n")
        }
    }

    /// A value with its type visible: 2 (int), 2.0 (double), 'text', TIMESTAMP '…'.
    static func describe(_ value: Value) -> String {
        switch value {
        case .null: return "NULL"
        case .bool(let flag): return flag ? "true" : "false"
        case .int(let integer): return "\(integer)"
        case .double(let number): return number.isNaN ? "NaN" : number.isInfinite ? (number < 0 ? "-Infinity" : "Infinity") : "\(number)"
        case .string(let text): return "'\(text)'"
        case .timestamp(let micros): return "TIMESTAMP '\(Timestamp.format(Double(micros) / 1e6))'"
        default: return "\(value)"
        }
    }
}

/// A store both sides query: the engine over its index, the reference over its rows.
final class DifferentialFixture: @unchecked Sendable {
    let engine: Engine
    let table: ReferenceTable
    let catalog: RandomQueryCatalog

    init(store: RunStore, columns: [RandomQueryColumn]) throws {
        engine = Engine(store: store)
        table = try ReferenceTable.load(store, columns: columns)
        catalog = RandomQueryCatalog(columns: columns, rows: table.rows)
    }
}

/// The stores of the differential tests, built once per test run.
enum DifferentialFixtures {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var fixtures: [String: DifferentialFixture] = [:]

    static let edgeColumns: [RandomQueryColumn] = [
        .builtin("id"), .builtin("name"), .builtin("state"), .builtin("user"), .builtin("runtime"), .builtin("created_at"),
        .builtin("exit_code"),
        .config("config.lr", "lr"), .config("config.seed", "seed"), .config("config.model.arch", "model", "arch"),
        .config("config.optimizer", "optimizer"), .config("config.model.layers", "model", "layers"),
        .summary("val_f1", "val/f1"), .summary("summary.\"val/f1\"", "val/f1"), .summary("loss", "loss"), .summary("mixed", "Mixed"),
        .summary("summary.\"val/loss\"", "val/loss"), .summary("summary.note", "note"),
    ]

    static let sampleColumns: [RandomQueryColumn] = [
        .builtin("id"), .builtin("name"), .builtin("state"), .builtin("user"), .builtin("runtime"), .builtin("created_at"),
        .config("config.learning_rate", "learning_rate"), .config("config.seed", "seed"), .config("config.batch_size", "batch_size"),
        .config("config.model.arch", "model", "arch"), .config("config.optimizer", "optimizer"),
        .config("config.data.augment", "data", "augment"), .config("config.mixed_precision", "mixed_precision"),
        .config("config.model.dropout", "model", "dropout"), .config("config.label_smoothing", "label_smoothing"),
        .config("config.data.max_samples", "data", "max_samples"),
        .summary("val_f1", "val/f1"), .summary("summary.\"val/loss\"", "val/loss"), .summary("summary.\"test/acc\"", "test/acc"),
        .summary("epoch", "epoch"), .summary("summary.\"train/loss\"", "train/loss"),
    ]

    static func fixture(_ name: String) throws -> DifferentialFixture {
        try lock.withLock {
            if let fixture = fixtures[name] { return fixture }
            let fixture: DifferentialFixture
            switch name {
            case "sample":
                let path = GoldenTests.repository.appendingPathComponent("Samples/store").path
                fixture = try DifferentialFixture(store: try RunStore.open(at: path), columns: sampleColumns)
            case "edge":
                let source = GoldenTests.directory.appendingPathComponent("stores/edge").path
                let directory = try TemporaryDirectory()
                let store = try RunStore.create(at: directory.path + "/store")
                let importer = JSONLImporter(store: store, defaultEntity: "test", defaultProject: "edge", warn: { _ in })
                try importer.importRuns(from: source + "/runs.jsonl")
                try importer.importHistory(from: source + "/history.jsonl")
                fixture = try DifferentialFixture(store: try RunStore.open(at: directory.path + "/store"), columns: edgeColumns)
            default:
                throw ReferenceError(description: "no differential fixture \(name)", unsupported: true)
            }
            fixtures[name] = fixture
            return fixture
        }
    }
}

extension KnownEngineBugs {
    /// Minimal repros of the engine bugs on the `edge` store (see the list on `DifferentialTests`).
    static let repros: [(title: String, query: RandomQuery)] = {
        let id = RandomQueryExpr.column("id", .string)
        let lr = RandomQueryExpr.column("config.lr", [.number, .string])
        let mixed = RandomQueryExpr.column("mixed", [.number, .string])
        let f1 = RandomQueryExpr.column("val_f1", [.number, .nan])
        func rows(_ items: [RandomQueryExpr], where filter: RandomQueryExpr? = nil) -> RandomQuery {
            RandomQuery(items: items.map { .scalar($0) }, filter: filter, orderBy: [RandomQuery.Order(key: .expression(id))])
        }
        return [
            ("a string plus a string of a mixed-type key is an error, not NULL",
             rows([id, .arithmetic(.add, lr, lr)])),
            ("abs of a string of a mixed-type key is an error, not NULL",
             rows([id, .abs(lr)])),
            ("NaN < a string is false, not NULL",
             rows([id, .comparison(.less, f1, mixed), .not(.comparison(.less, f1, mixed))])),
            ("IN treats an option of another type as unequal instead of NULL",
             rows([id, .inList(mixed, [.literal(.int(1), "1"), .literal(.string("x"), "'x'")], negated: false)])),
            ("sum of a computed column that holds only strings on the rows left is a type error",
             RandomQuery(items: [.aggregate(.sum(.coalesce([mixed, .literal(.int(0), "0")])))],
                         filter: .comparison(.equal, id, .literal(.string("r2"), "'r2'")), grouping: .global)),
            ("string = is Unicode canonical equivalence, not binary",
             rows([id], where: .comparison(.equal, .column("name", .string), .literal(.string("e\u{301}psilon"), "'e\u{301}psilon'")))),
            ("coalesce evaluates arguments that no row needs",
             rows([id, .coalesce([.literal(.int(1), "1"),
                                  .arithmetic(.multiply, .column("config.seed", .number), .literal(.int(4_611_686_018_427_387_904), "4611686018427387904"))])])),
        ]
    }()
}
