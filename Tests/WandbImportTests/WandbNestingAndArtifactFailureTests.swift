import Foundation
import Testing
@testable import RunStore
@testable import WandbImport

/// Logs and files built to break the importer: keys nested past what the store reads, artifacts the
/// store refuses. Each loses only the offending item, says so, and the rest of the run imports.
@Suite struct WandbNestingAndArtifactFailureTests {
    typealias Proto = WandbDecodingTests
    static let limit = JSONParser.maximumDepth

    /// A run record of project anchors-demo.
    static func runRecord(_ id: String) -> [UInt8] {
        Proto.field(17, Proto.string(1, id) + Proto.string(3, "anchors-demo"))
    }

    /// An item at a nested key path with its value as JSON text.
    static func item(_ path: [String], _ json: String) -> [UInt8] {
        Proto.field(1, path.flatMap { Proto.string(2, $0) } + Proto.string(16, json))
    }

    static func path(_ count: Int) -> [String] { Array(repeating: "k", count: count) }

    /// Writes `records` as the log of an offline run folder under `directory`/wandb; returns the log's path.
    static func writeLog(_ id: String, _ records: [[UInt8]], in directory: TemporaryDirectory) throws -> String {
        let folder = "\(directory.path)/wandb/offline-run-20261128_075952-\(id)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = "\(folder)/run-\(id).wandb"
        try Data(LogWriter.frame(records)).write(to: URL(fileURLWithPath: path))
        return LocalFiles.absolute(path)
    }

    @Test func keyPathsNestedDeeperThanTheStoreReadsAreLeftOutNotACrashOrAnUnreadableRun() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = Proto.field(5,
            Self.item(["lr"], "0.1")
            // 100,000 names overflowed the stack; 600 wrote a config.json the store could not read back.
            + Self.item(Self.path(100_000), "1") + Self.item(["wide"] + Self.path(599), "1")
            // The key path and the value's own nesting add up.
            + Self.item(["deep"] + Self.path(Self.limit - 2), "[[1]]") + Self.item(["fits"] + Self.path(Self.limit - 2), "[1]"))
        let summary = Proto.field(3, Self.item(Self.path(Self.limit + 1), "1") + Self.item(["acc"], "0.9"))
        let removal = Proto.field(5, Proto.field(2, Self.path(100_000).flatMap { Proto.string(2, $0) }))
        let history = Proto.field(2, Self.item(["loss"], "0.5") + Self.item(Self.path(Self.limit + 1), "2"))
        let log = try Self.writeLog("deepkeys", [Self.runRecord("deepkeys"), config, summary, removal, history], in: directory)
        let store = try RunStore.create(at: "\(directory.path)/store")

        let imported = try importWandb(["\(directory.path)/wandb"], into: store)
        #expect(imported.report.runsCreated == 1)
        #expect(imported.report.skipped.isEmpty)
        #expect(imported.report.stepsImported == 1)
        let leftOut = imported.warnings.filter { $0.hasSuffix("left out") }
        #expect(leftOut.count == 5, "\(imported.warnings)")
        #expect(leftOut.allSatisfy { $0.hasPrefix("\(log): offset ") })
        #expect(leftOut.contains { $0.contains("config key k.k.k.k… has 100000 parts") })
        #expect(leftOut.contains { $0.contains("config value of deep.k.k.k… nests 513 levels deep") })

        // What was kept reads back through the store's own reader.
        let here = location("deepkeys")
        let stored = try store.readObject(here, .config)
        #expect(Array(stored.keys) == ["lr", "fits"])
        #expect(stored.value(at: ["fits"] + Self.path(Self.limit - 2)) == [1])
        #expect(try store.readObject(here, .summary) == ["acc": 0.9])
        #expect(try store.readHistory(here).steps == [["_step": 0, "loss": 0.5]])

        // Importing again finds the run unchanged, not unreadable.
        let again = try importWandb(["\(directory.path)/wandb"], into: store)
        #expect(again.report.runsUnchanged == 1 && again.report.skipped.isEmpty)
    }

    @Test func configYAMLNestedThousandsDeepLosesOnlyThoseKeys() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let files = "\(directory.path)/wandb/run-20261128_080012-yamldeep/files"
        try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
        // Block mappings or flow collections nested thousands deep overflowed the stack.
        let levels = 2_000
        var lines = ["wandb_version: 1", "lr:", "  desc: null", "  value: 0.1", "deep:", "  value:"]
        for level in 0..<levels { lines.append(String(repeating: "  ", count: level + 2) + "k:") }
        lines.append(String(repeating: "  ", count: levels + 2) + "k: 1")
        lines.append("flow: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000))
        lines += ["epochs:", "  value: 3"]
        try lines.joined(separator: "\n").write(toFile: "\(files)/config.yaml", atomically: true, encoding: .utf8)
        try #"{"acc": 0.9}"#.write(toFile: "\(files)/wandb-summary.json", atomically: true, encoding: .utf8)
        let store = try RunStore.create(at: "\(directory.path)/store")

        let imported = try importWandb(["\(directory.path)/wandb"], into: store, project: "anchors-demo")
        #expect(imported.report.runsCreated == 1 && imported.report.skipped.isEmpty)
        let yaml = LocalFiles.absolute("\(files)/config.yaml")
        #expect(imported.warnings.contains("\(yaml): line 5: config key deep: nesting deeper than 512 levels; left out"))
        #expect(imported.warnings.contains("\(yaml): line \(lines.count - 2): config key flow: nesting deeper than 512 levels; left out"))
        #expect(try store.readObject(location("yamldeep"), .config) == ["lr": 0.1, "epochs": 3])
        #expect(try store.readObject(location("yamldeep"), .summary) == ["acc": 0.9])

        // Read strictly, the same text is an error, still not a crash.
        #expect(throws: YAMLSubset.ParseError.self) { try YAMLSubset.parse(lines.joined(separator: "\n")) }
        let atLimit = (0..<Self.limit).map { String(repeating: "  ", count: $0) + "k:" }.joined(separator: "\n") + " 1"
        #expect(try YAMLSubset.parse(atLimit).nestingDepth == Self.limit)
    }

    /// An artifact record: type dataset, one manifest entry per path (W&B's MD5 of nothing, size 0).
    static func artifact(_ name: String, paths: [String]) -> [UInt8] {
        let entries = paths.flatMap { path in
            Proto.field(4, Proto.string(1, path) + Proto.string(2, "1B2M2Y8AsgTpgAmY7PhCfg==") + [0x20, 0x00])
        }
        return Proto.field(8, Proto.string(4, "dataset") + Proto.string(5, name) + Proto.field(12, entries))
    }

    @Test func anArtifactTheStoreRefusesIsSkippedAndTheRunAndLaterArtifactsImport() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try Self.writeLog("badart", [
            Self.runRecord("badart"), Self.artifact("first", paths: ["a.txt"]),
            Self.artifact("escapes", paths: ["../../../x"]), Self.artifact("later", paths: ["b.txt"]),
        ], in: directory)
        let store = try RunStore.create(at: "\(directory.path)/store")

        let imported = try importWandb(["\(directory.path)/wandb"], into: store)
        // The run was counted as new and as skipped at once, and "later" was lost.
        #expect(imported.report.runsCreated == 1)
        #expect(imported.report.skipped.isEmpty)
        #expect(imported.report.artifactVersionsCreated == 2)
        #expect(imported.report.artifactVersionsSkipped.count == 1)
        #expect(imported.warnings.contains { $0.hasPrefix("skipped artifact escapes (dataset) of run badart: ") && $0.contains("../../../x") })
        for name in ["first", "later"] {
            #expect(try store.artifactVersions(ArtifactName(entity: "alice", project: "anchors-demo", name: name)).count == 1)
        }
        #expect(try store.artifactVersions(ArtifactName(entity: "alice", project: "anchors-demo", name: "escapes")).isEmpty)

        let again = try importWandb(["\(directory.path)/wandb"], into: store)
        #expect(again.report.runsUnchanged == 1 && again.report.skipped.isEmpty)
        #expect(again.report.artifactVersionsExisting == 2 && again.report.artifactVersionsSkipped.count == 1)
    }
}
