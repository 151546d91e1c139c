import RunStore

/// Everything one W&B run holds, rebuilt from its transaction log(s) or its `files/`:
/// what the importer writes to the store.
struct WandbRun {
    var id: String
    var project = ""
    /// Empty for offline runs.
    var entity = ""
    var name: String?
    var group: String?
    var jobType: String?
    var tags: [String] = []
    var notes: String?
    var host: String?
    var user: String?
    var sweepID: String?
    var gitCommit: String?
    /// Seconds since the epoch.
    var startTime: Double?
    /// The writer's version (`0.31.0+…`), when its header names it.
    var producer: String?
    var config: JSONObject = [:]
    var summary: JSONObject = [:]
    /// One object per step, `_step` first.
    var history: [JSONObject] = []
    /// nil: no exit record (the run crashed, or is still running).
    var exitCode: Int64?
    var console = ""
    var artifacts: [WandbArtifactRecord] = []
    /// Artifacts the run used: `(type, "name:vN")`.
    var uses: [(type: String, name: String)] = []
    var environment = WandbEnvironment()
    /// The run folders it was read from, oldest first.
    var folders: [String] = []
    /// What could not be read (damaged tails, undecodable records), each naming file and offset.
    var problems: [String] = []

    init(id: String) {
        self.id = id
    }

    /// finished (exit 0), failed (any other exit code) or crashed (no exit record).
    var state: RunState {
        guard let exitCode else { return .crashed }
        return exitCode == 0 ? .finished : .failed
    }

    /// The last history row's `_timestamp` and `_runtime`.
    var lastTimestamp: Double? { history.last?["_timestamp"]?.doubleValue }
    var lastRuntime: Double? { history.last?["_runtime"]?.doubleValue }
}
