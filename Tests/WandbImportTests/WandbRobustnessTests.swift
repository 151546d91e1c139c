import Foundation
import Testing
@testable import RunStore
@testable import WandbImport

/// Damaged logs, re-imports, grown runs, resumed runs.
@Suite struct WandbRobustnessTests {
    /// A deterministic generator (SplitMix64), so a failing cut can be reproduced.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Writes `bytes` as the log of a fresh run folder named like the reference's, and returns its wandb/ folder.
    func writeRunFolder(_ reference: Fixtures.Reference, log bytes: [UInt8], in directory: TemporaryDirectory, name: String = "wandb") throws -> String {
        let wandb = "\(directory.path)/\(name)"
        let folder = "\(wandb)/\(reference.folder)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: "\(folder)/run-\(reference.runID).wandb"))
        return wandb
    }

    @Test(arguments: Fixtures.references)
    func logsCutAtRandomOffsetsKeepWhatPrecedesTheCut(_ reference: Fixtures.Reference) throws {
        let full = try #require(FileManager.default.contents(atPath: reference.logPath)).map { $0 }
        let expected = try reference.load()
        let rows = try #require(expected["history"]?.arrayValue).compactMap(\.objectValue)
        var generator = SeededGenerator(state: UInt64(full.count))
        var cuts = (0..<10).map { _ in Int.random(in: 0..<full.count, using: &generator) }
        cuts += [0, 6, 7, 8, 32768, full.count - 1]
        for cut in cuts where cut < full.count {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let store = try RunStore.create(at: "\(directory.path)/store")
            let wandb = try writeRunFolder(reference, log: Array(full[0..<cut]), in: directory)
            let imported = try importWandb([wandb], into: store)
            let context = Comment(rawValue: "cut at \(cut) of \(full.count)")
            if imported.report.runsCreated == 0 {
                // Cut before the run record: nothing to place the run with; skipped with a reason.
                #expect(imported.report.skipped.count == 1, context)
                #expect(imported.report.skipped.allSatisfy { $0.contains("project is unknown") || $0.contains("header") }, context)
                #expect(rows.allSatisfy { ($0["__offset"]?.integerValue ?? 0) >= Int64(cut) - 7 }, context)
                continue
            }
            let stored = try store.readHistory(location(reference.runID)).steps
            let before = rows.filter { ($0["__offset"]?.integerValue ?? .max) < Int64(cut) }.count
            #expect(stored.count == before || stored.count == before - 1, context)
            let prefix = rows.prefix(stored.count).map { $0.without("__step_field", "__offset").referenceForm }
            #expect(stored.map(\.referenceForm) == prefix, context)
            let metadata = try store.readMetadata(location(reference.runID))
            let exitOffset = expected["exit"]?.objectValue?["offset"]?.integerValue ?? .max
            if Int64(cut) <= exitOffset { #expect(metadata.state == .crashed, context) }
            if !imported.warnings.isEmpty {
                #expect(imported.warnings.allSatisfy { $0.contains("run-\(reference.runID).wandb") && $0.contains("offset") }, context)
            }
        }
    }

    @Test func aCorruptChunkKeepsTheRecordsBeforeItAndNamesTheOffset() throws {
        let reference = try #require(Fixtures.references.first { $0.folder.hasSuffix("73lntyb1") })
        var bytes = try #require(FileManager.default.contents(atPath: reference.logPath)).map { $0 }
        let rows = try #require(try reference.load()["history"]?.arrayValue).compactMap(\.objectValue)
        let damaged = Int(try #require(rows[12]["__offset"]?.integerValue))
        bytes[damaged + 20] ^= 0xFF
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try RunStore.create(at: "\(directory.path)/store")
        let imported = try importWandb([try writeRunFolder(reference, log: bytes, in: directory)], into: store)
        #expect(imported.report.runsCreated == 1 && imported.report.runsDamaged == 1)
        #expect(try store.readHistory(location(reference.runID)).steps.count == 12)
        #expect(imported.warnings.count == 1)
        #expect(imported.warnings.first?.contains("run-73lntyb1.wandb: damaged at offset \(damaged): checksum mismatch in the chunk at offset \(damaged)") == true)
        #expect(try store.readMetadata(location(reference.runID)).state == .crashed)
    }

    @Test func readingGoesOnAtTheNextBlockAfterACorruptChunk() throws {
        let reference = try #require(Fixtures.references.first { $0.folder.hasSuffix("2ag7iusd") })
        var bytes = try #require(FileManager.default.contents(atPath: reference.logPath)).map { $0 }
        let rows = try #require(try reference.load()["history"]?.arrayValue).compactMap(\.objectValue)
        let damaged = Int(try #require(rows[10]["__offset"]?.integerValue))
        bytes[damaged + 20] ^= 0xFF
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try RunStore.create(at: "\(directory.path)/store")
        let imported = try importWandb([try writeRunFolder(reference, log: bytes, in: directory)], into: store)
        #expect(imported.report.runsCreated == 1)
        // Lost: the records from the damaged one to the first record that starts in the next block.
        let kept = rows.filter { row in
            let offset = Int(row["__offset"]?.integerValue ?? 0)
            return offset < damaged || offset >= WandbLogReader.blockSize
        }
        #expect(kept.count == 240)
        let stored = try store.readHistory(location(reference.runID)).steps
        #expect(stored.map(\.referenceForm) == kept.map { $0.without("__step_field", "__offset").referenceForm })
        #expect(imported.warnings.count == 2)
        #expect(imported.warnings.first?.contains("damaged at offset \(damaged): checksum mismatch in the chunk at offset \(damaged)") == true)
        #expect(imported.warnings.first?.contains("reading went on there") == true)
        #expect(imported.warnings.last?.contains("the last 7 bytes were not imported") == true)
    }

    @Test func importingTwiceChangesNothing() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try RunStore.create(at: "\(directory.path)/store")
        try importWandb([Fixtures.core, Fixtures.legacy], into: store)
        let before = TemporaryDirectory.files(under: store.root)
        let again = try importWandb([Fixtures.core, Fixtures.legacy], into: store)
        #expect(again.report.runsCreated == 0 && again.report.runsUpdated == 0 && again.report.runsUnchanged == 14)
        #expect(again.report.stepsImported == 0 && again.report.stepsAlreadyStored == 876)
        #expect(again.report.artifactVersionsCreated == 0)
        #expect(TemporaryDirectory.files(under: store.root) == before)
    }

    @Test func reimportingAGrownRunAddsOnlyTheNewSteps() throws {
        let reference = try #require(Fixtures.references.first { $0.folder.hasSuffix("73lntyb1") })
        let full = try #require(FileManager.default.contents(atPath: reference.logPath)).map { $0 }
        let rows = try #require(try reference.load()["history"]?.arrayValue).compactMap(\.objectValue)
        let cut = Int(try #require(rows[15]["__offset"]?.integerValue))
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try RunStore.create(at: "\(directory.path)/store")
        let wandb = try writeRunFolder(reference, log: Array(full[0..<cut]), in: directory)
        let first = try importWandb([wandb], into: store)
        #expect(first.report.stepsImported == 15)
        #expect(try store.readMetadata(location(reference.runID)).state == .crashed)

        _ = try writeRunFolder(reference, log: full, in: directory)
        let grown = try importWandb([wandb], into: store)
        #expect(grown.report.runsUpdated == 1)
        #expect(grown.report.stepsImported == 15 && grown.report.stepsAlreadyStored == 15)
        let stored = try store.readHistory(location(reference.runID)).steps
        #expect(stored.map(\.referenceForm) == rows.map { $0.without("__step_field", "__offset").referenceForm })
        #expect(try store.readMetadata(location(reference.runID)).state == .finished)
        #expect(try store.readObject(location(reference.runID), .summary)["val/f1"] == 0.85)
    }

    @Test func aResumedRunInTwoFoldersIsOneRunAndLatestRunIsNotImportedTwice() throws {
        let reference = try #require(Fixtures.references.first { $0.folder.hasSuffix("73lntyb1") })
        let records = try LogWriter.records(of: reference.logPath)
        let rows = try #require(try reference.load()["history"]?.arrayValue).compactMap(\.objectValue)
        let split = try #require(records.firstIndex { $0.offset == Int(rows[15]["__offset"]?.integerValue ?? -1) })
        let runRecord = try #require(records.first { if case .run = try WandbRecord.decode($0.payload[...]) { true } else { false } })
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let wandb = "\(directory.path)/wandb"
        let later = "\(wandb)/offline-run-20261128_090000-73lntyb1"
        for (folder, parts) in [
            ("\(wandb)/\(reference.folder)", records[..<split].map(\.payload)),
            (later, [records[0].payload, runRecord.payload] + records[split...].map(\.payload)),
        ] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try Data(LogWriter.frame(parts)).write(to: URL(fileURLWithPath: "\(folder)/run-73lntyb1.wandb"))
        }
        try FileManager.default.createSymbolicLink(atPath: "\(wandb)/latest-run", withDestinationPath: later)

        let store = try RunStore.create(at: "\(directory.path)/store")
        let imported = try importWandb([wandb], into: store)
        #expect(imported.report.runsCreated == 1)
        #expect(imported.report.stepsImported == 30)
        #expect(imported.warnings.isEmpty)
        let here = location("73lntyb1")
        #expect(try store.readHistory(here).steps.map(\.referenceForm) == rows.map { $0.without("__step_field", "__offset").referenceForm })
        #expect(try store.readMetadata(here).state == .finished)
        let expected = try reference.load()
        #expect(try store.readObject(here, .summary).referenceForm == (expected["summary"]?.objectValue ?? [:]).without("_wandb").referenceForm)
        #expect(try store.readMetadata(here).extra["wandb"]?.objectValue?["folders"] == .array([.string(LocalFiles.absolute("\(wandb)/\(reference.folder)")), .string(LocalFiles.absolute(later))]))
    }

    @Test func aFolderWithoutALogFallsBackToConfigYAMLAndTheSummaryFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let folder = "\(directory.path)/wandb/run-20261128_080012-1dm3btdi"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try copyFolder("\(Fixtures.root)/reference/legacy_replayed_online_files/baseline-lr1e-3", to: "\(folder)/files")
        let store = try RunStore.create(at: "\(directory.path)/store")

        let withoutProject = try importWandb(["\(directory.path)/wandb"], into: store)
        #expect(withoutProject.report.skipped.count == 1)
        #expect(withoutProject.report.skipped.first?.contains("pass --project") == true)

        let imported = try importWandb(["\(directory.path)/wandb"], into: store, project: "anchors-demo")
        #expect(imported.report.runsCreated == 1)
        #expect(imported.warnings == ["\(LocalFiles.absolute(folder)): no run-1dm3btdi.wandb: config and summary read from files/; history and exit state unknown"])
        let reference = try #require(Fixtures.references.first { $0.folder.hasSuffix("1dm3btdi") }).load()
        let config = try store.readObject(location("1dm3btdi"), .config)
        #expect(config.referenceForm == (reference["config"]?.objectValue ?? [:]).without("_wandb").referenceForm)
        #expect(config["optimizer"]?.objectValue?["eps"] == .double(1e-08))
        let summary = try store.readObject(location("1dm3btdi"), .summary)
        #expect(summary.referenceForm == (reference["summary"]?.objectValue ?? [:]).referenceForm)
    }

    @Test func artifactsWithoutStagingCopiesKeepReferencesAndStayOneVersion() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try RunStore.create(at: "\(directory.path)/store")
        let producer = "\(Fixtures.core)/offline-run-20261128_075957-paur6a7g"
        let first = try importWandb([producer], into: store, dataDirectory: "\(directory.path)/nowhere")
        #expect(first.report.artifactVersionsCreated == 1 && first.report.artifactFilesReferenced == 1)
        let name = ArtifactName(entity: "alice", project: "anchors-demo", name: "cnn-model")
        #expect(try store.artifactVersions(name).first?.files.first?.digest == "md5:suqff86oMaSmOyE/QaiFWw==")
        // The staging copy is found later: same W&B content, so still one version.
        let second = try importWandb([producer], into: store)
        #expect(second.report.artifactVersionsCreated == 0)
        #expect(try store.artifactVersions(name).count == 1)
        #expect(Set(try store.artifactVersions(name)[0].aliases) == ["latest", "production", "staging"])
    }

    @Test func usesOfArtifactsNotInTheStoreAreKeptVerbatim() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try RunStore.create(at: "\(directory.path)/store")
        let imported = try importWandb(["\(Fixtures.core)/offline-run-20261128_075959-a2l6mdc3"], into: store)
        #expect(imported.report.usesUnresolved == 2)
        #expect(Set(try store.artifactUses().compactMap(\.unresolvedReference)) == ["cnn-model:v0", "mnist-mini:v0"])
    }

    @Test func aPathWithoutRunsIsAnErrorNamingIt() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect(throws: WandbImportError.self) { try WandbImporter.discover([directory.path]) }
        #expect(throws: WandbImportError.self) { try WandbImporter.discover(["\(directory.path)/missing"]) }
    }
}
