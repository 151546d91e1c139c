import ColumnIndex
import Foundation
import RunStore
import Testing
import TestSupport

/// The index's own history reader agrees with the store's reader, run by run.
@Suite struct IndexTests {
    @Test func indexSummariesAndStepCountsMatchTheStoreReader() throws {
        let store = try RunStore.open(at: GoldenTests.repository.appendingPathComponent("Samples/store").path)
        let index = RunIndex.build(from: store)
        let locations = store.runLocations()
        #expect(index.runs.count == locations.count)
        var steps = 0
        for (row, location) in locations.enumerated() {
            let log = try store.readHistory(location)
            steps += log.steps.count
            #expect(index.runs.summaries[row] == (try store.effectiveSummary(location, history: log)), "\(location)")
        }
        #expect(index.history.count == steps)
    }

    @Test func tornAndMalformedLinesAreSkippedWithTheSameWarnings() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try RunStore.create(at: directory.path)
        var metadata = RunMetadata(id: "r1", entity: "e", project: "p")
        metadata.createdAt = 0
        let history = "{\"_step\":0,\"loss\":1.0}\nnot json\n{\"_step\":2,\"loss\":0.5,\"loss\":0.25}\n{\"_step\":3,\"lo"
        try store.publishRun(metadata, config: [:], summary: [:], history: Array(history.utf8))
        let index = RunIndex.build(from: store)
        let log = try store.readHistory(metadata.location)
        #expect(index.warnings == log.warnings)
        #expect(index.history.count == 2)
        #expect(index.history.column("loss").map(\.values) == [Value.double(1.0), Value.double(0.25)])
        #expect(index.runs.summaries[0] == ["loss": 0.25])
    }

    @Test func unreadableArtifactsAndLineageAreSkippedWithAWarning() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try RunStore.create(at: directory.path)
        var metadata = RunMetadata(id: "r1", entity: "e", project: "p")
        metadata.createdAt = 0
        try store.publishRun(metadata, config: [:], summary: [:], history: [])
        var good = ArtifactDraft(name: ArtifactName(entity: "e", project: "p", name: "good"), type: "dataset")
        good.loggedBy = metadata.location
        try store.logArtifact(good)
        let bad = ArtifactName(entity: "e", project: "p", name: "bad")
        try store.logArtifact(ArtifactDraft(name: bad, type: "model"))
        try store.useArtifact(good.name, version: 0, by: metadata.location)

        let whole = RunIndex.build(from: store)
        #expect(whole.warnings.isEmpty)
        #expect(whole.artifacts.versions.map(\.reference) == ["e/p/bad:v0", "e/p/good:v0"])
        #expect(whole.artifacts.lineage.count == 2)

        // A version manifest that is not JSON: that collection is skipped, the rest stays queryable.
        try "{not json".write(toFile: store.layout.artifactVersion(bad, 0), atomically: true, encoding: .utf8)
        let index = RunIndex.build(from: store)
        #expect(index.artifacts.versions.map(\.reference) == ["e/p/good:v0"])
        #expect(index.warnings.count == 1)
        #expect(index.warnings.first?.contains("artifact e/p/bad skipped") == true, "\(index.warnings)")
        #expect(index.artifacts.lineage.count == 2)

        // A lineage line that is not a record: the uses are skipped, the logged edges stay.
        let handle = try #require(FileHandle(forWritingAtPath: store.layout.lineage("e", "p")))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("garbage\n".utf8))
        try handle.close()
        let again = RunIndex.build(from: store)
        #expect(again.artifacts.lineage.count == 1)
        #expect(again.artifacts.lineage.column("kind")?.values == [.string("logged")])
        #expect(again.warnings.contains { $0.contains("lineage.jsonl:2") && $0.contains("skipped") }, "\(again.warnings)")
    }
}
