import RunStore

/// Reads an MLflow SQLAlchemy store in SQLite (`mlflow.db`), opened read-only: `experiments`,
/// `runs`, `params`, `tags`, `metrics` (NaN as `is_nan = 1`, ±inf as ±DBL_MAX, as MLflow
/// stored them), `latest_metrics`, the dataset inputs, and the model registry tables.
///
/// Columns are read by name (`SELECT *`), so schema versions that add columns read the same.
public final class SQLiteStoreReader: MLflowStoreReader {
    private let database: SQLiteDatabase
    public private(set) var skipped: [String] = []
    public var sourceDescription: String { database.path }
    private var params: [String: [String: String]] = [:]
    private var tags: [String: [String: String]] = [:]
    private var inputs: [String: [MLflowDatasetInput]] = [:]
    private let hasLatestMetrics: Bool

    /// Opens the database and checks that it is an MLflow tracking store.
    public init(path: String) throws {
        database = try SQLiteDatabase(path: path)
        for table in ["experiments", "runs", "metrics", "params", "tags"] where try !database.hasTable(table) {
            throw StoreError("\(path) is not an MLflow tracking database (it has no \"\(table)\" table)")
        }
        hasLatestMetrics = try database.hasTable("latest_metrics")
        try database.query("SELECT key, value, run_uuid FROM params") { row in
            guard let run = row["run_uuid"].string, let key = row["key"].string else { return }
            params[run, default: [:]][key] = row["value"].string ?? ""
        }
        try database.query("SELECT key, value, run_uuid FROM tags") { row in
            guard let run = row["run_uuid"].string, let key = row["key"].string else { return }
            tags[run, default: [:]][key] = row["value"].string ?? ""
        }
        try readInputs()
    }

    private func readInputs() throws {
        guard try database.hasTable("inputs"), try database.hasTable("datasets") else { return }
        var datasets: [String: (name: String, digest: String)] = [:]
        try database.query("SELECT dataset_uuid, name, digest FROM datasets") { row in
            guard let id = row["dataset_uuid"].string else { return }
            datasets[id] = (row["name"].string ?? id, row["digest"].string ?? "")
        }
        var contexts: [String: String] = [:]
        if try database.hasTable("input_tags") {
            try database.query("SELECT input_uuid, name, value FROM input_tags WHERE name = 'mlflow.data.context'") { row in
                if let id = row["input_uuid"].string { contexts[id] = row["value"].string }
            }
        }
        try database.query(
            "SELECT input_uuid, source_id, destination_id FROM inputs WHERE source_type = 'DATASET' AND destination_type = 'RUN'"
        ) { row in
            guard let inputID = row["input_uuid"].string, let datasetID = row["source_id"].string,
                let run = row["destination_id"].string, let dataset = datasets[datasetID]
            else { return }
            inputs[run, default: []].append(MLflowDatasetInput(name: dataset.name, digest: dataset.digest, context: contexts[inputID]))
        }
    }

    public func experiments() throws -> [MLflowExperiment] {
        var experiments: [MLflowExperiment] = []
        try database.query("SELECT * FROM experiments ORDER BY experiment_id") { row in
            guard let id = row["experiment_id"].string, let name = row["name"].string else {
                skipped.append("\(database.path): experiments row \(row.number) has no id or name; skipped")
                return
            }
            experiments.append(MLflowExperiment(
                id: id, name: name, artifactLocation: row["artifact_location"].string,
                lifecycleStage: row["lifecycle_stage"].string ?? "active", creationTime: row["creation_time"].integer))
        }
        if try database.hasTable("experiment_tags") {
            try database.query("SELECT key, value, experiment_id FROM experiment_tags") { row in
                guard let id = row["experiment_id"].string, let key = row["key"].string,
                    let index = experiments.firstIndex(where: { $0.id == id })
                else { return }
                experiments[index].tags[key] = row["value"].string ?? ""
            }
        }
        return experiments
    }

    public func runs(of experiment: MLflowExperiment) throws -> [MLflowRun] {
        var runs: [MLflowRun] = []
        try database.query("SELECT * FROM runs WHERE experiment_id = ? ORDER BY start_time, run_uuid", [experiment.id]) { row in
            guard let id = row["run_uuid"].string else {
                skipped.append("\(database.path): runs row \(row.number) of experiment \(experiment.id) has no run_uuid; skipped")
                return
            }
            guard let statusText = row["status"].string, let status = MLflowRunStatus(rawValue: statusText) else {
                skipped.append("\(database.path): run \(id) has unknown status \(row["status"].string ?? "null"); skipped")
                return
            }
            var run = MLflowRun(id: id, experimentID: experiment.id, status: status, lifecycleStage: row["lifecycle_stage"].string ?? "active")
            run.origin = "\(database.path) (run \(id))"
            run.startTime = row["start_time"].integer
            run.endTime = row["end_time"].integer
            run.userID = row["user_id"].string
            run.deletedTime = row["deleted_time"].integer
            run.artifactURI = row["artifact_uri"].string
            run.sourceType = row["source_type"].string
            run.sourceName = row["source_name"].string
            run.sourceVersion = row["source_version"].string
            run.entryPointName = row["entry_point_name"].string
            run.params = params[id] ?? [:]
            run.tags = tags[id] ?? [:]
            run.name = row["name"].string ?? run.tags["mlflow.runName"]
            run.inputs = (inputs[id] ?? []).sorted { ($0.name, $0.digest) < ($1.name, $1.digest) }
            runs.append(run)
        }
        return runs
    }

    public func metricHistory(of run: MLflowRun) throws -> MLflowMetricHistory {
        var history = MLflowMetricHistory()
        // rowid order is insertion order: the order the points were logged.
        try database.query(
            "SELECT key, value, timestamp, step, is_nan FROM metrics WHERE run_uuid = ? ORDER BY rowid", [run.id]
        ) { row in
            guard let key = row["key"].string, let value = row["value"].double else {
                throw StoreError("\(database.path): metrics row \(row.number) of run \(run.id) has no key or value")
            }
            let isNaN = (row["is_nan"].integer ?? 0) != 0
            history.append(MLflowMetricPoint(
                key: key, value: isNaN ? .nan : value, timestamp: row["timestamp"].integer ?? 0, step: row["step"].integer ?? 0))
        }
        if hasLatestMetrics {
            var latest: [String: Double] = [:]
            try database.query("SELECT key, value, is_nan FROM latest_metrics WHERE run_uuid = ?", [run.id]) { row in
                guard let key = row["key"].string, let value = row["value"].double else { return }
                latest[key] = (row["is_nan"].integer ?? 0) != 0 ? .nan : value
            }
            history.storedLatest = latest
        }
        return history
    }

    public func registeredModels() throws -> [MLflowRegisteredModel] {
        guard try database.hasTable("registered_models"), try database.hasTable("model_versions") else { return [] }
        var models: [MLflowRegisteredModel] = []
        try database.query("SELECT * FROM registered_models ORDER BY name") { row in
            guard let name = row["name"].string else { return }
            var model = MLflowRegisteredModel(name: name)
            model.description = row["description"].string
            model.creationTime = row["creation_time"].integer
            models.append(model)
        }
        func index(_ name: String?) -> Int? { models.firstIndex { $0.name == name } }
        try database.query("SELECT * FROM model_versions ORDER BY name, version") { row in
            guard let modelIndex = index(row["name"].string), let number = row["version"].integer else { return }
            var version = MLflowModelVersion(version: number)
            version.description = row["description"].string
            version.creationTime = row["creation_time"].integer
            version.userID = row["user_id"].string
            version.currentStage = row["current_stage"].string
            version.source = row["source"].string
            version.runID = row["run_id"].string
            version.status = row["status"].string
            version.storageLocation = row["storage_location"].string
            if let source = version.source, source.hasPrefix("models:/m-") { version.modelID = String(source.dropFirst("models:/".count)) }
            models[modelIndex].versions.append(version)
        }
        if try database.hasTable("registered_model_tags") {
            try database.query("SELECT key, value, name FROM registered_model_tags") { row in
                guard let modelIndex = index(row["name"].string), let key = row["key"].string else { return }
                models[modelIndex].tags[key] = row["value"].string ?? ""
            }
        }
        if try database.hasTable("model_version_tags") {
            try database.query("SELECT key, value, name, version FROM model_version_tags") { row in
                guard let modelIndex = index(row["name"].string), let key = row["key"].string,
                    let versionIndex = models[modelIndex].versions.firstIndex(where: { $0.version == row["version"].integer })
                else { return }
                models[modelIndex].versions[versionIndex].tags[key] = row["value"].string ?? ""
            }
        }
        if try database.hasTable("registered_model_aliases") {
            try database.query("SELECT alias, version, name FROM registered_model_aliases") { row in
                guard let modelIndex = index(row["name"].string), let alias = row["alias"].string, let version = row["version"].integer else { return }
                models[modelIndex].aliases[alias] = version
            }
        }
        return models
    }

    public func loggedModelLocation(_ modelID: String) throws -> String? {
        guard try database.hasTable("logged_models") else { return nil }
        var location: String?
        try database.query("SELECT artifact_location FROM logged_models WHERE model_id = ?", [modelID]) { location = $0["artifact_location"].string }
        return location
    }
}
