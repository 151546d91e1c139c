import Testing
@testable import RunStore
@testable import WandbImport

/// Every fixture run, imported from both clients' folders, against the reference decoder's answers.
@Suite struct WandbReferenceTests {
    static let imported: Result<Imported, any Error> = Result {
        let directory = try TemporaryDirectory()
        let store = try RunStore.create(at: "\(directory.path)/store")
        return try importWandb([Fixtures.core, Fixtures.legacy], into: store)
    }

    @Test func importsEveryFixtureRun() throws {
        let imported = try Self.imported.get()
        #expect(imported.report.runsCreated == 14)
        #expect(imported.report.skipped.isEmpty)
        #expect(imported.report.stepsImported == 876)
        // The two crashed runs lose their tails, and say so.
        #expect(imported.report.runsDamaged == 2)
        #expect(imported.warnings.count == 2)
        #expect(imported.warnings.contains { $0.contains("run-ovclhh90.wandb: damaged at offset 163661") })
        #expect(imported.warnings.contains { $0.contains("run-2ag7iusd.wandb: damaged at offset 81749") })
    }

    @Test(arguments: Fixtures.references)
    func matchesTheReference(_ reference: Fixtures.Reference) throws {
        let store = try Self.imported.get().store
        let expected = try reference.load()
        let run = try #require(expected["run"]?.objectValue)
        let here = location(reference.runID)
        let metadata = try store.readMetadata(here)

        #expect(metadata.name == run["display_name"]?.stringValue)
        #expect(metadata.project == run["project"]?.stringValue)
        #expect(metadata.group == run["group"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 })
        #expect(metadata.jobType == run["job_type"]?.stringValue)
        #expect(metadata.tags == run["tags"]?.arrayValue?.compactMap(\.stringValue))
        #expect(metadata.notes == run["notes"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 })
        #expect(metadata.host == run["host"]?.stringValue)
        #expect(metadata.createdAt.map(Timestamp.format) == run["start_time"]?.stringValue.flatMap(Timestamp.parse).map(Timestamp.format))

        let state: RunState = switch expected["state"]?.stringValue {
        case "finished": .finished
        case "failed": .failed
        default: .crashed
        }
        #expect(metadata.state == state)
        #expect(metadata.exitCode == expected["exit"]?.objectValue?["exit_code"]?.integerValue)

        let config = try #require(expected["config"]?.objectValue)
        #expect(try store.readObject(here, .config).referenceForm == config.without("_wandb").referenceForm)
        let summary = try #require(expected["summary"]?.objectValue)
        #expect(try store.readObject(here, .summary).referenceForm == summary.without("_wandb").referenceForm)

        // History: every row, in order, and each key's first/last/min/max, NaN and ±Inf included.
        let rows = try #require(expected["history"]?.arrayValue).compactMap { $0.objectValue?.without("__step_field", "__offset") }
        let stored = try store.readHistory(here)
        #expect(stored.warnings.isEmpty)
        #expect(stored.steps.count == rows.count)
        #expect(stored.steps.map(\.referenceForm) == rows.map(\.referenceForm))
        #expect(KeyProfile.profiles(stored.steps) == KeyProfile.profiles(rows))
        #expect(stored.steps.allSatisfy { $0.keys.first == "_step" })

        // Console output, stdout and stderr in the order written.
        let console = try store.readRunFile(here, .output).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let expectedConsole = expected["output"]?.stringValue ?? ""
        if state == .crashed {
            #expect(console.hasPrefix(expectedConsole))
        } else {
            #expect(console == expectedConsole)
        }
    }

    @Test(arguments: Fixtures.references)
    func artifactsMatchTheReference(_ reference: Fixtures.Reference) throws {
        let store = try Self.imported.get().store
        let expected = try reference.load()
        for artifact in try #require(expected["artifacts"]?.arrayValue).compactMap(\.objectValue) {
            let name = ArtifactName(entity: "alice", project: "anchors-demo", name: try #require(artifact["name"]?.stringValue))
            let versions = try store.artifactVersions(name)
            // Both clients logged the same content: one version, v0.
            try #require(versions.count == 1)
            let version = versions[0]
            #expect(version.type == artifact["type"]?.stringValue)
            #expect(version.description == artifact["description"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 })
            #expect(JSONValue.object(version.metadata).referenceForm == artifact["metadata"]?.referenceForm)
            let aliases = Set(try #require(artifact["aliases"]?.arrayValue).compactMap(\.stringValue))
            #expect(Set(version.aliases) == aliases)
            let entries = try #require(artifact["manifest"]?.objectValue?["entries"]?.arrayValue).compactMap(\.objectValue)
            #expect(version.files.map(\.path) == entries.compactMap { $0["path"]?.stringValue }.sorted())
            for entry in entries {
                let file = try #require(version.files.first { $0.path == entry["path"]?.stringValue })
                #expect(file.size == entry["size"]?.integerValue)
                // The staging copies exist in the fixtures: the content is in the blob store, and its MD5 is W&B's.
                let hex = try #require(file.blobDigest)
                let blob = try #require(try LocalFiles.read(store.layout.blob(hex)))
                #expect(MD5.base64Digest(of: blob) == entry["digest"]?.stringValue)
            }
        }
    }

    @Test func useArtifactRecordsBecomeLineage() throws {
        let store = try Self.imported.get().store
        let uses = try store.artifactUses().filter { ["a2l6mdc3", "dlktr0db"].contains($0.run.id) }
        #expect(uses.count == 4)
        for id in ["a2l6mdc3", "dlktr0db"] {
            let names = Set(uses.filter { $0.run.id == id }.compactMap { use in use.artifact.map { "\($0.name):v\(use.version ?? -1)" } })
            #expect(names == ["cnn-model:v0", "mnist-mini:v0"])
        }
    }
}
