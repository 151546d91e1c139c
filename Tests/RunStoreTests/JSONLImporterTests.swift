import Foundation
import Testing
@testable import RunStore

@Suite struct JSONLImporterTests {
    static let runs = """
        {"id": "r1", "project": "p", "name": "first", "state": "finished", "tags": ["bert"], "created_at": "2026-03-01T10:00:00Z", "config": {"lr": 0.001, "model": {"arch": "bert"}, "seed": 12345678901234567890}, "summary": {"val/f1": 0.9, "loss": NaN}}
        {"id": "r2", "entity": "other", "project": "q", "created_at": 1772359200, "runtime": 12.5, "config": {}, "url": "https://example.com/r2"}
        this is not json
        {"project": "p"}

        """
    static let history = """
        {"run_id": "r1", "_step": 0, "loss": 1.5, "val/f1": 0.1}
        {"run_id": "r1", "_step": 1, "loss": Infinity}
        {"run_id": "r1", "_step": 2, "loss": -Infinity, "big": 9007199254740993}
        {"run_id": "r2", "acc": 0.5}
        {"run_id": "r2", "acc": 0.6}
        {"run_id": "ghost", "_step": 0}
        {"run_id": "ghost", "_step": 1}
        {"run_id": "r1", "_step": 3, "loss": 0.5
        """

    struct Imported {
        var store: RunStore
        var report: JSONLImporter.Report
        var warnings: [String]
    }

    func importFiles(into store: RunStore, runs: String, history: String?, in directory: TemporaryDirectory) throws -> Imported {
        let runsPath = try directory.write(runs, to: "runs.jsonl")
        let historyPath = try history.map { try directory.write($0, to: "history.jsonl") }
        let warnings = WarningSink()
        let importer = JSONLImporter(store: store, defaultEntity: "me", defaultProject: nil, warn: warnings.add)
        try importer.importRuns(from: runsPath)
        if let historyPath { try importer.importHistory(from: historyPath) }
        importer.finish()
        return Imported(store: store, report: importer.report, warnings: warnings.messages)
    }

    @Test func importsRunsAndHistoryAndReportsBadLines() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try RunStore.create(at: "\(directory.path)/store")
        let result = try importFiles(into: store, runs: Self.runs, history: Self.history, in: directory)
        #expect(result.report.runsCreated == 2)
        #expect(result.report.stepsImported == 5)
        #expect(result.report.linesRejected == 5)
        #expect(result.warnings.contains { $0.hasSuffix("runs.jsonl:3: invalid literal (expected true, false, null, NaN, Infinity or a number) at column 1") })
        #expect(result.warnings.contains { $0.hasSuffix("runs.jsonl:4: missing \"id\"") })
        #expect(result.warnings.contains { $0.contains("history.jsonl:6: unknown run ghost") })
        #expect(result.warnings.contains { $0.contains("2 lines in all for unknown run ghost") })
        #expect(result.warnings.contains { $0.contains("history.jsonl:8: unexpected end of line") })

        let r1 = RunLocation(entity: "me", project: "p", id: "r1")
        let metadata = try store.readMetadata(r1)
        #expect(metadata.name == "first" && metadata.state == .finished && metadata.tags == ["bert"])
        #expect(metadata.createdAt == Timestamp.parse("2026-03-01T10:00:00Z"))
        #expect(try store.readObject(r1, .config)["seed"] == .bigInt("12345678901234567890"))
        let history = try store.readHistory(r1)
        #expect(history.steps.count == 3)
        #expect(history.steps[1]["loss"] == .double(.infinity))
        #expect(history.steps[2]["big"] == .int(9_007_199_254_740_993))
        #expect(history.steps.allSatisfy { $0["run_id"] == nil })
        #expect(try store.effectiveSummary(r1)["val/f1"] == 0.9)

        let r2 = RunLocation(entity: "other", project: "q", id: "r2")
        let r2Metadata = try store.readMetadata(r2)
        #expect(r2Metadata.state == .finished)
        #expect(r2Metadata.createdAt == 1_772_359_200)
        #expect(r2Metadata.extra["url"] == "https://example.com/r2")
        #expect(try store.readHistory(r2).steps.map { $0["_step"] } == [0, 1])
    }

    @Test func importingTwiceChangesNothing() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try RunStore.create(at: "\(directory.path)/store")
        _ = try importFiles(into: store, runs: Self.runs, history: Self.history, in: directory)
        let before = TemporaryDirectory.files(under: store.root)
        let again = try importFiles(into: store, runs: Self.runs, history: Self.history, in: directory)
        #expect(again.report.runsCreated == 0 && again.report.runsUpdated == 0 && again.report.runsUnchanged == 2)
        #expect(again.report.stepsImported == 0 && again.report.stepsAlreadyStored == 5)
        #expect(TemporaryDirectory.files(under: store.root) == before)
    }

    @Test func reimportingAGrownRunAddsOnlyTheNewSteps() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try RunStore.create(at: "\(directory.path)/store")
        let runs = #"{"id": "r1", "project": "p", "summary": {"a": 1}}"# + "\n"
        let history = (0..<3).map { #"{"run_id": "r1", "_step": \#($0), "x": \#($0)}"# }.joined(separator: "\n")
        _ = try importFiles(into: store, runs: runs, history: history, in: directory)
        let grownRuns = #"{"id": "r1", "project": "p", "summary": {"a": 2}}"# + "\n"
        let grown = (0..<5).map { #"{"run_id": "r1", "_step": \#($0), "x": \#($0)}"# }.joined(separator: "\n")
        let result = try importFiles(into: store, runs: grownRuns, history: grown, in: directory)
        #expect(result.report.runsUpdated == 1)
        #expect(result.report.stepsImported == 2 && result.report.stepsAlreadyStored == 3)
        let location = RunLocation(entity: "me", project: "p", id: "r1")
        #expect(try store.readHistory(location).steps.map { $0["x"] } == [0, 1, 2, 3, 4])
        #expect(try store.readObject(location, .summary) == ["a": 2])
    }

    @Test func runsNeedAProjectFromTheLineOrTheCommandLine() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try RunStore.create(at: "\(directory.path)/store")
        let path = try directory.write(#"{"id": "r9"}"# + "\n", to: "runs.jsonl")
        let warnings = WarningSink()
        let without = JSONLImporter(store: store, defaultEntity: "me", defaultProject: nil, warn: warnings.add)
        try without.importRuns(from: path)
        #expect(without.report.linesRejected == 1)
        #expect(warnings.messages.first?.contains("has no \"project\"") == true)
        let with = JSONLImporter(store: store, defaultEntity: "me", defaultProject: "fallback", warn: warnings.add)
        try with.importRuns(from: path)
        #expect(store.exists(RunLocation(entity: "me", project: "fallback", id: "r9")))
    }
}

/// Collects warnings from code that reports them through a closure.
final class WarningSink: @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [String] = []

    var messages: [String] { lock.withLock { collected } }

    func add(_ message: String) { lock.withLock { collected.append(message) } }
}
