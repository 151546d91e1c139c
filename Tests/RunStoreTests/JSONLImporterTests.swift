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

    /// Imports `history` (after `prefix`, when given) into a fresh store, reading history in
    /// blocks of `blockSize` bytes (each block scanned as two halves at once).
    func importHistory(_ history: String, prefix: String?, runs: String, blockSize: Int, in directory: TemporaryDirectory, name: String) throws -> (files: [String: Data], reports: [JSONLImporter.Report], warnings: [String]) {
        let store = try RunStore.create(at: "\(directory.path)/\(name)")
        let runsPath = try directory.write(runs, to: "runs.jsonl")
        var reports: [JSONLImporter.Report] = []
        let warnings = WarningSink()
        for text in [prefix, history].compactMap({ $0 }) {
            let path = try directory.write(text, to: "history.jsonl")
            let importer = JSONLImporter(store: store, defaultEntity: "me", defaultProject: nil, warn: warnings.add)
            importer.historyBlockSize = blockSize
            try importer.importRuns(from: runsPath)
            try importer.importHistory(from: path)
            importer.finish()
            reports.append(importer.report)
        }
        return (TemporaryDirectory.files(under: store.root), reports, warnings.messages)
    }

    @Test func historyInManySmallBlocksImportsAsInOneBlock() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let runs = (1...3).map { #"{"id": "r\#($0)", "project": "p"}"# }.joined(separator: "\n") + "\n"
        // Runs in stretches of 150 lines (r1 and r3 numbered implicitly, r2 explicitly), so that their
        // lines straddle blocks and halves, with bad lines, blank lines and an unknown run among them.
        var lines: [String] = []
        var badLines: [Int] = []
        for index in 0..<2000 {
            let run = index / 150 % 3 + 1
            switch index % 97 {
            case 13:
                lines.append(#"{"run_id": "r\#(run)", "broken": }"#)
                badLines.append(index + 1)
            case 50: lines.append("")
            case 71: lines.append(#"{"run_id": "ghost", "_step": \#(index)}"#)
            default:
                lines.append(run == 2 ? #"{"run_id":"r2","_step":\#(index),"x":\#(index)}"# : #"{"run_id": "r\#(run)", "x": \#(index)}"#)
            }
        }
        let history = lines.joined(separator: "\n")
        let prefix = lines[..<700].joined(separator: "\n") + "\n"
        let whole = try importHistory(history, prefix: prefix, runs: runs, blockSize: 8 << 20, in: directory, name: "whole")
        for blockSize in [1, 300, 4096] {
            let blocks = try importHistory(history, prefix: prefix, runs: runs, blockSize: blockSize, in: directory, name: "blocks\(blockSize)")
            #expect(blocks.files == whole.files)
            #expect(blocks.reports == whole.reports)
            #expect(blocks.warnings == whole.warnings)
        }
        // And what the one-block import did is right: every stretch appended in order, implicit steps
        // numbered on from the run's previous line, the prefix's steps skipped, warnings in line order.
        #expect(whole.reports[1].stepsAlreadyStored > 0 && whole.reports[1].stepsImported > 0)
        let store = try RunStore.open(at: "\(directory.path)/whole")
        let r1 = try store.readHistory(RunLocation(entity: "me", project: "p", id: "r1")).steps
        #expect(r1.map { $0["_step"]?.integerValue } == (0..<Int64(r1.count)).map { $0 })
        let xs = r1.compactMap { $0["x"]?.integerValue }
        #expect(xs == xs.sorted() && xs.count == r1.count)
        let warned = whole.warnings.compactMap { warning -> Int? in
            guard warning.contains("broken") || warning.contains("expected a value") else { return nil }
            return Int(warning.split(separator: ":")[1])
        }
        #expect(warned == badLines.filter { $0 <= 700 } + badLines)
        #expect(whole.warnings.last?.hasSuffix("lines in all for unknown run ghost were skipped") == true)
    }

    @Test func runsInSeveralBatchesAreReportedInLineOrder() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // Batches are 1,024 lines: the changes to r3 and r4 and the bad name come in the second.
        var lines = (0..<1200).map { #"{"id": "r\#($0)", "project": "p", "summary": {"i": \#($0)}}"# }
        lines[700] = "oops"
        lines[1050] = #"{"id": "r3", "project": "p", "summary": {"i": -3}}"#
        lines[1100] = #"{"id": "r4", "project": "p", "summary": {"i": 4}}"#
        lines[1150] = #"{"id": "a/b", "project": "p"}"#
        let path = try directory.write(lines.joined(separator: "\n") + "\n", to: "runs.jsonl")
        let store = try RunStore.create(at: "\(directory.path)/store")
        let warnings = WarningSink()
        let importer = JSONLImporter(store: store, defaultEntity: "me", defaultProject: nil, warn: warnings.add)
        try importer.importRuns(from: path)
        #expect(importer.report.runsCreated == 1196 && importer.report.runsUpdated == 1 && importer.report.runsUnchanged == 1)
        #expect(importer.report.linesRejected == 2)
        #expect(warnings.messages.count == 2)
        #expect(warnings.messages.first?.contains("runs.jsonl:701: ") == true)
        #expect(warnings.messages.last?.contains("runs.jsonl:1151: the run id \"a/b\" must not contain '/'") == true)
        #expect(try store.readObject(RunLocation(entity: "me", project: "p", id: "r3"), .summary) == ["i": -3])
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
