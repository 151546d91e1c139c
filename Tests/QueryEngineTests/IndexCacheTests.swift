import ColumnIndex
import Foundation
import QueryEngine
import RunStore
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The index cache answers exactly as a build from the store does: after a cold build, a warm
/// load, incremental refreshes, damage of every kind, deletion, and concurrent builders.
@Suite struct IndexCacheTests {
    /// Queries that between them read every column, key catalog and row order of both tables.
    static let queries = [
        "SELECT * FROM runs",
        "SELECT * FROM history",
        "SELECT run.name, run_id, _step, loss, acc, note FROM history",
        "SELECT run_id, count(*), max(loss), min(acc) FROM history GROUP BY run_id ORDER BY run_id",
        "SHOW KEYS",
        "DESCRIBE runs",
        "DESCRIBE history",
        "SELECT name, config.lr, config.model.arch, config.model, summary.loss, summary.best, tags FROM runs ORDER BY name",
    ]

    /// Every query's answer (names, then rows as text), and the warnings.
    static func answers(_ engine: Engine, _ queries: [String] = queries) throws -> [String] {
        var texts = engine.index.warnings
        for query in queries {
            let result = try engine.run(query)
            var text = result.names.joined(separator: "|") + "\n"
            for row in 0..<result.rowCount {
                text += (0..<result.names.count).map { Render.text(result.value(row: row, column: $0)) }.joined(separator: "|") + "\n"
            }
            texts.append(text)
        }
        return texts
    }

    /// The cached index's answers must equal a fresh build's; returns how many runs it read.
    @discardableResult
    static func expectSameAnswers(_ store: RunStore, _ comment: Comment, sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
        var read = 0
        let cached = Engine(cachedIndexOf: store) { _, total in read = total }
        let expected = try answers(Engine(store: store))
        let actual = try answers(cached)
        #expect(actual == expected, comment, sourceLocation: sourceLocation)
        #expect(!cached.index.isDamaged, comment, sourceLocation: sourceLocation)
        return read
    }

    /// A store of a few runs with mixed-type, sparse and string metrics, nested config, a torn
    /// line, a run without history and a run that cannot be read; every file dated an hour ago,
    /// so that no run counts as changed too recently to trust.
    static func makeStore(_ directory: TemporaryDirectory) throws -> RunStore {
        let store = try RunStore.create(at: directory.path)
        for number in 0..<6 {
            var metadata = RunMetadata(id: "run\(number)", entity: "acme", project: number < 4 ? "vision" : "text")
            metadata.name = "run-\(number)"
            metadata.state = number % 2 == 0 ? .finished : .failed
            metadata.tags = number % 3 == 0 ? ["bert", "base"] : []
            metadata.createdAt = 1_700_000_000 + Double(number) * 3600.5
            let config: JSONObject = ["lr": number == 2 ? "auto" : .double(0.001 * Double(number + 1)), "model": ["arch": .string(number < 3 ? "bert" : "t5"), "layers": .int(Int64(number))]]
            var lines: [String] = []
            for step in 0..<(number == 5 ? 0 : 20 + number) {
                var line = "{\"_step\":\(step),\"loss\":\(number == 3 && step == 4 ? "\"high\"" : String(1.0 / Double(step + 1)))"
                if step % 5 == 0 { line += ",\"acc\":\(step == 10 ? "NaN" : String(Double(step) / 25))" }
                if number == 1 && step == 7 { line += ",\"note\":\"spike\",\"_extra\":1" }
                lines.append(line + "}")
            }
            var history = lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")
            if number == 4 { history += "{\"_step\":99,\"lo" }
            try store.publishRun(metadata, config: config, summary: number == 0 ? ["best": 0.9] : [:], history: Array(history.utf8))
        }
        let broken = "\(store.layout.runs("acme", "text"))/broken"
        try FileManager.default.createDirectory(atPath: broken, withIntermediateDirectories: true)
        try "{\"id\": 3}".write(toFile: "\(broken)/run.json", atomically: false, encoding: .utf8)
        age(store.root)
        return store
    }

    /// Dates `root` and every file and folder below it an hour back.
    static func age(_ root: String) {
        let past = Date().addingTimeInterval(-3600)
        try? FileManager.default.setAttributes([.modificationDate: past], ofItemAtPath: root)
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let relative = enumerator?.nextObject() as? String {
            try? FileManager.default.setAttributes([.modificationDate: past], ofItemAtPath: "\(root)/\(relative)")
        }
    }

    static func manifest(_ store: RunStore) -> String { "\(store.layout.index)/manifest.rqi" }

    @Test func coldWarmAndIncrementalRefreshAnswerAlike() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Self.makeStore(directory)
        #expect(try Self.expectSameAnswers(store, "cold build") == 7)
        #expect(FileManager.default.fileExists(atPath: Self.manifest(store)))
        #expect(try Self.expectSameAnswers(store, "warm load") == 0)

        // Appended history lines: only that run is read again.
        let writer = try HistoryWriter(store: store, location: RunLocation(entity: "acme", project: "vision", id: "run1"))
        try writer.append([["loss": 0.01, "acc": "n/a"], ["loss": 0.005, "fresh": true]])
        Self.age(store.layout.run(writer.location))
        #expect(try Self.expectSameAnswers(store, "appended lines") == 1)
        #expect(try Self.expectSameAnswers(store, "warm after a refresh") == 0)

        // A changed summary and config.
        let run2 = RunLocation(entity: "acme", project: "vision", id: "run2")
        let run4 = RunLocation(entity: "acme", project: "text", id: "run4")
        try store.replaceObject(run2, .summary, with: ["loss": "overridden", "best": 1])
        try store.replaceObject(run4, .config, with: ["lr": 0.5, "extra": ["deep": [1, 2]]])
        Self.age(store.layout.run(run2))
        Self.age(store.layout.run(run4))
        #expect(try Self.expectSameAnswers(store, "changed summary and config") == 2)

        // A new run and a deleted one.
        var metadata = RunMetadata(id: "run9", entity: "zeta", project: "new")
        metadata.name = "newest"
        try store.publishRun(metadata, config: ["lr": 1], summary: [:], history: Array("{\"_step\":0,\"loss\":3,\"newkey\":[1,2]}\n".utf8))
        try FileManager.default.removeItem(atPath: store.layout.run(RunLocation(entity: "acme", project: "vision", id: "run0")))
        Self.age(store.layout.run(metadata.location))
        #expect(try Self.expectSameAnswers(store, "new and deleted runs") == 1)
        #expect(try Self.expectSameAnswers(store, "warm after everything") == 0)
    }

    /// A refresh after history grew or was rewritten in place (the run's folder untouched) copies
    /// the old runs-table columns instead of making them again: all but the summary columns of the
    /// keys the history logs or logged, which must change with it.
    @Test func aRefreshOfHistoryAloneAnswersAsABuild() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Self.makeStore(directory)
        #expect(try Self.expectSameAnswers(store, "cold build") == 7)
        func ageHistory(_ location: RunLocation) {
            let past = Date().addingTimeInterval(-1800)
            try? FileManager.default.setAttributes([.modificationDate: past], ofItemAtPath: store.layout.runFile(location, .history))
        }
        let run1 = RunLocation(entity: "acme", project: "vision", id: "run1")
        let writer = try HistoryWriter(store: store, location: run1)
        try writer.append([["loss": 0.01, "acc": "n/a"], ["loss": 0.005, "fresh": true, "nested": ["a": 1, "b": "x"]]])
        ageHistory(run1)
        #expect(try Self.expectSameAnswers(store, "appended lines, new and nested keys") == 1)

        // run0 has an explicit summary (best); its history rewritten in place with fewer keys.
        let run0 = RunLocation(entity: "acme", project: "vision", id: "run0")
        try "{\"_step\":0,\"loss\":7}\n{\"_step\":1,\"best\":0.1}\n".write(toFile: store.layout.runFile(run0, .history), atomically: false, encoding: .utf8)
        ageHistory(run0)
        #expect(try Self.expectSameAnswers(store, "history rewritten in place") == 1)
        #expect(try Self.expectSameAnswers(store, "warm after the refreshes") == 0)
    }

    /// A build splits the runs over the cores: with keys first logged in the second part, a key
    /// logged as numbers in one part and strings in the other, and bad runs and lines in both,
    /// it must answer exactly as reading the runs one after another does.
    @Test func aParallelBuildAnswersAsASequentialOne() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try RunStore.create(at: directory.path)
        for number in 0..<(2 * RunIndex.runsPerWorker + 40) {
            let late = number >= RunIndex.runsPerWorker
            var metadata = RunMetadata(id: String(format: "r%04d", number), entity: "acme", project: number % 3 == 0 ? "vision" : "text")
            metadata.name = "run-\(number)"
            var lines: [String] = []
            for step in 0..<(number % 4) {
                var line = "{\"_step\":\(step),\"loss\":\(late && number % 5 == 0 ? "\"n/a\"" : String(Double(number) + Double(step) / 8))"
                if late { line += ",\"acc\":\(number % 7 == 0 ? "NaN" : String(step))" }
                if number % 11 == 0 { line += ",\"note\":\"n\(number)\"" }
                lines.append(line + "}")
            }
            var history = lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")
            if number % 97 == 1 { history += "{\"_step\":99,\"lo" }
            try store.publishRun(metadata, config: ["n": .int(Int64(number))], summary: [:], history: Array(history.utf8))
        }
        for broken in ["aaa-broken", "zzz-broken"] {
            let path = "\(store.layout.runs("acme", "text"))/\(broken)"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try "{\"id\": 3}".write(toFile: "\(path)/run.json", atomically: false, encoding: .utf8)
        }
        Self.age(store.root)
        let queries = [
            "SELECT * FROM runs", "SELECT * FROM history", "SHOW KEYS", "DESCRIBE history",
            "SELECT run_id, count(*), max(loss), max(acc), string_agg(note, ',') FROM history GROUP BY run_id ORDER BY run_id",
        ]
        let expected = try Self.answers(Engine(index: RunIndex.buildSequentially(from: store)), queries)
        #expect(expected.contains { $0.contains("n/a") } && expected.contains { $0.contains("is malformed") || $0.contains("skipped") })
        #expect(try Self.answers(Engine(store: store), queries) == expected)
        #expect(try Self.answers(Engine(cachedIndexOf: store), queries) == expected, "cold cache build")
        #expect(try Self.answers(Engine(cachedIndexOf: store), queries) == expected, "warm cache")
    }

    @Test func manyRefreshesCompactTheSegments() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Self.makeStore(directory)
        try Self.expectSameAnswers(store, "cold build")
        let writer = try HistoryWriter(store: store, location: RunLocation(entity: "acme", project: "vision", id: "run3"))
        for round in 0..<12 {
            try writer.append([["loss": .double(Double(round))]])
            Self.age(store.layout.run(writer.location))
            #expect(try Self.expectSameAnswers(store, "refresh \(round)") == 1)
        }
        let segments = try FileManager.default.contentsOfDirectory(atPath: store.layout.index).filter { $0.hasPrefix("segment-") }
        #expect(segments.count <= 9)
    }

    /// Refreshes that each re-read a different run leave one small segment each; past the limit,
    /// all but the largest segment are merged into one, and the largest (the first build's) stays.
    @Test func segmentsOfDifferentRunsAreMergedAroundTheLargest() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try RunStore.create(at: directory.path)
        for number in 0..<24 {
            let metadata = RunMetadata(id: String(format: "r%02d", number), entity: "acme", project: number % 2 == 0 ? "a" : "b")
            let lines = (0..<10).map { "{\"_step\":\($0),\"loss\":\(Double(number) + Double($0) / 10)}" }.joined(separator: "\n") + "\n"
            try store.publishRun(metadata, config: ["n": .int(Int64(number))], summary: [:], history: Array(lines.utf8))
        }
        Self.age(store.root)
        let queries = [
            "SELECT * FROM runs", "SELECT * FROM history", "SHOW KEYS",
            "SELECT run_id, count(*), max(loss), max(round) FROM history GROUP BY run_id ORDER BY run_id",
        ]
        func expectBuildsAnswers(_ comment: Comment) throws {
            let expected = try Self.answers(Engine(store: store), queries)
            #expect(try Self.answers(Engine(cachedIndexOf: store), queries) == expected, comment)
        }
        func segmentNames() throws -> Set<String> {
            Set(try FileManager.default.contentsOfDirectory(atPath: store.layout.index).filter { $0.hasPrefix("segment-") })
        }
        _ = Engine(cachedIndexOf: store)
        let first = try segmentNames()
        #expect(first.count == 1)
        for round in 0..<14 {
            let location = RunLocation(entity: "acme", project: round % 2 == 0 ? "a" : "b", id: String(format: "r%02d", round))
            try HistoryWriter(store: store, location: location).append([["loss": .double(-Double(round)), "round": .int(Int64(round))]])
            Self.age(store.layout.run(location))
            try expectBuildsAnswers("refresh \(round)")
            #expect(try segmentNames().count <= IndexCache.maxSegments + 1)
        }
        #expect(try segmentNames().isSuperset(of: first), "the first build's segment was rewritten")
        try expectBuildsAnswers("warm after the merges")
    }

    /// A flipped byte anywhere, a truncated file, another format version: never a wrong answer.
    @Test(arguments: ["header", "directory", "runs section", "last column", "segment", "segment column", "truncated", "truncated segment", "version", "empty", "missing segment"])
    func aDamagedCacheIsRebuilt(damage: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Self.makeStore(directory)
        try Self.expectSameAnswers(store, "cold build")
        let segment = try FileManager.default.contentsOfDirectory(atPath: store.layout.index).first { $0.hasPrefix("segment-") }
        let segmentPath = "\(store.layout.index)/\(try #require(segment))"
        func change(_ path: String, _ edit: (inout [UInt8]) -> Void) throws {
            var bytes = try #require(FileManager.default.contents(atPath: path).map { [UInt8]($0) })
            edit(&bytes)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }
        let manifest = Self.manifest(store)
        switch damage {
        case "header": try change(manifest) { $0[3] ^= 0x20 }
        case "directory": try change(manifest) { $0[40] ^= 0x01 }
        case "runs section": try change(manifest) { $0[$0.count / 3] ^= 0x01 }
        case "last column": try change(manifest) { $0[$0.count - 2] ^= 0x80 }
        case "segment": try change(segmentPath) { $0[30] ^= 0x01 }
        case "segment column": try change(segmentPath) { $0[$0.count - 9] ^= 0x01 }
        case "truncated": try change(manifest) { $0.removeLast($0.count / 2) }
        case "truncated segment": try change(segmentPath) { $0.removeLast(100) }
        case "version": try change(manifest) { $0[8] = 99 }
        case "empty": try change(manifest) { $0 = [] }
        default: try FileManager.default.removeItem(atPath: segmentPath)
        }
        try Self.expectSameAnswers(store, "after damage: \(damage)")
        try Self.expectSameAnswers(store, "rebuilt after damage: \(damage)")
    }

    @Test func deletingTheCacheIsSafe() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Self.makeStore(directory)
        try Self.expectSameAnswers(store, "cold build")
        try FileManager.default.removeItem(atPath: store.layout.index)
        #expect(try Self.expectSameAnswers(store, "after deleting index/") == 7)
        // Deleted while an engine holds the loaded index: its lazy reads still see the old files.
        let engine = Engine(cachedIndexOf: store)
        try FileManager.default.removeItem(atPath: store.layout.index)
        #expect(try Self.answers(engine) == (try Self.answers(Engine(store: store))))
    }

    @Test func concurrentBuildersBothAnswerRight() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Self.makeStore(directory)
        let expected = try Self.answers(Engine(store: store))
        let results = Locked<[[String]]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            let answers = (try? Self.answers(Engine(cachedIndexOf: store))) ?? []
            results.withLock { $0.append(answers) }
        }
        for answers in results.withLock({ $0 }) { #expect(answers == expected) }
        try Self.expectSameAnswers(store, "after concurrent builders")
    }
}

/// A value behind a lock, for results gathered from concurrent work.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLock<Result>(_ body: (inout Value) -> Result) -> Result {
        lock.withLock { body(&value) }
    }
}
