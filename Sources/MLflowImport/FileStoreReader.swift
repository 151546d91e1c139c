import Foundation
import RunStore
#if canImport(Glibc)
import Glibc
#endif

/// Reads an MLflow file store (`mlruns/`): experiment folders with `meta.yaml`, run folders with
/// `meta.yaml`, `params/`, `tags/` and `metrics/` (keys with `/` are subfolders), and the model
/// registry under `models/`.
///
/// A folder that is not a readable experiment (e.g. `mlruns/1/` of a SQLite store sharing the
/// folder, which has no `meta.yaml`) is skipped with a note, as MLflow itself skips it.
public final class FileStoreReader: MLflowStoreReader {
    public let root: String
    public private(set) var skipped: [String] = []
    public var sourceDescription: String { root }
    /// Each experiment's folder, by id.
    private var experimentFolders: [String: String] = [:]

    /// Folders inside an experiment that are not runs.
    private static let experimentSubfolders: Set<String> = ["tags", "datasets", "models", "traces"]

    public init(root: String) {
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
    }

    // MARK: Experiments

    public func experiments() throws -> [MLflowExperiment] {
        var experiments: [MLflowExperiment] = []
        // Deleted experiments are moved to .trash/ whole; they import too, marked deleted.
        let folders = Self.list(root).map { "\(root)/\($0)" } + Self.list("\(root)/.trash").map { "\(root)/.trash/\($0)" }
        for folder in folders where Self.isDirectory(folder) {
            let name = (folder as NSString).lastPathComponent
            if name.hasPrefix(".") || folder == "\(root)/models" { continue }
            let metaPath = "\(folder)/meta.yaml"
            guard FileIO.size(of: metaPath) != nil else {
                skipped.append("\(folder): no meta.yaml, so not an experiment of this file store (MLflow skips it too)")
                continue
            }
            do {
                let meta = try Self.readMeta(metaPath)
                guard let experimentName = meta["name"]?.string else {
                    throw StoreError("\(metaPath): no experiment name")
                }
                var experiment = MLflowExperiment(
                    id: name, name: experimentName,
                    artifactLocation: meta["artifact_location"]?.string,
                    lifecycleStage: meta["lifecycle_stage"]?.string ?? "active",
                    creationTime: meta["creation_time"]?.integer)
                experiment.tags = try readKeyFiles("\(folder)/tags")
                experimentFolders[experiment.id] = folder
                experiments.append(experiment)
            } catch {
                skipped.append("\(error); experiment skipped")
            }
        }
        return experiments.sorted { Self.idOrder($0.id, $1.id) }
    }

    /// Numeric ids in numeric order, others after them by text.
    static func idOrder(_ a: String, _ b: String) -> Bool {
        switch (Int64(a), Int64(b)) {
        case let (x?, y?): return x < y
        case (_?, nil): return true
        case (nil, _?): return false
        case (nil, nil): return a < b
        }
    }

    // MARK: Runs

    public func runs(of experiment: MLflowExperiment) throws -> [MLflowRun] {
        let folder = experimentFolder(experiment)
        var runs: [MLflowRun] = []
        for name in Self.list(folder) where !name.hasPrefix(".") && !Self.experimentSubfolders.contains(name) && Self.isDirectory("\(folder)/\(name)") {
            let runFolder = "\(folder)/\(name)"
            let metaPath = "\(runFolder)/meta.yaml"
            guard FileIO.size(of: metaPath) != nil else {
                skipped.append("\(runFolder): no meta.yaml, so not a run")
                continue
            }
            do {
                runs.append(try readRun(runFolder, metaPath: metaPath, experiment: experiment))
            } catch {
                skipped.append("\(error); run skipped")
            }
        }
        return runs
    }

    /// The file store names each experiment's folder by its id (under `.trash/` once deleted).
    private func experimentFolder(_ experiment: MLflowExperiment) -> String {
        experimentFolder(id: experiment.id)
    }

    private func experimentFolder(id: String) -> String {
        experimentFolders[id] ?? "\(root)/\(id)"
    }

    private func readRun(_ folder: String, metaPath: String, experiment: MLflowExperiment) throws -> MLflowRun {
        let meta = try Self.readMeta(metaPath)
        guard let id = meta["run_id"]?.string ?? meta["run_uuid"]?.string else {
            throw StoreError("\(metaPath): no run_id")
        }
        let statusValue = meta["status"]
        let status = statusValue?.integer.flatMap(MLflowRunStatus.init(fileStoreCode:))
            ?? statusValue?.string.flatMap { MLflowRunStatus(rawValue: $0) }
        guard let status else {
            throw StoreError("\(metaPath): unknown run status \(statusValue?.string ?? "null")")
        }
        var run = MLflowRun(
            id: id, experimentID: experiment.id, status: status,
            lifecycleStage: meta["lifecycle_stage"]?.string ?? "active")
        run.origin = folder
        run.startTime = meta["start_time"]?.integer
        run.endTime = meta["end_time"]?.integer
        run.userID = meta["user_id"]?.string
        run.deletedTime = meta["deleted_time"]?.integer
        run.artifactURI = meta["artifact_uri"]?.string
        run.sourceType = meta["source_type"]?.integer.map(Self.sourceTypeName) ?? meta["source_type"]?.string
        run.sourceName = meta["source_name"]?.string
        run.sourceVersion = meta["source_version"]?.string
        run.entryPointName = meta["entry_point_name"]?.string
        run.params = try readKeyFiles("\(folder)/params")
        run.tags = try readKeyFiles("\(folder)/tags")
        run.name = meta["run_name"]?.string ?? meta["name"]?.string ?? run.tags["mlflow.runName"]
        run.inputs = try readInputs(folder, experiment: experiment)
        return run
    }

    /// The file store's `SourceType` integer as the API names it.
    static func sourceTypeName(_ code: Int64) -> String {
        switch code {
        case 1: return "NOTEBOOK"
        case 2: return "JOB"
        case 3: return "PROJECT"
        case 4: return "LOCAL"
        default: return "UNKNOWN"
        }
    }

    /// `inputs/<id>/meta.yaml` links to `datasets/<id>/meta.yaml` of the experiment.
    private func readInputs(_ runFolder: String, experiment: MLflowExperiment) throws -> [MLflowDatasetInput] {
        var inputs: [MLflowDatasetInput] = []
        for name in Self.list("\(runFolder)/inputs") {
            let metaPath = "\(runFolder)/inputs/\(name)/meta.yaml"
            guard FileIO.size(of: metaPath) != nil else { continue }
            let meta = try Self.readMeta(metaPath)
            guard meta["source_type"]?.string == "DATASET", let datasetID = meta["source_id"]?.string else { continue }
            let datasetPath = "\(experimentFolder(experiment))/datasets/\(datasetID)/meta.yaml"
            guard FileIO.size(of: datasetPath) != nil else {
                skipped.append("\(metaPath): dataset \(datasetID) not found in the experiment; input left out")
                continue
            }
            let dataset = try Self.readMeta(datasetPath)
            inputs.append(MLflowDatasetInput(
                name: dataset["name"]?.string ?? datasetID, digest: dataset["digest"]?.string ?? "",
                context: meta["tags"]?["mlflow.data.context"]?.string))
        }
        return inputs.sorted { ($0.name, $0.digest) < ($1.name, $1.digest) }
    }

    // MARK: Metrics

    public func metricHistory(of run: MLflowRun) throws -> MLflowMetricHistory {
        let folder = "\(experimentFolder(id: run.experimentID))/\(run.id)/metrics"
        var history = MLflowMetricHistory()
        for (key, path) in Self.keyFiles(folder, notes: &history.warnings) {
            guard let bytes = try FileIO.read(path) else { continue }
            for point in Self.parseMetricFile(bytes, key: key, path: path, warnings: &history.warnings) { history.append(point) }
        }
        return history
    }

    /// One point per line: `timestamp value step` (also the older `timestamp value` and the
    /// dataset-tagged `timestamp value step dataset_name dataset_digest`). Values are Python
    /// floats: `nan`, `inf`, `-inf` included. A line that does not read (e.g. cut short by a
    /// crash) is left out with a warning naming the file, line and byte offset.
    static func parseMetricFile(_ bytes: [UInt8], key: String, path: String, warnings: inout [String]) -> [MLflowMetricPoint] {
        var points: [MLflowMetricPoint] = []
        var lineNumber = 0
        var offset = 0
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            defer { offset += line.count + 1 }
            let fields = line.split(separator: UInt8(ascii: " ")).map { String(decoding: $0, as: UTF8.self) }
            if fields.isEmpty { continue }
            func reject(_ reason: String) {
                warnings.append("\(path):\(lineNumber) (byte \(offset)): \(reason); line skipped")
            }
            guard fields.count >= 2, fields.count <= 6 else {
                reject("expected 'timestamp value step', found \(fields.count) fields")
                continue
            }
            guard let timestamp = Int64(fields[0]) else {
                reject("timestamp \"\(fields[0])\" is not an integer")
                continue
            }
            guard let value = parsePythonFloat(fields[1]) else {
                reject("value \"\(fields[1])\" is not a number")
                continue
            }
            var step: Int64 = 0
            if fields.count >= 3 {
                guard let parsed = Int64(fields[2]) else {
                    reject("step \"\(fields[2])\" is not an integer")
                    continue
                }
                step = parsed
            }
            points.append(MLflowMetricPoint(key: key, value: value, timestamp: timestamp, step: step))
        }
        return points
    }

    /// Python's `str(float)` spellings: decimals, exponents, `nan`, `inf`, `-inf`.
    static func parsePythonFloat(_ text: String) -> Double? {
        switch text.lowercased() {
        case "nan", "-nan": return .nan
        case "inf", "infinity", "+inf": return .infinity
        case "-inf", "-infinity": return -.infinity
        default:
            guard let first = text.unicodeScalars.first, first == "-" || first == "+" || first == "." || ("0"..."9").contains(first) else { return nil }
            return Double(text)
        }
    }

    // MARK: Model registry

    public func registeredModels() throws -> [MLflowRegisteredModel] {
        let registry = "\(root)/models"
        var models: [MLflowRegisteredModel] = []
        for name in Self.list(registry) where Self.isDirectory("\(registry)/\(name)") {
            let folder = "\(registry)/\(name)"
            let metaPath = "\(folder)/meta.yaml"
            guard FileIO.size(of: metaPath) != nil else {
                skipped.append("\(folder): no meta.yaml, so not a registered model")
                continue
            }
            do {
                let meta = try Self.readMeta(metaPath)
                var model = MLflowRegisteredModel(name: meta["name"]?.string ?? name)
                model.description = meta["description"]?.string
                model.creationTime = meta["creation_timestamp"]?.integer
                model.tags = try readKeyFiles("\(folder)/tags")
                for (alias, version) in try readKeyFiles("\(folder)/aliases") {
                    if let number = Int64(version.trimmingCharacters(in: .whitespacesAndNewlines)) { model.aliases[alias] = number }
                }
                if case .mapping(let members)? = meta["aliases"] {
                    for (alias, version) in members { if let number = version.integer { model.aliases[alias] = number } }
                }
                for versionFolder in Self.list(folder) where versionFolder.hasPrefix("version-") {
                    let versionMeta = "\(folder)/\(versionFolder)/meta.yaml"
                    guard FileIO.size(of: versionMeta) != nil else { continue }
                    let meta = try Self.readMeta(versionMeta)
                    guard let number = meta["version"]?.integer else {
                        throw StoreError("\(versionMeta): no version number")
                    }
                    var version = MLflowModelVersion(version: number)
                    version.description = meta["description"]?.string
                    version.creationTime = meta["creation_timestamp"]?.integer
                    version.userID = meta["user_id"]?.string
                    version.currentStage = meta["current_stage"]?.string
                    version.source = meta["source"]?.string
                    version.runID = meta["run_id"]?.string
                    version.status = meta["status"]?.string
                    version.storageLocation = meta["storage_location"]?.string
                    version.modelID = meta["model_id"]?.string
                    version.tags = try readKeyFiles("\(folder)/\(versionFolder)/tags")
                    model.versions.append(version)
                }
                model.versions.sort { $0.version < $1.version }
                models.append(model)
            } catch {
                skipped.append("\(error); registered model \(name) skipped")
            }
        }
        return models
    }

    public func loggedModelLocation(_ modelID: String) throws -> String? {
        for experiment in Self.list(root) where experiment != "models" && !experiment.hasPrefix(".") {
            let metaPath = "\(root)/\(experiment)/models/\(modelID)/meta.yaml"
            guard FileIO.size(of: metaPath) != nil else { continue }
            return try Self.readMeta(metaPath)["artifact_location"]?.string
        }
        return nil
    }

    // MARK: Files

    static func readMeta(_ path: String) throws -> MetaYAML.Value {
        guard isRegularFile(path) else { throw StoreError("\(path): not a regular file") }
        guard let bytes = try FileIO.read(path) else { throw StoreError("\(path): missing") }
        do {
            return try MetaYAML.parse(String(decoding: bytes, as: UTF8.self))
        } catch let error as MetaYAML.ParseError {
            throw StoreError("\(path):\(error.line): \(error.message)")
        }
    }

    /// `params/`, `tags/`: one file per key holding the value; keys with `/` are subfolders.
    /// What the walk leaves out goes to `skipped`.
    private func readKeyFiles(_ folder: String) throws -> [String: String] {
        var values: [String: String] = [:]
        for (key, path) in Self.keyFiles(folder, notes: &skipped) {
            guard let bytes = try FileIO.read(path) else { continue }
            values[key] = String(decoding: bytes, as: UTF8.self)
        }
        return values
    }

    /// How many folders deep `keyFiles` goes. MLflow nests keys by `/` and models by folder;
    /// nothing it writes comes near this.
    static let maximumDepth = 64

    /// The regular files below `folder`, recursively, each with its path relative to `folder` as
    /// the key. Symbolic links are not followed (a link to `.` would loop forever, a link to `/`
    /// would pull in the whole filesystem), nothing but folders and regular files is read (a FIFO
    /// would block), and nothing deeper than `maximumDepth` folders: each such entry is left out
    /// with a note in `notes`.
    static func keyFiles(_ folder: String, notes: inout [String]) -> [(key: String, path: String)] {
        var files: [(key: String, path: String)] = []
        walk(folder, prefix: "", depth: 0, into: &files, notes: &notes)
        return files
    }

    private static func walk(_ folder: String, prefix: String, depth: Int, into files: inout [(key: String, path: String)], notes: inout [String]) {
        for name in list(folder) {
            let path = "\(folder)/\(name)"
            switch entryKind(path) {
            case .directory:
                guard depth < maximumDepth else {
                    notes.append("\(path): more than \(maximumDepth) folders deep; left out")
                    continue
                }
                walk(path, prefix: "\(prefix)\(name)/", depth: depth + 1, into: &files, notes: &notes)
            case .file:
                files.append(("\(prefix)\(name)", path))
            case .symbolicLink:
                notes.append("\(path): a symbolic link, which the import does not follow; left out")
            case .other:
                notes.append("\(path): neither a file nor a folder; left out")
            case nil:
                continue
            }
        }
    }

    enum EntryKind {
        case directory, file, symbolicLink, other
    }

    /// Whether `path` is a regular file, following symbolic links (a FIFO would block a read).
    static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG
    }

    /// What `path` itself is, not following a symbolic link; nil when it does not exist.
    static func entryKind(_ path: String) -> EntryKind? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFREG: return .file
        case S_IFLNK: return .symbolicLink
        default: return .other
        }
    }

    /// A directory's entries (hidden ones included, except `.`/`..`), sorted; empty when missing.
    static func list(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}
