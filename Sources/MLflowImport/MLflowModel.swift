/// What an MLflow tracking store holds, as both readers (the `mlruns/` file store and the
/// `mlflow.db` SQLite store) produce it, before it is mapped onto runql's store.
///
/// ```
/// mlruns/  ──FileStoreReader──┐
///                             ├──▶ MLflowExperiment, MLflowRun, [MLflowMetricPoint], MLflowRegisteredModel
/// mlflow.db ──SQLiteStoreReader┘        ──MLflowImporter──▶ RunStore (runs, history, artifacts)
/// ```
/// Times are MLflow's: milliseconds since the epoch.
public struct MLflowExperiment: Sendable, Equatable {
    public var id: String
    public var name: String
    public var artifactLocation: String?
    /// `active` or `deleted`.
    public var lifecycleStage: String
    public var creationTime: Int64?
    public var tags: [String: String] = [:]

    public init(id: String, name: String, artifactLocation: String?, lifecycleStage: String, creationTime: Int64?) {
        self.id = id
        self.name = name
        self.artifactLocation = artifactLocation
        self.lifecycleStage = lifecycleStage
        self.creationTime = creationTime
    }
}

/// MLflow's run status, as the API names it (the file store writes it as an integer).
public enum MLflowRunStatus: String, Sendable, CaseIterable {
    case running = "RUNNING", scheduled = "SCHEDULED", finished = "FINISHED", failed = "FAILED", killed = "KILLED"

    /// The file store's `status` integer (`RunStatus` enum: RUNNING 1 … KILLED 5).
    public init?(fileStoreCode: Int64) {
        switch fileStoreCode {
        case 1: self = .running
        case 2: self = .scheduled
        case 3: self = .finished
        case 4: self = .failed
        case 5: self = .killed
        default: return nil
        }
    }
}

/// A dataset a run consumed (`mlflow.log_input`).
public struct MLflowDatasetInput: Sendable, Equatable {
    public var name: String
    public var digest: String
    /// The `mlflow.data.context` input tag, e.g. `training`.
    public var context: String?
}

/// One run's attributes, params and tags (its metrics are read separately: they can be large).
public struct MLflowRun: Sendable, Equatable {
    public var id: String
    public var experimentID: String
    /// `run_name`, else the `mlflow.runName` tag.
    public var name: String?
    public var status: MLflowRunStatus
    public var startTime: Int64?
    public var endTime: Int64?
    public var userID: String?
    /// `active` or `deleted`.
    public var lifecycleStage: String
    public var deletedTime: Int64?
    public var artifactURI: String?
    public var sourceType: String?
    public var sourceName: String?
    public var sourceVersion: String?
    public var entryPointName: String?
    /// Param values as MLflow keeps them: always strings.
    public var params: [String: String] = [:]
    public var tags: [String: String] = [:]
    public var inputs: [MLflowDatasetInput] = []
    /// Where the run was read from, for messages: its folder in `mlruns/`, or the database.
    public var origin = ""

    public init(id: String, experimentID: String, status: MLflowRunStatus, lifecycleStage: String) {
        self.id = id
        self.experimentID = experimentID
        self.status = status
        self.lifecycleStage = lifecycleStage
    }
}

/// One logged metric value: `log_metric(key, value, step)` at `timestamp`.
public struct MLflowMetricPoint: Sendable, Equatable {
    public var key: String
    /// NaN and ±infinity as the source stored them (the SQLite store keeps ±inf as ±DBL_MAX).
    public var value: Double
    public var timestamp: Int64
    public var step: Int64

    public init(key: String, value: Double, timestamp: Int64, step: Int64) {
        self.key = key
        self.value = value
        self.timestamp = timestamp
        self.step = step
    }

    public static func == (lhs: MLflowMetricPoint, rhs: MLflowMetricPoint) -> Bool {
        lhs.key == rhs.key && lhs.timestamp == rhs.timestamp && lhs.step == rhs.step
            && (lhs.value == rhs.value || (lhs.value.isNaN && rhs.value.isNaN))
    }
}

/// A run's metric history: every point of every key, each key's points in the order logged.
public struct MLflowMetricHistory: Sendable {
    /// Keys in first-seen order, each with its points in log order.
    public var series: [(key: String, points: [MLflowMetricPoint])] = []
    /// The latest value of each key as the source reports it, when it keeps one (SQLite's
    /// `latest_metrics`); nil means compute it from the points.
    public var storedLatest: [String: Double]?
    /// Points that could not be read, as `file:line (byte offset): reason`.
    public var warnings: [String] = []

    public init() {}

    /// Where each key's series is in `series`.
    private var seriesIndex: [String: Int] = [:]

    /// Adds a point at the end of its key's series.
    mutating func append(_ point: MLflowMetricPoint) {
        if let index = seriesIndex[point.key], index < series.count, series[index].key == point.key {
            series[index].points.append(point)
        } else if let index = series.firstIndex(where: { $0.key == point.key }) {
            seriesIndex[point.key] = index
            series[index].points.append(point)
        } else {
            seriesIndex[point.key] = series.count
            series.append((point.key, [point]))
        }
    }

    public var pointCount: Int { series.reduce(0) { $0 + $1.points.count } }

    /// The latest value of each key the way MLflow computes it: the point with the greatest
    /// (step, timestamp, value), the first of equals winning (so a NaN never displaces a tie).
    public func latestValues() -> [(key: String, value: Double)] {
        series.map { series in
            var best = series.points[0]
            for point in series.points.dropFirst() where Self.isAfter(point, best) { best = point }
            return (series.key, storedLatest?[series.key] ?? best.value)
        }
    }

    private static func isAfter(_ candidate: MLflowMetricPoint, _ best: MLflowMetricPoint) -> Bool {
        if candidate.step != best.step { return candidate.step > best.step }
        if candidate.timestamp != best.timestamp { return candidate.timestamp > best.timestamp }
        return candidate.value > best.value
    }
}

/// A registered model of the model registry.
public struct MLflowRegisteredModel: Sendable, Equatable {
    public var name: String
    public var description: String?
    public var creationTime: Int64?
    public var tags: [String: String] = [:]
    /// Alias → version number.
    public var aliases: [String: Int64] = [:]
    public var versions: [MLflowModelVersion] = []

    public init(name: String) {
        self.name = name
    }
}

/// One version of a registered model.
public struct MLflowModelVersion: Sendable, Equatable {
    public var version: Int64
    public var description: String?
    public var creationTime: Int64?
    public var userID: String?
    /// The legacy stage (`None`, `Staging`, `Production`, `Archived`).
    public var currentStage: String?
    /// `models:/m-…`, `runs:/<run>/<path>` or a URI of the files.
    public var source: String?
    public var runID: String?
    public var status: String?
    /// Where the model's files are (MLflow 3): a `file://` URI or a plain path.
    public var storageLocation: String?
    /// The MLflow 3 LoggedModel id (`m-…`), when the version has one.
    public var modelID: String?
    public var tags: [String: String] = [:]

    public init(version: Int64) {
        self.version = version
    }
}

/// A reader of one MLflow tracking store: the file store or the SQLite store.
public protocol MLflowStoreReader {
    /// What the user pointed at, for messages.
    var sourceDescription: String { get }
    /// The experiments, in id order (what cannot be read goes to `skipped`).
    func experiments() throws -> [MLflowExperiment]
    /// The runs of one experiment.
    func runs(of experiment: MLflowExperiment) throws -> [MLflowRun]
    /// Every metric point of one run.
    func metricHistory(of run: MLflowRun) throws -> MLflowMetricHistory
    /// The model registry.
    func registeredModels() throws -> [MLflowRegisteredModel]
    /// The folder of a LoggedModel's files (MLflow 3 `models:/m-…`), when the store knows it.
    func loggedModelLocation(_ modelID: String) throws -> String?
    /// Parts of the store that were skipped, and why (filled while reading).
    var skipped: [String] { get }
}
