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
}
