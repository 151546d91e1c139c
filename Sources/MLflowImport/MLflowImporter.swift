import Foundation
import RunStore

/// Imports an MLflow tracking store (an `mlruns/` folder or an `mlflow.db` file) into a runql store.
///
/// Idempotent: a run whose metadata, config and summary are unchanged is not rewritten, and a
/// run's history ends up exactly as a fresh import writes it: when the stored history is the start
/// of it (a run that grew by later steps) only the missing rows are appended; otherwise (new
/// points merge into stored steps) the history is rewritten whole, atomically. So importing twice
/// changes nothing. Parts of the source that cannot be read are skipped with a note; the rest
/// still imports.
public final class MLflowImporter {
    public struct Report: Sendable, Equatable {
        public var experiments = 0
        public var runsCreated = 0
        public var runsUpdated = 0
        public var runsUnchanged = 0
        /// Runs MLflow marks deleted (imported, with `config.mlflow.lifecycle_stage = 'deleted'`).
        public var runsDeleted = 0
        /// History rows appended, and the metric points in them.
        public var stepsImported = 0
        public var pointsImported = 0
        /// Points that were already in the store.
        public var pointsAlreadyStored = 0
        /// Runs whose stored history was rewritten whole because new points merged into stored
        /// steps (their new rows and points are counted above too).
        public var historiesRewritten = 0
        /// Registered model versions: new artifact versions, and ones already in the store.
        public var artifactsCreated = 0
        public var artifactsUnchanged = 0
        /// What was skipped, and why (each also reported through `warn`).
        public var skipped: [String] = []
        /// Runs that could not be imported at all.
        public var runsFailed = 0
    }

    public struct Options: Sendable {
        /// The entity every imported run goes to.
        public var entity: String
        /// A RUNNING run with no end time and no activity for this many seconds is `crashed`.
        public var crashedAfter: Double = 3600
        /// The present, in seconds since the epoch (tests fix it).
        public var now: Double = Timestamp.now()

        public init(entity: String) {
            self.entity = entity
        }
    }

    private var store: RunStore
    private let reader: any MLflowStoreReader
    private let options: Options
    private let warn: (String) -> Void
    public private(set) var report = Report()
    /// The runql run of each imported MLflow run id (lineage of registered model versions).
    private var imported: [String: RunLocation] = [:]
    /// Folders the source's absolute paths are rebased onto when they do not exist here.
    private let rebaseRoots: [String]

    public init(store: RunStore, reader: any MLflowStoreReader, options: Options, warn: @escaping (String) -> Void) {
        self.store = store
        self.store.syncEachWrite = false
        self.reader = reader
        self.options = options
        self.warn = warn
        let source = reader.sourceDescription
        let parent = (source as NSString).deletingLastPathComponent
        rebaseRoots = FileStoreReader.isDirectory(source) ? [parent.isEmpty ? "." : parent, source] : [parent.isEmpty ? "." : parent]
    }

    /// Opens the reader `path` calls for: a folder is a file store, a SQLite file an `mlflow.db`.
    /// `sqlite:///x.db` and `file:///x/mlruns` URIs are accepted too.
    public static func reader(for path: String) throws -> any MLflowStoreReader {
        var path = path
        // sqlite:///rel.db is relative and sqlite:////abs.db absolute, as in MLflow's tracking URIs.
        for prefix in ["sqlite:///", "file://"] where path.hasPrefix(prefix) {
            path = String(path.dropFirst(prefix.count))
            break
        }
        if FileStoreReader.isDirectory(path) {
            let hasExperiment = FileStoreReader.list(path).contains { FileIO.size(of: "\(path)/\($0)/meta.yaml") != nil }
            if !hasExperiment {
                // A project folder holding the store: name what is inside.
                let inside = ["mlruns", "mlflow.db"].filter { FileIO.size(of: "\(path)/\($0)") != nil }.map { "\(path)/\($0)" }
                let hint = inside.isEmpty ? "" : "; import \(inside.joined(separator: " or "))"
                throw StoreError("\(path) is not an MLflow file store: no experiment folder with a meta.yaml (e.g. 0/meta.yaml)\(hint)")
            }
            return FileStoreReader(root: path)
        }
        guard FileIO.size(of: path) != nil else { throw StoreError("\(path): no such file or folder") }
        guard SQLiteDatabase.looksLikeSQLite(path) else {
            throw StoreError("\(path) is neither an MLflow file store folder (mlruns/) nor a SQLite database (mlflow.db)")
        }
        return try SQLiteStoreReader(path: path)
    }

    /// Imports every experiment's runs, then the model registry; `progress(done, total)` counts runs.
    public func importAll(progress: ((Int, Int) -> Void)? = nil) throws {
        let experiments = try reader.experiments()
        var plan: [(MLflowExperiment, [MLflowRun])] = []
        for experiment in experiments {
            plan.append((experiment, try reader.runs(of: experiment)))
        }
        report.experiments = experiments.count
        let total = plan.reduce(0) { $0 + $1.1.count }
        var done = 0
        progress?(0, total)
        for (experiment, runs) in plan {
            let project = RunMapping.projectName(experiment.name)
            for run in runs {
                do {
                    try importRun(run, experiment: experiment, project: project)
                } catch {
                    report.runsFailed += 1
                    skip("run \(run.id) (\(run.name ?? "unnamed")) of experiment \(experiment.name): \(error)")
                }
                done += 1
                progress?(done, total)
            }
        }
        for note in reader.skipped { skip(note) }
        try importRegisteredModels()
    }

    /// Makes everything imported durable; call once at the end.
    public func finish() {
        store.syncToDisk()
    }

    private func skip(_ note: String) {
        report.skipped.append(note)
        warn(note)
    }

    // MARK: Runs

    private func importRun(_ run: MLflowRun, experiment: MLflowExperiment, project: String) throws {
        let location = RunLocation(entity: options.entity, project: project, id: run.id)
        var history = try reader.metricHistory(of: run)
        for warning in history.warnings { skip(warning) }
        history.series = history.series.compactMap { key, points in
            let kept = points.filter { $0.step >= 0 }
            if kept.count < points.count {
                skip("run \(run.id): \(points.count - kept.count) point(s) of metric \(key) have a negative step, which runql does not store; left out")
            }
            if MetricRows.reservedKeys.contains(key) {
                skip("run \(run.id): metric \(key) has a name runql reserves for its own history columns; left out")
                return nil
            }
            return kept.isEmpty ? nil : (key, kept)
        }
        let lastActivity = history.series.flatMap { $0.points.map(\.timestamp) }.max()
        var notes: [String] = []
        let metadata = RunMapping.metadata(
            run, location: location, lastActivity: lastActivity, now: options.now, crashedAfter: options.crashedAfter, notes: &notes)
        let config = RunMapping.config(run, experiment: experiment)
        let summary = RunMapping.summary(history)
        let rows = MetricRows.rows(for: history, runStart: run.startTime, origin: run.origin, notes: &notes)
        for note in notes { skip(note) }
        if RunMapping.isDeleted(run, in: experiment) { report.runsDeleted += 1 }
        let lines = rows.map { row in
            var text = ""
            JSONWriter.write(.object(row), into: &text, indent: nil, level: 0)
            text.append("\n")
            return Array(text.utf8)
        }

        if !store.exists(location) {
            if try store.publishRun(metadata, config: config, summary: summary, history: Array(lines.joined())) {
                report.runsCreated += 1
                count(rows[...])
                imported[run.id] = location
                return
            }
        }
        var changed = false
        if try store.readMetadata(location) != metadata {
            try store.updateMetadata(location) { $0 = metadata }
            changed = true
        }
        if try store.replaceObject(location, .config, with: config) { changed = true }
        if try store.replaceObject(location, .summary, with: summary) { changed = true }
        if try updateHistory(location, rows: rows, lines: lines) { changed = true }
        if changed { report.runsUpdated += 1 } else { report.runsUnchanged += 1 }
        imported[run.id] = location
    }

    /// Makes a stored run's history what a fresh import writes (`rows`, encoded as `lines`), and
    /// returns whether it changed. When the stored history is a prefix of it, line for line (the
    /// run grew by later steps, or did not change), only the missing lines are appended. Otherwise
    /// (a new point landed on a stored step, or the source lost points) the history is replaced
    /// whole, in one atomic rename.
    private func updateHistory(_ location: RunLocation, rows: [JSONObject], lines: [[UInt8]]) throws -> Bool {
        let stored = try store.readRunFile(location, .history) ?? []
        var offset = 0
        var matched = 0
        while matched < lines.count, offset < stored.count {
            let line = lines[matched]
            guard offset + line.count <= stored.count, stored[offset..<offset + line.count].elementsEqual(line) else { break }
            offset += line.count
            matched += 1
        }
        if offset == stored.count {
            report.pointsAlreadyStored += rows[..<matched].reduce(0) { $0 + MetricRows.pointCount($1) }
            guard matched < lines.count else { return false }
            try HistoryWriter(store: store, location: location)
                .appendEncoded(Array(lines[matched...].joined()), lastStep: rows.last?["_step"]?.integerValue)
            count(rows[matched...])
            return true
        }
        let old = HistoryLog.parse(stored, path: "\(location) history")
        let storedPoints = old.steps.reduce(0) { $0 + MetricRows.pointCount($1) }
        let points = rows.reduce(0) { $0 + MetricRows.pointCount($1) }
        report.pointsAlreadyStored += min(storedPoints, points)
        report.pointsImported += max(0, points - storedPoints)
        report.stepsImported += max(0, rows.count - old.steps.count)
        report.historiesRewritten += 1
        try store.replaceRunFile(location, .history, with: Array(lines.joined()))
        return true
    }

    private func count(_ rows: ArraySlice<JSONObject>) {
        report.stepsImported += rows.count
        report.pointsImported += rows.reduce(0) { $0 + MetricRows.pointCount($1) }
    }

    // MARK: Registered models

    private func importRegisteredModels() throws {
        let models: [MLflowRegisteredModel]
        do {
            models = try reader.registeredModels()
        } catch {
            skip("the model registry: \(error)")
            return
        }
        for model in models {
            do {
                let notes = try ModelArtifacts.write(
                    model, runs: imported, entity: options.entity, store: store, resolveFiles: resolveFiles, report: &report)
                for note in notes { skip(note) }
            } catch {
                skip("registered model \(model.name): \(error)")
            }
        }
    }

    /// The local files of a model version: its storage location (or the LoggedModel's, or a
    /// `runs:/` source's run artifacts), rebased onto this machine when the source's absolute
    /// path does not exist here, and only ever inside the folder of the imported store.
    private func resolveFiles(_ version: MLflowModelVersion) -> Result<String, ModelArtifacts.FilesNotFound> {
        var candidates: [String] = []
        if let location = version.storageLocation, !location.isEmpty { candidates.append(location) }
        if let modelID = version.modelID, let location = try? reader.loggedModelLocation(modelID) { candidates.append(location) }
        if let source = version.source {
            if source.hasPrefix("runs:/") {
                let rest = source.dropFirst("runs:/".count)
                let parts = rest.split(separator: "/", maxSplits: 1).map(String.init)
                if let runID = parts.first, let run = imported[runID], let uri = try? store.readObject(run, .config).value(at: [RunMapping.namespace, "artifact_uri"])?.stringValue {
                    candidates.append(parts.count > 1 ? "\(uri)/\(parts[1])" : uri)
                }
            } else if !source.hasPrefix("models:/") {
                candidates.append(source)
            }
        }
        var refused: [String] = []
        for candidate in candidates {
            switch PathRebase.localPath(for: candidate, roots: rebaseRoots) {
            case .inside(let local): return .success(local)
            case .outside(let path):
                let shown = candidate.hasSuffix(path) ? candidate : "\(candidate) (\(path))"
                if !refused.contains(shown) { refused.append(shown) }
            case .notFound, .notLocal: continue
            }
        }
        if !refused.isEmpty {
            let roots = rebaseRoots.map { "\($0)/" }.joined(separator: " and ")
            return .failure(.init(reason: "its files at \(refused.joined(separator: ", ")) lie outside \(roots) (only files beside the imported store are copied)"))
        }
        return .failure(.init(reason: "its files were not found (\(candidates.first ?? "no location recorded"))"))
    }
}
