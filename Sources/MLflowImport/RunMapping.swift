import Foundation
import RunStore

/// How an MLflow run becomes a runql run (documented in docs/STORE.md, "Importing MLflow").
///
/// - `run.json`: id = the MLflow run id, project = the experiment name, name, state (RUNNING with
///   no end time and no activity for `crashedAfter` seconds → `crashed`), user, `created_at` =
///   start, `updated_at` = end (or last activity), runtime, notes = tag `mlflow.note.content`,
///   `git_commit`, `command` = the source (`mlflow.source.name`).
/// - `config.json`: each param at the top level, as a number when it reads as one, else as the
///   string; and `mlflow`: `params` (every param as MLflow's string), `tags` (every tag),
///   `status`, `lifecycle_stage` (`deleted` for deleted runs), `deleted_time`, `experiment_id`,
///   `artifact_uri`, the source attributes, dataset `inputs`, `experiment_tags`.
/// - `summary.json`: each metric's latest value as MLflow computes it.
/// - `history.jsonl`: every metric point (see `MetricRows`).
enum RunMapping {
    /// The config key that holds MLflow's own view of the run.
    static let namespace = "mlflow"

    /// A runql project name for an experiment name: `/` (Databricks paths) becomes `-`, after
    /// leading and trailing slashes go.
    static func projectName(_ experimentName: String) -> String {
        var name = Substring(experimentName)
        while name.hasPrefix("/") { name = name.dropFirst() }
        while name.hasSuffix("/") { name = name.dropLast() }
        let project = name.replacingOccurrences(of: "/", with: "-")
        return project.isEmpty ? "Default" : project
    }

    /// The run's `run.json`; `notes` gets what could not be mapped (a runtime too large to compute).
    static func metadata(
        _ run: MLflowRun, location: RunLocation, lastActivity: Int64?, now: Double, crashedAfter: Double, notes: inout [String]
    ) -> RunMetadata {
        var metadata = RunMetadata(id: location.id, entity: location.entity, project: location.project)
        metadata.name = run.name
        let activity = [run.startTime, lastActivity].compactMap { $0 }.max()
        metadata.state = state(run, lastActivity: activity.map { Double($0) / 1000 }, now: now, crashedAfter: crashedAfter)
        metadata.user = nonEmpty(run.userID) ?? nonEmpty(run.tags["mlflow.user"])
        func storable(_ milliseconds: Int64, _ what: String) -> Double? {
            if let seconds = storableTime(milliseconds) { return seconds }
            notes.append("\(run.origin): run \(run.id): \(what) \(milliseconds) ms is not a time runql can store (years 0000 to 9999); left out")
            return nil
        }
        metadata.createdAt = run.startTime.flatMap { storable($0, "start time") }
        // Milliseconds subtracted as integers, so that 6 ms is 0.006 s exactly.
        if let until = run.endTime ?? activity {
            metadata.updatedAt = storable(until, run.endTime == nil ? "last activity" : "end time")
            if let start = run.startTime {
                let (runtime, overflow) = until.subtractingReportingOverflow(start)
                if overflow {
                    notes.append("\(run.origin): run \(run.id): end time \(until) ms minus start time \(start) ms does not fit in 64 bits; runtime left out")
                } else {
                    metadata.runtime = Double(max(0, runtime)) / 1000
                }
            }
        }
        metadata.notes = run.tags["mlflow.note.content"]
        metadata.gitCommit = nonEmpty(run.tags["mlflow.source.git.commit"]) ?? nonEmpty(run.sourceVersion)
        if let source = nonEmpty(run.tags["mlflow.source.name"]) ?? nonEmpty(run.sourceName) {
            metadata.command = [source]
        }
        return metadata
    }

    /// MLflow milliseconds as seconds, when the store can write them and read them back (years
    /// 0000 to 9999); nil otherwise.
    static func storableTime(_ milliseconds: Int64) -> Double? {
        let seconds = Double(milliseconds) / 1000
        return Timestamp.parse(Timestamp.format(seconds)) == nil ? nil : seconds
    }

    /// FINISHED → finished, FAILED → failed, KILLED → killed; RUNNING or SCHEDULED without an end
    /// time → running, or crashed when its last activity is more than `crashedAfter` seconds ago.
    static func state(_ run: MLflowRun, lastActivity: Double?, now: Double, crashedAfter: Double) -> RunState {
        switch run.status {
        case .finished: return .finished
        case .failed: return .failed
        case .killed: return .killed
        case .running, .scheduled:
            if run.endTime == nil, let lastActivity, now - lastActivity > crashedAfter { return .crashed }
            return .running
        }
    }

    static func config(_ run: MLflowRun, experiment: MLflowExperiment) -> JSONObject {
        var config = JSONObject()
        for key in run.params.keys.sorted() where key != namespace {
            config[key] = typedParam(run.params[key] ?? "")
        }
        var mlflow = JSONObject()
        mlflow["run_id"] = .string(run.id)
        mlflow["experiment_id"] = .string(run.experimentID)
        mlflow["experiment_name"] = .string(experiment.name)
        mlflow["experiment_lifecycle_stage"] = .string(experiment.lifecycleStage)
        mlflow["status"] = .string(run.status.rawValue)
        mlflow["lifecycle_stage"] = .string(isDeleted(run, in: experiment) ? "deleted" : run.lifecycleStage)
        mlflow["deleted_time"] = run.deletedTime.map { .string(Timestamp.format(Double($0) / 1000)) } ?? .null
        mlflow["end_time"] = run.endTime.map { .string(Timestamp.format(Double($0) / 1000)) } ?? .null
        mlflow["artifact_uri"] = run.artifactURI.map(JSONValue.string) ?? .null
        mlflow["source_type"] = run.sourceType.map(JSONValue.string) ?? .null
        mlflow["source_name"] = run.sourceName.map(JSONValue.string) ?? .null
        mlflow["source_version"] = run.sourceVersion.map(JSONValue.string) ?? .null
        mlflow["entry_point_name"] = run.entryPointName.map(JSONValue.string) ?? .null
        mlflow["params"] = .object(sortedStrings(run.params))
        mlflow["tags"] = .object(sortedStrings(run.tags))
        mlflow["inputs"] = .array(run.inputs.map { input in
            .object(["name": .string(input.name), "digest": .string(input.digest), "context": input.context.map(JSONValue.string) ?? .null])
        })
        mlflow["experiment_tags"] = .object(sortedStrings(experiment.tags))
        config[namespace] = .object(mlflow)
        return config
    }

    /// A run MLflow deleted, or a run of a deleted experiment (the SQL store marks those runs
    /// deleted too; the file store moves the experiment to `.trash/` and leaves them as they were).
    static func isDeleted(_ run: MLflowRun, in experiment: MLflowExperiment) -> Bool {
        run.lifecycleStage == "deleted" || experiment.lifecycleStage == "deleted"
    }

    /// A param as a number when its whole text reads as a finite decimal number (`32` → 32,
    /// `0.001` → 0.001), else the string itself (`adam`, `True`, `[64, 128]`).
    static func typedParam(_ text: String) -> JSONValue {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return .string(text) }
        var index = 0
        if bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") { index += 1 }
        let digitsStart = index
        while index < bytes.count, (48...57).contains(bytes[index]) { index += 1 }
        let integerDigits = index - digitsStart
        if index == bytes.count, integerDigits > 0 {
            if let value = Int64(text.hasPrefix("+") ? String(text.dropFirst()) : text) { return .int(value) }
            return .string(text)
        }
        var fractionDigits = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            while index < bytes.count, (48...57).contains(bytes[index]) { index += 1 }
            fractionDigits = index - start
        }
        guard integerDigits + fractionDigits > 0 else { return .string(text) }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") { index += 1 }
            let start = index
            while index < bytes.count, (48...57).contains(bytes[index]) { index += 1 }
            guard index > start else { return .string(text) }
        }
        guard index == bytes.count, let value = Double(text), value.isFinite else { return .string(text) }
        return .double(value)
    }

    /// Each metric's latest value (MLflow's `metrics.<key>`).
    static func summary(_ history: MLflowMetricHistory) -> JSONObject {
        var summary = JSONObject()
        for (key, value) in history.latestValues() where !MetricRows.reservedKeys.contains(key) {
            summary[key] = .double(value)
        }
        return summary
    }

    private static func sortedStrings(_ values: [String: String]) -> JSONObject {
        var object = JSONObject()
        for key in values.keys.sorted() { object[key] = .string(values[key] ?? "") }
        return object
    }

    private static func nonEmpty(_ text: String?) -> String? {
        guard let text, !text.isEmpty else { return nil }
        return text
    }
}
