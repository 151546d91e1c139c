import OrderedCollections
import RunStore

/// Replays a run's records, in log order, into a `WandbRun`.
///
/// - config: `RunRecord.config`, then every `ConfigRecord` (update sets, remove deletes).
/// - summary: `RunRecord.summary`, then every `SummaryRecord`; later wins, so a user's override
///   beats the value derived from history, and `define_metric` objects (`{"min": v}`) are kept.
/// - history: one row per `HistoryRecord`, built from item paths; `_step` from the row's `_step`
///   item, else `step.num`, else one past the previous row.
/// - records after the exit record (0.16.6 writes the last row and the summary there) still count.
struct WandbRunAssembler {
    private(set) var run: WandbRun
    private var sawEnvironment = false

    init(id: String) {
        run = WandbRun(id: id)
    }

    /// Applies one record; `location` names it in messages (`file: offset N`).
    mutating func apply(_ record: WandbRecord, location: String) throws {
        switch record {
        case .header(let producer):
            if let producer, !producer.isEmpty { run.producer = producer }
        case .run(let info):
            if !info.project.isEmpty { run.project = info.project }
            if !info.entity.isEmpty { run.entity = info.entity }
            if !info.displayName.isEmpty { run.name = info.displayName }
            if !info.group.isEmpty { run.group = info.group }
            if !info.jobType.isEmpty { run.jobType = info.jobType }
            if !info.tags.isEmpty || run.tags.isEmpty { run.tags = info.tags }
            if !info.notes.isEmpty { run.notes = info.notes }
            if !info.host.isEmpty { run.host = info.host }
            if !info.sweepID.isEmpty { run.sweepID = info.sweepID }
            if !info.gitCommit.isEmpty { run.gitCommit = info.gitCommit }
            if run.startTime == nil, let start = info.startTime, start > 0 { run.startTime = start }
            try apply(info.config, to: \.config, location: location)
            try apply(info.summary, to: \.summary, location: location)
        case .config(let changes):
            try apply(changes, to: \.config, location: location)
        case .summary(let changes):
            try apply(changes, to: \.summary, location: location)
        case .history(let record):
            try appendRow(record, location: location)
        case .exit(let code, _):
            run.exitCode = code
        case .output(let text):
            run.console += text.text
        case .artifact(let artifact):
            run.artifacts.append(artifact)
        case .useArtifact(_, let type, let name):
            run.uses.append((type: type, name: name))
        case .environment(let environment):
            if sawEnvironment { run.environment.merge(environment) } else { run.environment = environment }
            sawEnvironment = true
        case .other:
            break
        }
    }

    /// Notes a problem (damage, a record that could not be decoded) for the import's report.
    mutating func note(_ problem: String) {
        run.problems.append(problem)
    }

    mutating func addFolder(_ folder: String) {
        run.folders.append(folder)
    }

    /// For folders without a `.wandb` file: takes config and summary from `files/`.
    mutating func setFallback(config: JSONObject?, summary: JSONObject?) {
        if let config { run.config.deepMerge(config) }
        if let summary { for (key, value) in summary { run.summary[key] = value } }
    }

    /// Fills what `files/wandb-metadata.json` (0.16 and online runs) adds to the log: the user, the
    /// command, and for folders without a log, host and start time.
    mutating func setLegacyMetadata(user: String?, program: String?, args: [String]?, host: String?, startedAt: Double?) {
        if run.startTime == nil, let startedAt { run.startTime = startedAt }
        if run.user == nil, let user, !user.isEmpty { run.user = user }
        if run.environment.program.isEmpty, let program { run.environment.program = program }
        if run.environment.args.isEmpty, let args { run.environment.args = args }
        if run.host == nil, let host, !host.isEmpty { run.host = host }
    }

    private mutating func appendRow(_ record: WandbHistoryRecord, location: String) throws {
        var row: JSONObject = [:]
        for item in record.items {
            guard let value = try storableValue(item, in: "history", location: location) else { continue }
            row.setValue(value, at: item.path)
        }
        let step: Int64
        if let explicit = row["_step"]?.integerValue, explicit >= 0 {
            step = explicit
        } else if let number = record.step, number >= 0 {
            step = number
        } else {
            step = (run.history.last?["_step"]?.integerValue ?? -1) + 1
        }
        row.removeValue(forKey: "_step")
        row.updateValue(.int(step), forKey: "_step", insertingAt: 0)
        run.history.append(row)
    }

    private mutating func apply(_ changes: WandbItemChanges, to object: WritableKeyPath<WandbRun, JSONObject>, location: String) throws {
        let what = object == \WandbRun.config ? "config" : "summary"
        for item in changes.updates {
            guard let value = try storableValue(item, in: what, location: location) else { continue }
            run[keyPath: object].setValue(value, at: item.path)
        }
        for item in changes.removals {
            run[keyPath: object].removeValue(at: item.path)
        }
    }

    /// The item's value, or nil (with a note) when its key path and the value's own nesting would
    /// nest the object deeper than the store reads (`JSONParser.maximumDepth`): only that item is lost.
    private mutating func storableValue(_ item: WandbItem, in what: String, location: String) throws -> JSONValue? {
        let limit = JSONParser.maximumDepth
        let shownKey = item.path.prefix(4).joined(separator: ".") + (item.path.count > 4 ? "…" : "")
        if item.path.count > limit {
            note("\(location): the \(what) key \(shownKey) has \(item.path.count) parts, more than the \(limit) levels the store nests; left out")
            return nil
        }
        let value = try Self.value(item, location: location)
        let depth = item.path.count + value.nestingDepth
        if depth > limit {
            note("\(location): the \(what) value of \(shownKey) nests \(depth) levels deep, more than the \(limit) the store nests; left out")
            return nil
        }
        return value
    }

    private static func value(_ item: WandbItem, location: String) throws -> JSONValue {
        do {
            return try item.value()
        } catch {
            throw WandbAssemblyError("\(location): the value of \(item.path.joined(separator: ".")) is not JSON: \(error)")
        }
    }
}

/// A record whose content cannot be used (its value is not JSON).
struct WandbAssemblyError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension OrderedDictionary where Key == String, Value == JSONValue {
    /// Removes the value at a path of nested keys; nothing happens when the path is missing.
    mutating func removeValue(at path: [String]) {
        // Nothing stored nests deeper than the store reads, so a longer path names nothing.
        guard let first = path.first, path.count <= JSONParser.maximumDepth else { return }
        if path.count == 1 {
            removeValue(forKey: first)
            return
        }
        guard case .object(var inner)? = self[first] else { return }
        inner.removeValue(at: Array(path.dropFirst()))
        self[first] = .object(inner)
    }
}
