import RunStore

/// Imports W&B runs (offline or online run folders, wandb ≤ 0.17 and wandb-core 0.18+) into a store.
///
/// ```
/// wandb/ ──WandbDiscovery──▶ WandbRunSource (folders by run id)
///        ──WandbLogReader (framing, CRC-32) ──WandbRecord (protobuf by hand)──▶ WandbRunAssembler
///        ──▶ WandbRun ──WandbImporter──▶ run.json, config.json, summary.json, history.jsonl, output.log
/// ```
/// Idempotent: unchanged runs are not rewritten, and a run's history grows only by steps beyond its
/// last stored step, so importing twice changes nothing and a run that grew gains only its new steps.
/// Project and run id are W&B's; offline runs have no entity, so they go to `defaultEntity`.
public final class WandbImporter {
    public struct Report: Sendable, Equatable {
        public var runsCreated = 0
        public var runsUpdated = 0
        public var runsUnchanged = 0
        public var stepsImported = 0
        /// Steps at or before a run's last stored step: already there.
        public var stepsAlreadyStored = 0
        /// Runs that could not be imported, each with the reason (also reported through `warn`).
        public var skipped: [String] = []
        /// Runs imported only in part (a damaged log, undecodable records).
        public var runsDamaged = 0
        /// Artifact versions new to the store, and those it already had.
        public var artifactVersionsCreated = 0
        public var artifactVersionsExisting = 0
        /// Artifact records that could not be stored, each with the reason (also reported through
        /// `warn`); their run and its other artifacts are imported all the same.
        public var artifactVersionsSkipped: [String] = []
        /// Files of new versions copied into the blob store, and those kept as references only
        /// (their staging copy was gone or changed).
        public var artifactFilesCopied = 0
        public var artifactFilesReferenced = 0
        /// `use_artifact` records tied to a stored version, and those kept verbatim.
        public var usesResolved = 0
        public var usesUnresolved = 0
    }

    var store: RunStore
    private let defaultEntity: String
    private let defaultProject: String?
    /// W&B's data folder (`$WANDB_DATA_DIR`), where artifact staging copies live.
    let dataDirectory: String?
    let warn: (String) -> Void
    public internal(set) var report = Report()
    /// The artifacts each imported run used, recorded as lineage by `finish()`.
    var pendingUses: [(RunLocation, [(type: String, name: String)])] = []

    /// - Parameters:
    ///   - defaultEntity: the entity of runs whose log names none (offline runs).
    ///   - defaultProject: the project of runs whose project cannot be read (no surviving run record).
    ///   - dataDirectory: W&B's data folder, whose `artifacts/staging/` holds the artifact files
    ///     (manifests name them by absolute path; this finds them after the folders moved).
    ///   - warn: receives one line per problem: what was lost or skipped, naming file and offset.
    public init(
        store: RunStore, defaultEntity: String, defaultProject: String? = nil, dataDirectory: String? = nil,
        warn: @escaping (String) -> Void
    ) {
        self.store = store
        self.store.syncEachWrite = false
        self.defaultEntity = defaultEntity
        self.defaultProject = defaultProject
        self.dataDirectory = dataDirectory.map { $0.count > 1 && $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.warn = warn
    }

    /// The runs under `paths` (`wandb/` folders, run folders, or folders holding `wandb/`).
    public static func discover(_ paths: [String]) throws -> [WandbRunSource] {
        try WandbDiscovery.runs(in: paths)
    }

    /// Imports one run; a run that cannot be imported is reported and skipped, never thrown.
    public func importRun(_ source: WandbRunSource) {
        do {
            let run = try WandbRunReader.read(source)
            for problem in run.problems { warn(problem) }
            if !run.problems.isEmpty { report.runsDamaged += 1 }
            let location = try write(run)
            if !run.uses.isEmpty { pendingUses.append((location, run.uses)) }
        } catch {
            let reason = "run \(source.runID) (\(source.paths.joined(separator: ", "))): \(error)"
            report.skipped.append(reason)
            warn("skipped \(reason)")
        }
    }

    /// Records the imported runs' artifact use (lineage) and makes everything durable; call once at the end.
    public func finish() throws {
        try recordUses()
        store.syncToDisk()
    }

    /// Writes the run (created, updated or left as it is) and its artifacts; returns where it is.
    private func write(_ run: WandbRun) throws -> RunLocation {
        guard let project = run.project.isEmpty ? defaultProject : run.project else {
            throw WandbImportError(
                path: run.folders.last ?? run.id,
                "no run record survived, so the project is unknown; pass --project to import what remains")
        }
        // Through run.json's own form, so that it compares equal to what a re-import reads back
        // (timestamps are stored to the microsecond).
        let built = Self.metadata(of: run, entity: run.entity.isEmpty ? defaultEntity : run.entity, project: project)
        let metadata = try RunMetadata(json: built.json, source: "run \(run.id)")
        let location = metadata.location
        let console = Array(run.console.utf8)
        if try store.publishRun(metadata, config: run.config, summary: run.summary, history: Self.encode(run.history)) {
            if !console.isEmpty { try store.replaceRunFile(location, .output, with: console) }
            report.runsCreated += 1
            report.stepsImported += run.history.count
            importArtifacts(of: run, at: location)
            return location
        }
        var changed = false
        if try store.readMetadata(location) != metadata {
            try store.updateMetadata(location) { $0 = metadata }
            changed = true
        }
        if try store.replaceObject(location, .config, with: run.config) { changed = true }
        if try store.replaceObject(location, .summary, with: run.summary) { changed = true }
        if !console.isEmpty, try store.replaceRunFile(location, .output, with: console) { changed = true }
        if try appendNewSteps(run.history, to: location) { changed = true }
        if changed { report.runsUpdated += 1 } else { report.runsUnchanged += 1 }
        importArtifacts(of: run, at: location)
        return location
    }

    /// Appends the rows beyond the run's last stored step; returns whether any were.
    private func appendNewSteps(_ rows: [JSONObject], to location: RunLocation) throws -> Bool {
        // Opening the writer creates the file: a run without history keeps none.
        guard !rows.isEmpty else { return false }
        let writer = try HistoryWriter(store: store, location: location)
        let lastStored = try writer.currentLastStep()
        let newRows = rows.filter { row in
            guard let lastStored, let step = row["_step"]?.integerValue else { return true }
            return step > lastStored
        }
        report.stepsAlreadyStored += rows.count - newRows.count
        guard !newRows.isEmpty else { return false }
        try writer.appendEncoded(Self.encode(newRows), lastStep: newRows.last?["_step"]?.integerValue)
        report.stepsImported += newRows.count
        return true
    }

    /// `run.json` for a W&B run: W&B's fields where runql has them, the rest under `wandb`.
    static func metadata(of run: WandbRun, entity: String, project: String) -> RunMetadata {
        var metadata = RunMetadata(id: run.id, entity: entity, project: project)
        metadata.name = run.name
        metadata.group = run.group
        metadata.jobType = run.jobType
        metadata.tags = run.tags
        metadata.notes = run.notes
        metadata.state = run.state
        metadata.user = run.user ?? (run.environment.username.isEmpty ? nil : run.environment.username)
        metadata.host = run.host ?? (run.environment.host.isEmpty ? nil : run.environment.host)
        metadata.createdAt = run.startTime
        if let start = run.startTime, let last = run.lastTimestamp, last >= start {
            metadata.runtime = last - start
        } else {
            metadata.runtime = run.lastRuntime
        }
        metadata.updatedAt = run.lastTimestamp
        metadata.gitCommit = run.gitCommit
        if !run.environment.program.isEmpty { metadata.command = [run.environment.program] + run.environment.args }
        if !run.environment.root.isEmpty { metadata.workingDirectory = run.environment.root }
        metadata.exitCode = run.exitCode
        var source: JSONObject = [:]
        if let producer = run.producer { source["producer"] = .string(producer) }
        if let sweep = run.sweepID { source["sweep_id"] = .string(sweep) }
        if !run.environment.python.isEmpty { source["python"] = .string(run.environment.python) }
        if !run.environment.os.isEmpty { source["os"] = .string(run.environment.os) }
        source["folders"] = .array(run.folders.map(JSONValue.string))
        if !run.problems.isEmpty { source["import_problems"] = .array(run.problems.map(JSONValue.string)) }
        metadata.extra["wandb"] = .object(source)
        return metadata
    }

    private static func encode(_ rows: [JSONObject]) -> [UInt8] {
        var text = ""
        for row in rows {
            JSONWriter.write(.object(row), into: &text, indent: nil, level: 0)
            text.append("\n")
        }
        return Array(text.utf8)
    }
}
