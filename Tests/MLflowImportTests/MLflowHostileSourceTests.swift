import Foundation
import RunStore
import Testing
import TestSupport
@testable import MLflowImport

/// Sources a user can hand the importer that once crashed it, hung it or made it copy files it
/// should not: each is now a note naming the file, and the rest of the import goes on.
@Suite struct MLflowHostileSourceTests {
    typealias Backend = MLflowFixture.Backend

    // MARK: Times out of range (once an arithmetic-overflow trap)

    /// `end_time − start_time` overflowing 64 bits: no runtime, no trap; the run still imports and reads back.
    @Test(arguments: Backend.allCases)
    func runtimeOverflowLeavesRuntimeOutWithANote(_ backend: Backend) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = try MLflowFixture.copy(backend, into: directory)
        let id = MLflowFixture.baselineID(backend)
        switch backend {
        case .file:
            try MLflowFixture.editMeta("\(source)/\(MLflowFixture.baselineFolder)/meta.yaml") { line in
                if line.hasPrefix("end_time:") { return "end_time: 9223372036854775807" }
                if line.hasPrefix("start_time:") { return "start_time: -5" }
                return line
            }
        case .sqlite:
            try MLflowFixture.execute(source, "UPDATE runs SET end_time = 9223372036854775807, start_time = -5 WHERE run_uuid = '\(id)'")
        }
        let imported = try MLflowFixture.importInto(backend, source: source, directory: directory)
        #expect(imported.report.runsFailed == 0 && imported.report.runsCreated == 10)
        let location = RunLocation(entity: "alice", project: "anchors-demo", id: id)
        let metadata = try imported.store.readMetadata(location)
        #expect(metadata.name == "baseline")
        #expect(metadata.runtime == nil && metadata.updatedAt == nil)
        #expect(abs((metadata.createdAt ?? 0) + 0.005) < 1e-9)
        #expect(imported.warnings.contains { $0.contains("end time 9223372036854775807 ms minus start time -5 ms does not fit in 64 bits; runtime left out") }, "\(imported.warnings)")
        #expect(imported.warnings.contains { $0.contains("end time 9223372036854775807 ms is not a time runql can store") }, "\(imported.warnings)")
        let origin = backend == .file ? MLflowFixture.baselineFolder : "mlflow.db (run \(id))"
        #expect(imported.warnings.contains { $0.contains(origin) && $0.contains("runtime left out") }, "\(imported.warnings)")
    }

    /// A metric point whose timestamp minus the run's start overflows: that step has no `_runtime`.
    @Test(arguments: Backend.allCases)
    func metricTimestampOverflowLeavesRuntimeOutOfThatStep(_ backend: Backend) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = try MLflowFixture.copy(backend, into: directory)
        let id = MLflowFixture.baselineID(backend)
        switch backend {
        case .file:
            try MLflowFixture.append("-9223372036854775807 0.5 1\n", to: "\(source)/\(MLflowFixture.baselineFolder)/metrics/loss")
        case .sqlite:
            try MLflowFixture.execute(source, """
                INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan)
                  VALUES ('loss', 0.5, -9223372036854775807, '\(id)', 1, 0)
                """)
        }
        let imported = try MLflowFixture.importInto(backend, source: source, directory: directory)
        #expect(imported.report.runsFailed == 0)
        let steps = try imported.store.readHistory(RunLocation(entity: "alice", project: "anchors-demo", id: id)).steps
        #expect(steps.count == 12)
        let early = try #require(steps.first)
        #expect(early["_step"] == .int(1) && early["loss"] == .double(0.5) && early["_runtime"] == nil)
        #expect(early["_timestamp"] == .double(-9223372036854775.807))
        #expect(steps.dropFirst().allSatisfy { $0["_runtime"] != nil })
        #expect(imported.warnings.contains { $0.contains("metric point(s) of loss at step 1 have timestamp -9223372036854775807 ms") && $0.contains("_runtime left out") }, "\(imported.warnings)")
    }

    /// A model version created at a time the store cannot write once produced an artifact
    /// version its reader rejects (the artifact vanished from queries): now the time is left out.
    @Test func modelVersionCreationTimeOutOfRangeIsLeftOut() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let mlruns = try MLflowFixture.copy(.file, into: directory)
        try MLflowFixture.editMeta("\(mlruns)/models/demo-model/version-1/meta.yaml") { line in
            line.hasPrefix("creation_timestamp:") ? "creation_timestamp: 9223372036854775807" : line
        }
        let imported = try MLflowFixture.importInto(.file, source: mlruns, directory: directory)
        #expect(imported.report.artifactsCreated == 1)
        let versions = try imported.store.artifactVersions(ArtifactName(entity: "alice", project: "anchors-demo", name: "demo-model"))
        #expect(versions.count == 1 && versions.first?.files.count == 7)
        #expect(imported.warnings.contains("registered model demo-model version 1: creation time 9223372036854775807 ms is not a time runql can store (years 0000 to 9999); left out"), "\(imported.warnings)")
    }

    // MARK: Symbolic links and special files (once an endless walk)

    /// `params/a → .` and `params/b → .` (an endless walk once), a FIFO among the tags (a read that
    /// never ends, as would a FIFO `meta.yaml`) and a link to `/` in a model's folder: all left out
    /// with a note.
    @Test(.timeLimit(.minutes(1)))
    func symbolicLinksAndSpecialFilesAreNotFollowed() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let mlruns = try MLflowFixture.copy(.file, into: directory)
        let run = "\(mlruns)/\(MLflowFixture.baselineFolder)"
        try FileManager.default.createSymbolicLink(atPath: "\(run)/params/a", withDestinationPath: ".")
        try FileManager.default.createSymbolicLink(atPath: "\(run)/params/b", withDestinationPath: ".")
        try FileManager.default.createSymbolicLink(atPath: "\(run)/metrics/again", withDestinationPath: "..")
        #expect(mkfifo("\(run)/tags/pipe", 0o644) == 0)
        let fifoRun = "\(mlruns)/961493392394604608/0123456789abcdef0123456789abcdef"
        try FileManager.default.createDirectory(atPath: fifoRun, withIntermediateDirectories: false)
        #expect(mkfifo("\(fifoRun)/meta.yaml", 0o644) == 0)
        let modelFolder = "\(mlruns)/961493392394604608/models/m-be3713e5cbd24690a844a9f3f472065b/artifacts"
        try FileManager.default.createSymbolicLink(atPath: "\(modelFolder)/root", withDestinationPath: "/")

        let imported = try MLflowFixture.importInto(.file, source: mlruns, directory: directory)
        #expect(imported.report.runsFailed == 0 && imported.report.runsCreated == 10)
        for link in ["params/a", "params/b", "metrics/again"] {
            #expect(imported.warnings.contains("\(run)/\(link): a symbolic link, which the import does not follow; left out"), "\(imported.warnings)")
        }
        #expect(imported.warnings.contains("\(run)/tags/pipe: neither a file nor a folder; left out"), "\(imported.warnings)")
        #expect(imported.warnings.contains("\(fifoRun)/meta.yaml: not a regular file; run skipped"), "\(imported.warnings)")
        #expect(imported.warnings.contains { $0.hasPrefix("registered model demo-model version 1: ") && $0.hasSuffix("/models/m-be3713e5cbd24690a844a9f3f472065b/artifacts/root: a symbolic link, which the import does not follow; left out") }, "\(imported.warnings)")

        let location = RunLocation(entity: "alice", project: "anchors-demo", id: MLflowFixture.baselineID(.file))
        let config = try imported.store.readObject(location, .config)
        #expect(config["lr"] == .double(0.001) && config["optimizer"] == .string("adam"))
        #expect(try imported.store.readHistory(location).steps.count == 11)
        let version = try #require(try imported.store.artifactVersions(ArtifactName(entity: "alice", project: "anchors-demo", name: "demo-model")).first)
        #expect(version.files.map(\.path) == ["MLmodel", "conda.yaml", "input_example.json", "model.skops", "python_env.yaml", "requirements.txt", "serving_input_example.json"])
    }

    /// Folders nested deeper than the walk goes are left out with a note, not recursed into.
    @Test func deeplyNestedKeyFoldersStopAtTheDepthLimit() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let mlruns = try MLflowFixture.copy(.file, into: directory)
        let run = "\(mlruns)/\(MLflowFixture.baselineFolder)"
        let deep = "\(run)/params/" + Array(repeating: "d", count: FileStoreReader.maximumDepth + 1).joined(separator: "/")
        try FileManager.default.createDirectory(atPath: deep, withIntermediateDirectories: true)
        try "1".write(toFile: "\(deep)/x", atomically: false, encoding: .utf8)
        let imported = try MLflowFixture.importInto(.file, source: mlruns, directory: directory)
        #expect(imported.report.runsFailed == 0)
        #expect(imported.warnings.contains { $0.hasPrefix("\(run)/params/d/") && $0.hasSuffix(": more than \(FileStoreReader.maximumDepth) folders deep; left out") }, "\(imported.warnings)")
        let config = try imported.store.readObject(RunLocation(entity: "alice", project: "anchors-demo", id: MLflowFixture.baselineID(.file)), .config)
        #expect(config["lr"] == .double(0.001))
    }

    // MARK: Model files outside the imported store (once copied into the blob store)

    /// A model version whose location names a file outside the folder holding `mlruns/` (given
    /// as is, or reached by `..` from a rebased tail) is imported without files, with a note.
    @Test(arguments: ["absolute", "dotdot"])
    func modelFilesOutsideTheImportedStoreAreNotCopied(_ form: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let outside = try TemporaryDirectory()
        defer { outside.remove() }
        let secret = try outside.write("not yours", to: "secret.txt")
        let location = form == "absolute"
            ? "file://\(secret)"
            : "file:///home/alice/ml-project/../\((outside.path as NSString).lastPathComponent)/secret.txt"
        let mlruns = try MLflowFixture.copy(.file, into: directory)
        try MLflowFixture.editMeta("\(mlruns)/models/demo-model/version-1/meta.yaml") { line in
            if line.hasPrefix("model_id:") { return nil }
            if line.hasPrefix("source:") { return "source: \(location)" }
            if line.hasPrefix("storage_location:") { return "storage_location: \(location)" }
            return line
        }
        let imported = try MLflowFixture.importInto(.file, source: mlruns, directory: directory)
        let version = try #require(try imported.store.artifactVersions(ArtifactName(entity: "alice", project: "anchors-demo", name: "demo-model")).first)
        #expect(version.files.isEmpty)
        #expect(imported.warnings.contains { $0.hasPrefix("registered model demo-model version 1: its files at \(location)") && $0.contains("lie outside") && $0.hasSuffix("imported without files") }, "\(imported.warnings)")
        let blobs = TemporaryDirectory.files(under: "\(imported.store.root)/blobs")
        #expect(!blobs.values.contains(Data("not yours".utf8)))
    }

    // MARK: Re-importing a grown run (once a second row for a stored step)

    /// New points on steps already stored (a new metric at step 0) and beyond (loss at step 10):
    /// the re-import rewrites that history, and the store is byte for byte a fresh import's.
    @Test(arguments: Backend.allCases)
    func reimportWithPointsOnStoredStepsEqualsAFreshImport(_ backend: Backend) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = try MLflowFixture.copy(backend, into: directory)
        let incremental = try MLflowFixture.importInto(backend, source: source, directory: directory)
        let id = MLflowFixture.baselineID(backend)
        let baseline = RunLocation(entity: "alice", project: "anchors-demo", id: id)
        let stepZero = try #require(try incremental.store.readHistory(baseline).steps.first { $0["_step"] == .int(0) })
        let time = try #require(stepZero["_timestamp"]?.doubleValue).rounded(.down)  // seconds; points are in ms
        switch backend {
        case .file:
            let run = "\(source)/\(MLflowFixture.baselineFolder)"
            try MLflowFixture.append("\(Int64(time * 1000) + 5000) 7.5 0\n", to: "\(run)/metrics/newmetric")
            try MLflowFixture.append("\(Int64(time * 1000) + 6000) 0.05 10\n", to: "\(run)/metrics/loss")
        case .sqlite:
            try MLflowFixture.execute(source, """
                INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES
                  ('newmetric', 7.5, \(Int64(time * 1000) + 5000), '\(id)', 0, 0),
                  ('loss', 0.05, \(Int64(time * 1000) + 6000), '\(id)', 10, 0);
                """)
        }
        let (report, _) = try MLflowFixture.run(backend, source: source, into: incremental.store)
        #expect(report.historiesRewritten == 1 && report.runsUpdated == 1 && report.runsUnchanged == 9)
        #expect(report.pointsImported == 2 && report.stepsImported == 1)
        let steps = try incremental.store.readHistory(baseline).steps
        #expect(steps.filter { $0["_step"] == .int(0) }.count == 1)
        #expect(steps.first { $0["_step"] == .int(0) }?["newmetric"] == .double(7.5))

        let fresh = try MLflowFixture.importInto(backend, source: source)
        defer { fresh.directory.remove() }
        let got = TemporaryDirectory.files(under: "\(incremental.store.root)/entities")
        let want = TemporaryDirectory.files(under: "\(fresh.store.root)/entities")
        #expect(got.keys.sorted() == want.keys.sorted())
        for (path, bytes) in want { #expect(got[path] == bytes, "\(path)") }

        // And once more: nothing changes.
        let (again, _) = try MLflowFixture.run(backend, source: source, into: incremental.store)
        #expect(again.historiesRewritten == 0 && again.stepsImported == 0 && again.runsUpdated == 0)
    }
}
