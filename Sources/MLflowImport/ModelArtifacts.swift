import Foundation
import RunStore

/// Registered models as runql artifacts: each registered model is a collection of type `model`
/// (`ENTITY/PROJECT/<model name>`, PROJECT being the experiment of the run that produced its
/// first version), each MLflow version a runql version holding the model's files, logged by the
/// version's run (lineage), with MLflow's aliases moved onto it. `metadata.mlflow` keeps the
/// MLflow version number, source, status, stage, model id, run id and tags of the version and
/// the registered model.
enum ModelArtifacts {
    /// Where one MLflow version's files were found: the local folder (or file), else why not.
    typealias ResolveFiles = (MLflowModelVersion) -> Result<String, FilesNotFound>

    /// Why a version's files are not imported, as the note says it.
    struct FilesNotFound: Error {
        var reason: String
    }

    /// Logs every version of `model` (oldest first) that the store does not have yet, and moves
    /// the aliases; returns notes on what could not be done.
    static func write(
        _ model: MLflowRegisteredModel, runs: [String: RunLocation], entity: String, store: RunStore,
        resolveFiles: ResolveFiles, report: inout MLflowImporter.Report
    ) throws -> [String] {
        var notes: [String] = []
        guard !model.versions.isEmpty else { return ["registered model \(model.name): no versions, nothing to import"] }
        guard !model.name.contains("/"), !model.name.contains(":") else {
            return ["registered model \(model.name): runql artifact names cannot contain '/' or ':'; skipped"]
        }
        let project = model.versions.lazy.compactMap { $0.runID.flatMap { runs[$0] }?.project }.first ?? "mlflow-model-registry"
        let name = ArtifactName(entity: entity, project: project, name: model.name)
        var existing = try store.artifactVersions(name)
        for version in model.versions {
            let aliases = model.aliases.filter { $0.value == version.version }.map(\.key).sorted().filter { alias in
                guard isValidAlias(alias) else {
                    notes.append("registered model \(model.name): alias \"\(alias)\" is not a valid runql alias (letters, digits, '_', '.', '-'); not moved")
                    return false
                }
                return true
            }
            if let stored = existing.first(where: { isImport(of: version, $0) }) {
                for alias in aliases where !stored.aliases.contains(alias) {
                    try store.moveAlias(alias, to: name, version: stored.version)
                }
                report.artifactsUnchanged += 1
                continue
            }
            var draft = ArtifactDraft(name: name, type: "model")
            draft.description = version.description ?? model.description
            draft.metadata = metadata(model, version)
            draft.aliases = aliases
            draft.loggedBy = version.runID.flatMap { runs[$0] }
            if let created = version.creationTime {
                draft.createdAt = RunMapping.storableTime(created)
                if draft.createdAt == nil {
                    notes.append("registered model \(model.name) version \(version.version): creation time \(created) ms is not a time runql can store (years 0000 to 9999); left out")
                }
            }
            draft.createdBy = version.userID
            draft.reuse = .anyVersion
            switch resolveFiles(version) {
            case .success(let folder):
                var left: [String] = []
                draft.files = files(in: folder, notes: &left)
                notes += left.map { "registered model \(model.name) version \(version.version): \($0)" }
            case .failure(let notFound):
                notes.append("registered model \(model.name) version \(version.version): \(notFound.reason); imported without files")
            }
            if version.runID != nil, draft.loggedBy == nil {
                notes.append("registered model \(model.name) version \(version.version): run \(version.runID ?? "") is not in this import; no lineage")
            }
            let (logged, created) = try store.logArtifact(draft)
            if created {
                report.artifactsCreated += 1
            } else {
                report.artifactsUnchanged += 1
                notes.append("registered model \(model.name) version \(version.version) has the same files as \(logged.reference); it is that version in runql")
            }
            existing = try store.artifactVersions(name)
        }
        return notes
    }

    /// Whether a runql version is the import of that MLflow version: same version number, run
    /// and model id (a file store and a SQLite store may both have a `demo-model` version 1).
    private static func isImport(of version: MLflowModelVersion, _ stored: ArtifactVersion) -> Bool {
        guard let recorded = stored.metadata.value(at: [RunMapping.namespace])?.objectValue else { return false }
        func string(_ key: String) -> String? { recorded[key]?.stringValue }
        return recorded["version"]?.integerValue == version.version
            && string("run_id") == version.runID && string("model_id") == version.modelID
    }

    static func metadata(_ model: MLflowRegisteredModel, _ version: MLflowModelVersion) -> JSONObject {
        func string(_ text: String?) -> JSONValue { text.map(JSONValue.string) ?? .null }
        func strings(_ values: [String: String]) -> JSONValue {
            var object = JSONObject()
            for key in values.keys.sorted() { object[key] = .string(values[key] ?? "") }
            return .object(object)
        }
        let mlflow: JSONObject = [
            "registered_model": .string(model.name),
            "version": .int(version.version),
            "run_id": string(version.runID),
            "model_id": string(version.modelID),
            "source": string(version.source),
            "storage_location": string(version.storageLocation),
            "status": string(version.status),
            "current_stage": string(version.currentStage),
            "tags": strings(version.tags),
            "model_description": string(model.description),
            "model_tags": strings(model.tags),
        ]
        return [RunMapping.namespace: .object(mlflow)]
    }

    /// Every regular file below `folder` (or the file itself), by path relative to it; symbolic
    /// links inside are not followed (see `FileStoreReader.keyFiles`), with a note in `notes`.
    static func files(in folder: String, notes: inout [String]) -> [ArtifactDraftFile] {
        guard FileStoreReader.isDirectory(folder) else {
            guard FileStoreReader.isRegularFile(folder) else {
                notes.append("\(folder): neither a file nor a folder; left out")
                return []
            }
            return [ArtifactDraftFile(path: (folder as NSString).lastPathComponent, source: .file(folder))]
        }
        return FileStoreReader.keyFiles(folder, notes: &notes).map { ArtifactDraftFile(path: $0.key, source: .file($0.path)) }
    }

    /// runql's alias rule: letters, digits, `_`, `.`, `-`; not `latest`, not `vN`.
    static func isValidAlias(_ alias: String) -> Bool {
        guard !alias.isEmpty, alias != "latest" else { return false }
        let allowed = alias.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_.-".unicodeScalars.contains($0)) }
        let looksLikeVersion = alias.first == "v" && alias.count > 1 && alias.dropFirst().allSatisfy(\.isNumber)
        return allowed && !looksLikeVersion
    }
}

/// Absolute paths recorded on another machine (`file:///home/alice/ml-project/mlruns/…`), found
/// here: the path itself when it exists, else the longest tail of it that exists below one of
/// the roots (the folder holding the imported `mlruns/` or `mlflow.db`, and `mlruns/` itself).
///
/// Only files inside a root are ever taken: a location is refused when it has a `..` component,
/// or when the file it names, symbolic links resolved, lies outside every root. Otherwise a model
/// version whose location is `file:///etc/passwd` would copy that file into the store.
enum PathRebase {
    enum Found: Equatable {
        /// The local path of the files.
        case inside(String)
        /// The location names a path that exists but is not inside a root (or goes up with `..`).
        case outside(String)
        case notFound
        /// Not a file location: `models:/…`, `runs:/…`, `s3://…`.
        case notLocal
    }

    static func localPath(for uri: String, roots: [String]) -> Found {
        var path = uri
        if path.hasPrefix("file://") {
            path = String(path.dropFirst("file://".count))
            path = path.removingPercentEncoding ?? path
        } else if path.contains("://") || path.hasPrefix("models:/") || path.hasPrefix("runs:/") {
            return .notLocal
        }
        let components = path.split(separator: "/").map(String.init)
        if components.contains("..") { return .outside(path) }
        let realRoots = roots.compactMap(realPath)
        func isInside(_ candidate: String) -> Bool {
            guard let real = realPath(candidate) else { return false }
            return realRoots.contains { root in real == root || real.hasPrefix(root == "/" ? "/" : "\(root)/") }
        }
        var outside: String?
        if FileManager.default.fileExists(atPath: path) {
            if isInside(path) { return .inside(path) }
            outside = path
        }
        // A tail of one component ("artifacts") would match too much: two at least.
        for start in components.indices.dropLast() {
            let tail = components[start...].joined(separator: "/")
            for root in roots {
                let candidate = "\(root)/\(tail)"
                guard FileManager.default.fileExists(atPath: candidate) else { continue }
                if isInside(candidate) { return .inside(candidate) }
                outside = outside ?? candidate
            }
        }
        return outside.map(Found.outside) ?? .notFound
    }

    /// `path` with symbolic links, `.` and `..` resolved; nil when it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
