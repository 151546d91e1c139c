import Foundation
import RunStore
import Testing
import TestSupport
@testable import MLflowImport

@Suite struct MLflowImportTests {
    typealias Backend = MLflowFixture.Backend

    /// Every run the reference answers list: name, state, times, params (both views), tags,
    /// notes and latest metrics as MLflow's `search_runs` reported them.
    @Test(arguments: Backend.allCases)
    func runsMatchTheReference(_ backend: Backend) throws {
        let imported = try MLflowFixture.importInto(backend)
        defer { imported.directory.remove() }
        let store = imported.store
        let reference = try MLflowFixture.referenceRuns(backend)
        #expect(reference.count == 9)
        #expect(imported.report.runsCreated == 10)
        #expect(imported.report.experiments == 3)
        #expect(imported.report.runsDeleted == 1)
        for (id, row) in reference {
            let location = RunLocation(entity: MLflowFixture.entity, project: "anchors-demo", id: id)
            let metadata = try store.readMetadata(location)
            let config = try store.readObject(location, .config)
            let summary = try store.effectiveSummary(location)
            let mlflow = config["mlflow"]?.objectValue ?? [:]
            let name = row["tags.mlflow.runName"]?.stringValue
            #expect(metadata.name == name, "\(id)")
            let expectedState: RunState = switch row["status"]?.stringValue {
            case "FINISHED": .finished
            case "FAILED": .failed
            case "KILLED": .killed
            default: .crashed  // RUNNING with no end time, a day old
            }
            #expect(metadata.state == expectedState, "\(name ?? id)")
            #expect(mlflow["status"] == row["status"])
            #expect(mlflow["experiment_id"] == row["experiment_id"])
            #expect(mlflow["artifact_uri"] == row["artifact_uri"])
            #expect(metadata.createdAt == Timestamp.parse(row["start_time"]?.stringValue ?? ""), "\(name ?? id)")
            if let end = row["end_time"]?.stringValue {
                #expect(metadata.updatedAt == Timestamp.parse(end))
                #expect(mlflow["end_time"].flatMap { $0.stringValue }.flatMap(Timestamp.parse) == Timestamp.parse(end))
            } else {
                #expect(mlflow["end_time"] == .null)
            }
            #expect(metadata.user == "alice")
            #expect(metadata.command == [row["tags.mlflow.source.name"]?.stringValue ?? ""])
            #expect(mlflow["lifecycle_stage"] == .string(name == "to-be-deleted" ? "deleted" : "active"))

            var expectedSummary: [String: Double] = [:]
            var expectedParams: [String: String] = [:]
            var expectedTags: [String: String] = [:]
            for (column, value) in row {
                // pandas fills what a run lacks with NaN (metrics) or None (params, tags): "NaN" here.
                if column.hasPrefix("metrics."), let number = MLflowFixture.number(value), !number.isNaN {
                    expectedSummary[String(column.dropFirst("metrics.".count))] = number
                } else if column.hasPrefix("params."), let text = value.stringValue, text != "NaN" {
                    expectedParams[String(column.dropFirst("params.".count))] = text
                } else if column.hasPrefix("tags."), let text = value.stringValue, text != "NaN" {
                    expectedTags[String(column.dropFirst("tags.".count))] = text
                }
            }
            #expect(summary.count == expectedSummary.count, "\(name ?? id): \(summary.keys)")
            for (key, value) in expectedSummary {
                #expect(summary[key] == .double(value), "\(name ?? id) metrics.\(key)")
            }
            let params = mlflow["params"]?.objectValue ?? [:]
            #expect(params.count == expectedParams.count, "\(name ?? id)")
            for (key, text) in expectedParams {
                #expect(params[key] == .string(text), "\(name ?? id) params.\(key)")
                #expect(config[key] == RunMapping.typedParam(text), "\(name ?? id) config.\(key)")
            }
            let tags = mlflow["tags"]?.objectValue ?? [:]
            #expect(tags.count == expectedTags.count, "\(name ?? id)")
            for (key, text) in expectedTags {
                #expect(tags[key] == .string(text), "\(name ?? id) tags.\(key)")
            }
            #expect(metadata.notes == expectedTags["mlflow.note.content"])
        }
        // Params read as numbers where they are numbers, and stay strings where they are not.
        let baseline = try #require(reference.first { $0.value["tags.mlflow.runName"] == "baseline" }?.key)
        let config = try store.readObject(RunLocation(entity: "alice", project: "anchors-demo", id: baseline), .config)
        #expect(config["lr"] == .double(0.001) && config["batch_size"] == .int(32) && config["model.depth"] == .int(4))
        #expect(config["use_amp"] == .string("True") && config["layers"] == .string("[64, 128]") && config["optimizer"] == .string("adam"))
        #expect(config.value(at: ["mlflow", "inputs"]) == .array([.object(["name": "mini-ds", "digest": "065ae68a", "context": "training"])]))
        #expect(config.value(at: ["mlflow", "experiment_tags", "project"]) == .string("anchors"))
        // other-exp holds one run.
        let others = store.runLocations(entity: "alice", project: "other-exp")
        #expect(others.count == 1)
        #expect(try others.first.map { try store.readMetadata($0).name } == "other-run")
    }

    /// The full metric history: every point of `loss` in log order with its step (the point
    /// logged out of order and NaN/±inf as MLflow stored them), and MLflow's latest values.
    @Test(arguments: Backend.allCases)
    func historyMatchesTheReference(_ backend: Backend) throws {
        let imported = try MLflowFixture.importInto(backend)
        defer { imported.directory.remove() }
        let reference = try MLflowFixture.metricHistoryReference()[backend.rawValue]?.objectValue ?? [:]
        #expect(reference.count == 2)
        for (runName, value) in reference {
            let answer = value.objectValue ?? [:]
            let id = try #require(answer["run_id"]?.stringValue)
            let location = RunLocation(entity: "alice", project: "anchors-demo", id: id)
            let steps = try imported.store.readHistory(location).steps
            let loss = steps.compactMap { step in step["loss"].map { (step: step["_step"]?.integerValue, value: $0.doubleValue) } }
            guard case .array(let expected)? = answer["loss_history"] else {
                Issue.record("no loss_history for \(runName)")
                continue
            }
            #expect(loss.count == expected.count, "\(runName)")
            for (got, want) in zip(loss, expected.compactMap(\.objectValue)) {
                #expect(got.step == want["step"]?.integerValue, "\(runName)")
                let wanted = MLflowFixture.number(want["value"])
                #expect(got.value == wanted || (got.value?.isNaN == true && wanted?.isNaN == true), "\(runName): \(String(describing: got.value)) vs \(String(describing: wanted))")
            }
            let latest = answer["latest_metrics (run.data.metrics)"]?.objectValue ?? [:]
            let summary = try imported.store.effectiveSummary(location)
            #expect(summary.count == latest.count)
            for (key, value) in latest { #expect(summary[key] == .double(MLflowFixture.number(value) ?? .nan), "\(runName) \(key)") }
        }
    }

    /// Row counts and each key's first/last/min/max for the runs that log several keys.
    @Test(arguments: Backend.allCases)
    func historyRowsAndKeyStatistics(_ backend: Backend) throws {
        let imported = try MLflowFixture.importInto(backend)
        defer { imported.directory.remove() }
        func history(_ name: String) throws -> [JSONObject] {
            for location in imported.store.runLocations() where try imported.store.readMetadata(location).name == name {
                return try imported.store.readHistory(location).steps
            }
            Issue.record("no run \(name)")
            return []
        }
        func statistics(_ steps: [JSONObject], _ key: String) -> (count: Int, first: Double?, last: Double?, min: Double?, max: Double?) {
            let values = steps.compactMap { $0[key]?.doubleValue }
            let finite = values.filter { !$0.isNaN }
            return (values.count, values.first, values.last, finite.min(), finite.max())
        }
        let baseline = try history("baseline")
        // Steps 0…9, then loss 9.99 logged again at step 3.
        #expect(baseline.map { $0["_step"]?.integerValue } == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 3])
        let loss = statistics(baseline, "loss")
        #expect(loss.count == 11 && loss.first == 1.0 && loss.last == 9.99 && loss.min == 0.1 && loss.max == 9.99)
        let acc = statistics(baseline, "acc")
        #expect(acc.count == 10 && acc.first == 0.5 && acc.last == 0.95 && acc.min == 0.5 && acc.max == 0.95)
        let f1 = statistics(baseline, "val_f1")
        #expect(f1.count == 2 && f1.first == 0.74 && f1.last == 0.7899999999999999)
        #expect(statistics(baseline, "final/acc").count == 1 && statistics(baseline, "final/loss").last == 0.1)

        let nanInf = try history("nan-inf")
        #expect(nanInf.count == 5)
        let values = nanInf.compactMap { $0["loss"]?.doubleValue }
        #expect(values[1].isNaN)
        switch backend {
        case .file: #expect(values[2] == .infinity && values[3] == -.infinity)
        case .sqlite: #expect(values[2] == .greatestFiniteMagnitude && values[3] == -.greatestFiniteMagnitude)
        }
        #expect(statistics(nanInf, "val_f1").count == 1)
        // The file store repeats model-producer's rmse line (MLflow 3's log_model); SQLite's key dedupes it.
        #expect(try history("model-producer").count == (backend == .file ? 2 : 1))
        #expect(try history("killed-run").compactMap { $0["loss"]?.doubleValue }.last == 0.2)
        #expect(imported.report.pointsImported == (backend == .file ? 48 : 47))
    }

    /// Registered model `demo-model` v1 (alias champion, tags, description) is a `model`
    /// artifact logged by model-producer, holding the LoggedModel's files.
    @Test(arguments: Backend.allCases)
    func registeredModelsAreArtifacts(_ backend: Backend) throws {
        let imported = try MLflowFixture.importInto(backend)
        defer { imported.directory.remove() }
        let store = imported.store
        let versions = try store.artifactVersions(ArtifactName(entity: "alice", project: "anchors-demo", name: "demo-model"))
        #expect(versions.count == 1)
        let version = try #require(versions.first)
        #expect(version.type == "model")
        #expect(Set(version.aliases) == ["champion", "latest"])
        #expect(version.description == "tiny linear model")
        let producer = try #require(version.loggedBy)
        #expect(try store.readMetadata(producer).name == "model-producer")
        #expect(version.files.map(\.path) == ["MLmodel", "conda.yaml", "input_example.json", "model.skops", "python_env.yaml", "requirements.txt", "serving_input_example.json"])
        #expect(version.files.allSatisfy { $0.digest.hasPrefix("sha256:") })
        let modelID = try #require(version.metadata.value(at: ["mlflow", "model_id"])?.stringValue)
        let folder = backend == .file ? "961493392394604608" : "1"
        let skops = "\(MLflowFixture.folder)/mlruns/\(folder)/models/\(modelID)/artifacts/model.skops"
        #expect(version.files.first { $0.path == "model.skops" }?.size == Int64(FileIO.size(of: skops) ?? -1))
        #expect(version.metadata.value(at: ["mlflow", "version"]) == .int(1))
        #expect(version.metadata.value(at: ["mlflow", "tags", "validated"]) == .string("true"))
        #expect(version.metadata.value(at: ["mlflow", "model_tags", "owner"]) == .string("anchors"))
        #expect(version.metadata.value(at: ["mlflow", "source"]) == .string("models:/\(modelID)"))
        #expect(imported.report.artifactsCreated == 1)
    }

    /// Importing twice changes nothing, byte for byte.
    @Test(arguments: Backend.allCases)
    func importingTwiceChangesNothing(_ backend: Backend) throws {
        let first = try MLflowFixture.importInto(backend)
        defer { first.directory.remove() }
        let before = TemporaryDirectory.files(under: first.store.root)
        let (report, _) = try MLflowFixture.run(backend, source: backend.path, into: first.store)
        #expect(TemporaryDirectory.files(under: first.store.root) == before)
        #expect(report.runsCreated == 0 && report.runsUpdated == 0 && report.runsUnchanged == 10)
        #expect(report.stepsImported == 0 && report.pointsImported == 0)
        #expect(report.artifactsCreated == 0 && report.artifactsUnchanged == 1)
    }

    /// A run that grew gets only its new points; a line that does not read is named by file,
    /// line and byte offset, and the rest still imports.
    @Test func reimportingAGrownRunAddsOnlyTheNewSteps() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let mlruns = "\(directory.path)/mlruns"
        try FileManager.default.copyItem(atPath: Backend.file.path, toPath: mlruns)
        let first = try MLflowFixture.importInto(.file, source: mlruns, directory: directory)
        let runFolder = "\(mlruns)/961493392394604608/d0b339f5fa29488e85984c160fe67cf0"
        let baseline = RunLocation(entity: "alice", project: "anchors-demo", id: "d0b339f5fa29488e85984c160fe67cf0")
        #expect(try first.store.readHistory(baseline).steps.count == 11)

        try append("1795852853600 0.05 10\n1795852853601 0.04 11\ngarbage\n", to: "\(runFolder)/metrics/loss")
        try append("1795852853600 0.8 10\n", to: "\(runFolder)/metrics/val_f1")
        let historyFile = first.store.layout.runFile(baseline, .history)
        let inode = try FileManager.default.attributesOfItem(atPath: historyFile)[.systemFileNumber] as? UInt64
        let (report, warnings) = try MLflowFixture.run(.file, source: mlruns, into: first.store)
        #expect(report.runsUpdated == 1 && report.runsUnchanged == 9 && report.runsCreated == 0)
        #expect(report.stepsImported == 2 && report.pointsImported == 3)
        // Only later steps: appended to the same file, not rewritten.
        #expect(report.historiesRewritten == 0)
        #expect(try FileManager.default.attributesOfItem(atPath: historyFile)[.systemFileNumber] as? UInt64 == inode)
        let garbageOffset = try Data(contentsOf: URL(fileURLWithPath: "\(runFolder)/metrics/loss")).count - "garbage\n".utf8.count
        #expect(warnings.contains { $0.contains("metrics/loss:14 (byte \(garbageOffset)): expected 'timestamp value step', found 1 fields") }, "\(warnings)")
        let steps = try first.store.readHistory(baseline).steps
        #expect(steps.count == 13)
        #expect(steps[11]["_step"] == .int(10) && steps[11]["loss"] == .double(0.05) && steps[11]["val_f1"] == .double(0.8))
        #expect(steps[12]["_step"] == .int(11) && steps[12]["loss"] == .double(0.04))
        #expect(try first.store.effectiveSummary(baseline)["loss"] == .double(0.04))

        // And once more: nothing new.
        let (again, _) = try MLflowFixture.run(.file, source: mlruns, into: first.store)
        #expect(again.stepsImported == 0 && again.runsUpdated == 0)
    }

    /// `mlruns/1/` belongs to the SQLite store (no meta.yaml): skipped with a note, never fatal.
    @Test func foldersThatAreNotExperimentsAreSkippedWithANote() throws {
        let imported = try MLflowFixture.importInto(.file)
        defer { imported.directory.remove() }
        #expect(imported.report.skipped.count == 1)
        #expect(imported.report.skipped.first?.hasSuffix("mlruns/1: no meta.yaml, so not an experiment of this file store (MLflow skips it too)") == true)
        #expect(imported.report.runsFailed == 0)
    }

    /// A deleted experiment sits in `.trash/`: its runs import, marked deleted.
    @Test func deletedExperimentsImportMarkedDeleted() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let mlruns = "\(directory.path)/mlruns"
        try FileManager.default.copyItem(atPath: Backend.file.path, toPath: mlruns)
        try FileManager.default.createDirectory(atPath: "\(mlruns)/.trash", withIntermediateDirectories: true)
        let trashed = "\(mlruns)/.trash/489985139653264576"
        try FileManager.default.moveItem(atPath: "\(mlruns)/489985139653264576", toPath: trashed)
        let meta = try String(contentsOfFile: "\(trashed)/meta.yaml", encoding: .utf8)
        try meta.replacingOccurrences(of: "lifecycle_stage: active", with: "lifecycle_stage: deleted")
            .write(toFile: "\(trashed)/meta.yaml", atomically: true, encoding: .utf8)
        let imported = try MLflowFixture.importInto(.file, source: mlruns, directory: directory)
        #expect(imported.report.runsCreated == 10 && imported.report.runsDeleted == 2)
        let otherRun = RunLocation(entity: "alice", project: "other-exp", id: "a19ba5f0ddab4abba6d3cd0c1f32af87")
        let config = try imported.store.readObject(otherRun, .config)
        #expect(config.value(at: ["mlflow", "lifecycle_stage"]) == .string("deleted"))
        #expect(config.value(at: ["mlflow", "experiment_lifecycle_stage"]) == .string("deleted"))
        #expect(try imported.store.readHistory(otherRun).steps.count > 0)
    }

    @Test func pathsThatAreNeitherStoreAreRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let text = try directory.write("hello", to: "notes.txt")
        #expect(throws: StoreError.self) { try MLflowImporter.reader(for: text) }
        #expect(throws: StoreError.self) { try MLflowImporter.reader(for: directory.path) }
        #expect(throws: StoreError.self) { try MLflowImporter.reader(for: "\(directory.path)/missing") }
        #expect(try MLflowImporter.reader(for: "sqlite:///\(Backend.sqlite.path)") is SQLiteStoreReader)
    }

    private func append(_ text: String, to path: String) throws {
        let handle = try #require(FileHandle(forWritingAtPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }
}

/// Every run's history against the SQLite store's own `metrics` rows (reference/sqlite_core_tables.json,
/// dumped in insertion order): per key, the count and first/last/min/max, NaN and infinities kept;
/// and the row count (per step, as many rows as the key logged most often at it).
@Suite struct MLflowHistoryReferenceTests {
    struct KeyStatistics: Equatable, CustomStringConvertible {
        var count = 0
        var first: Double?
        var last: Double?
        var min: Double?
        var max: Double?
        var nanCount = 0

        mutating func add(_ value: Double) {
            count += 1
            if first == nil { first = value }
            last = value
            if value.isNaN {
                nanCount += 1
            } else {
                min = Swift.min(min ?? value, value)
                max = Swift.max(max ?? value, value)
            }
        }

        static func == (lhs: KeyStatistics, rhs: KeyStatistics) -> Bool {
            func same(_ a: Double?, _ b: Double?) -> Bool { a == b || (a?.isNaN == true && b?.isNaN == true) }
            return lhs.count == rhs.count && lhs.nanCount == rhs.nanCount && same(lhs.first, rhs.first)
                && same(lhs.last, rhs.last) && same(lhs.min, rhs.min) && same(lhs.max, rhs.max)
        }

        var description: String { "count \(count) first \(first ?? .nan) last \(last ?? .nan) min \(min ?? .nan) max \(max ?? .nan) NaN \(nanCount)" }
    }

    /// By run name: each key's statistics and the expected history row count.
    static func reference(for backend: MLflowFixture.Backend) throws -> [String: (keys: [String: KeyStatistics], rows: Int)] {
        let bytes = try FileIO.read("\(MLflowFixture.folder)/reference/sqlite_core_tables.json") ?? []
        let tables = try JSONParser.parse(bytes).objectValue ?? [:]
        var names: [String: String] = [:]
        if case .array(let runs)? = tables.value(at: ["runs", "rows"]) {
            for case .array(let row) in runs { if let id = row[0].stringValue, let name = row[1].stringValue { names[id] = name } }
        }
        var keys: [String: [String: KeyStatistics]] = [:]
        var perStep: [String: [Int64: [String: Int]]] = [:]
        guard case .array(let metrics)? = tables.value(at: ["metrics", "rows"]) else { return [:] }
        for case .array(let row) in metrics {
            // key, value, timestamp, run_uuid, step, is_nan
            guard let key = row[0].stringValue, var value = row[1].doubleValue, let run = row[3].stringValue.flatMap({ names[$0] }),
                let step = row[4].integerValue
            else { continue }
            if row[5].integerValue == 1 { value = .nan }
            if backend == .file, abs(value) == .greatestFiniteMagnitude { value = value > 0 ? .infinity : -.infinity }
            var repeats = 1
            // The file store holds model-producer's rmse line twice (MLflow 3's log_model).
            if backend == .file, run == "model-producer", key == "rmse" { repeats = 2 }
            for _ in 0..<repeats {
                keys[run, default: [:]][key, default: KeyStatistics()].add(value)
                perStep[run, default: [:]][step, default: [:]][key, default: 0] += 1
            }
        }
        return keys.reduce(into: [:]) { result, entry in
            let rows = perStep[entry.key]?.values.reduce(0) { $0 + ($1.values.max() ?? 0) } ?? 0
            result[entry.key] = (entry.value, rows)
        }
    }

    @Test(arguments: MLflowFixture.Backend.allCases)
    func everyRunsHistory(_ backend: MLflowFixture.Backend) throws {
        let imported = try MLflowFixture.importInto(backend)
        defer { imported.directory.remove() }
        let reference = try Self.reference(for: backend)
        #expect(reference.count == 10)
        var checked = 0
        for location in imported.store.runLocations() {
            let name = try #require(try imported.store.readMetadata(location).name)
            let steps = try imported.store.readHistory(location).steps
            guard let expected = reference[name] else {
                #expect(steps.isEmpty, "\(name)")
                continue
            }
            var got: [String: KeyStatistics] = [:]
            for step in steps {
                for (key, value) in step where !key.hasPrefix("_") { got[key, default: KeyStatistics()].add(value.doubleValue ?? .nan) }
            }
            #expect(got.count == expected.keys.count, "\(name): \(got.keys.sorted())")
            for (key, statistics) in expected.keys {
                #expect(got[key] == statistics, "\(backend) \(name) \(key)")
            }
            #expect(steps.count == expected.rows, "\(backend) \(name)")
            checked += 1
        }
        #expect(checked == 10)
    }
}
