import Foundation
import Testing
@testable import RunStore

@Suite struct RunStoreTests {
    @Test func createThenOpen() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = "\(directory.path)/store"
        #expect(throws: StoreError.self) { try RunStore.open(at: path) }
        try RunStore.create(at: path)
        #expect(throws: StoreError.self) { try RunStore.create(at: path) }
        let store = try RunStore.open(at: path)
        #expect(store.runLocations().isEmpty)
        let marker = try JSONParser.parse(String(contentsOfFile: "\(path)/runql-store.json", encoding: .utf8))
        #expect(marker == ["format": "runql-store", "version": 1])
    }

    @Test func openExplainsWhatIsWrong() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        do {
            _ = try RunStore.open(at: "\(directory.path)/missing")
            Issue.record("opened a missing store")
        } catch let error as StoreError {
            #expect(error.message.contains("runql init"))
        }
        #expect(throws: StoreError.self) { try RunStore.open(at: directory.path) }
        _ = try directory.write(#"{"format": "runql-store", "version": 99}"#, to: "runql-store.json")
        do {
            _ = try RunStore.open(at: directory.path)
            Issue.record("opened a store of a future version")
        } catch let error as StoreError {
            #expect(error.message.contains("version 99"))
        }
    }

    @Test func storeLocationPrecedence() {
        #expect(RunStore.location(explicit: "a", environment: ["RUNQL_STORE": "b"]) == "a")
        #expect(RunStore.location(explicit: nil, environment: ["RUNQL_STORE": "b"]) == "b")
        #expect(RunStore.location(explicit: nil, environment: [:]) == ".runql")
    }

    @Test func startedRunsHaveUniqueShortIDs() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try RunStore.create(at: directory.path)
        var ids: Set<String> = []
        for _ in 0..<200 {
            let run = try store.startTestRun(config: ["lr": 0.1])
            #expect(run.id.count == 8)
            #expect(run.id.allSatisfy { $0.isLowercase || $0.isNumber })
            ids.insert(run.id)
        }
        #expect(ids.count == 200)
        #expect(store.runLocations(project: "demo").count == 200)
        let first = try #require(store.runLocations().first)
        #expect(try store.readObject(first, .config) == ["lr": 0.1])
        #expect(try store.readMetadata(first).state == .running)
    }

    @Test func historyStepsAutoIncrement() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try RunStore.create(at: directory.path)
        let run = try store.startTestRun().location
        let writer = try HistoryWriter(store: store, location: run)
        #expect(try writer.append([["loss": 1.0], ["loss": 0.5]]) == [0, 1])
        #expect(try writer.append([["_step": 10, "loss": 0.4]]) == [10])
        // A second writer (another process, say) continues after the first one's last step.
        let other = try HistoryWriter(store: store, location: run)
        #expect(try other.append([["loss": 0.3]]) == [11])
        #expect(try writer.append([["loss": 0.2]]) == [12])
        let log = try store.readHistory(run)
        #expect(log.warnings.isEmpty)
        #expect(log.steps.map { $0["_step"] } == [0, 1, 10, 11, 12])
        #expect(throws: StoreError.self) { try writer.append([["_step": -1]]) }
        #expect(throws: StoreError.self) { try writer.append([["_step": "three"]]) }
    }

    @Test func tornLastLineIsSkippedWithAWarningAndNeverSwallowsTheNextStep() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try RunStore.create(at: directory.path)
        let run = try store.startTestRun().location
        try HistoryWriter(store: store, location: run).append([["loss": 1.0], ["loss": 0.9]])
        let path = store.layout.runFile(run, .history)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"_step":2,"loss":0."#.utf8))
        handle.closeFile()

        let torn = try store.readHistory(run)
        #expect(torn.steps.count == 2)
        #expect(torn.warnings.count == 1)
        #expect(torn.warnings.first?.contains("history.jsonl:3: torn last line") == true)

        // The next writer ends the fragment's line first, and numbers after the last whole step.
        #expect(try HistoryWriter(store: store, location: run).append([["loss": 0.8]]) == [2])
        let after = try store.readHistory(run)
        #expect(after.steps.map { $0["loss"] } == [1.0, 0.9, 0.8])
        #expect(after.warnings.count == 1)
        #expect(after.warnings.first?.contains("history.jsonl:3:") == true)
    }

    @Test func summaryIsTheLastLoggedValueUnlessWrittenExplicitly() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try RunStore.create(at: directory.path)
        let run = try store.startTestRun().location
        try HistoryWriter(store: store, location: run).append([
            ["val/f1": 0.5, "loss": 2.0], ["loss": 1.0], ["val/f1": 0.7, "_runtime": 3.0],
        ])
        #expect(try store.effectiveSummary(run) == ["val/f1": 0.7, "loss": 1.0])
        try store.setValues(run, .summary, [KeyAssignment(path: ["val/f1"], value: 0.9), KeyAssignment(path: ["best", "epoch"], value: 3)])
        #expect(try store.effectiveSummary(run) == ["val/f1": 0.9, "loss": 1.0, "best": ["epoch": 3]])
    }

    @Test func runReferences() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try RunStore.create(at: directory.path)
        var first = RunMetadata(id: "same0001", entity: "team", project: "a")
        first.createdAt = 1
        try store.publishRun(first, config: [:], summary: [:], history: [])
        #expect(try store.resolveRun("same0001") == first.location)
        var second = first
        second.project = "b"
        try store.publishRun(second, config: [:], summary: [:], history: [])
        do {
            _ = try store.resolveRun("same0001")
            Issue.record("an ambiguous id resolved")
        } catch let error as StoreError {
            #expect(error.message.contains("team/a/same0001") && error.message.contains("team/b/same0001"))
        }
        #expect(try store.resolveRun("team/b/same0001") == second.location)
        #expect(throws: StoreError.self) { try store.resolveRun("nope") }
        #expect(throws: StoreError.self) { try store.resolveRun("team/c/same0001") }
        #expect(try !store.publishRun(first, config: [:], summary: [:], history: []))
    }

    @Test func finishRecordsStateExitCodeAndRuntime() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try RunStore.create(at: directory.path)
        let run = try store.startTestRun().location
        try store.finishRun(run, state: .failed, exitCode: 2)
        let metadata = try store.readMetadata(run)
        #expect(metadata.state == .failed)
        #expect(metadata.exitCode == 2)
        #expect((metadata.runtime ?? -1) >= 0)
    }

    @Test func metadataKeepsKeysItDoesNotKnow() throws {
        var object = RunMetadata(id: "x", entity: "e", project: "p").json
        object["sweep"] = "s1"
        let metadata = try RunMetadata(json: object, source: "test")
        #expect(metadata.extra == ["sweep": "s1"])
        #expect(metadata.json["sweep"] == "s1")
        object["state"] = "exploded"
        #expect(throws: StoreError.self) { try RunMetadata(json: object, source: "test") }
    }

    @Test func smallFilesAreNeverSeenHalfWritten() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try RunStore.create(at: directory.path)
        let run = try store.startTestRun().location
        let big = JSONValue.array((0..<5_000).map { .int(Int64($0)) })
        let path = store.layout.runFile(run, .summary)
        let writer = Thread {
            for round in 0..<200 {
                try? store.setValues(run, .summary, [KeyAssignment(path: ["round"], value: .int(Int64(round))), KeyAssignment(path: ["big"], value: big)])
            }
        }
        writer.start()
        var reads = 0
        while reads < 400 {
            if let data = FileManager.default.contents(atPath: path) {
                let value = try JSONParser.parse([UInt8](data))
                #expect(value.objectValue?["big"] == big)
                reads += 1
            }
        }
    }
}
