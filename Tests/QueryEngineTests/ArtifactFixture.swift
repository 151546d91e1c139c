import Foundation
import RunStore
import TestSupport

/// Writes the artifacts of a fixture store (`stores/NAME/artifacts.jsonl`) through the store's API,
/// after its runs are imported. One operation per line, applied in order:
///
/// ```
/// {"log": {"name": "support-tickets", "type": "dataset", "project": "nlp", "logged_by": "prep1",
///          "created_at": "2026-01-10T00:00:00Z", "metadata": {…}, "aliases": ["golden"],
///          "files": [{"path": "train.csv", "content": "a,b\n"}, {"path": "big.tar", "digest": "md5:…", "size": 10}]}}
/// {"use": "support-tickets:v0", "run": "train1"}          lineage: the run used that version
/// {"use_unresolved": "other/glove:v3", "run": "eval1"}    lineage runql cannot resolve
/// {"alias": "production", "to": "bert-classifier:v1"}    move an alias
/// ```
/// Runs are named by id in `entity` (default `acme`) and `project` (default `nlp`); a `log` may
/// also give `entity`, `ttl_seconds`, `description`, `created_by`, `host` and `git_commit`.
enum ArtifactFixture {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func apply(_ path: String, to store: RunStore) throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        for (number, line) in lines.enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let operation = try JSONParser.parse(line).objectValue else { throw Failure(description: "\(path):\(number + 1): not an object") }
            do {
                try apply(operation, store: store, scratch: scratch.path + "/\(number)")
            } catch {
                throw Failure(description: "\(path):\(number + 1): \(error)")
            }
        }
    }

    private static func array(_ value: JSONValue?) -> [JSONValue] {
        if case .array(let elements)? = value { return elements }
        return []
    }

    private static func apply(_ operation: JSONObject, store: RunStore, scratch: String) throws {
        func run(_ object: JSONObject, _ key: String) -> RunLocation? {
            object[key]?.stringValue.map { RunLocation(entity: object["run_entity"]?.stringValue ?? "acme", project: object["run_project"]?.stringValue ?? "nlp", id: $0) }
        }
        if let log = operation["log"]?.objectValue {
            guard let name = log["name"]?.stringValue, let type = log["type"]?.stringValue else { throw Failure(description: "a log needs a name and a type") }
            var draft = ArtifactDraft(name: ArtifactName(entity: log["entity"]?.stringValue ?? "acme", project: log["project"]?.stringValue ?? "nlp", name: name), type: type)
            draft.description = log["description"]?.stringValue
            draft.metadata = log["metadata"]?.objectValue ?? [:]
            draft.aliases = array(log["aliases"]).compactMap(\.stringValue)
            draft.ttlSeconds = log["ttl_seconds"]?.integerValue
            draft.loggedBy = run(log, "logged_by")
            draft.createdAt = log["created_at"]?.stringValue.flatMap(Timestamp.parse)
            draft.createdBy = log["created_by"]?.stringValue
            draft.host = log["host"]?.stringValue
            draft.gitCommit = log["git_commit"]?.stringValue
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            for (position, file) in array(log["files"]).compactMap(\.objectValue).enumerated() {
                guard let filePath = file["path"]?.stringValue else { throw Failure(description: "a file needs a path") }
                if let content = file["content"]?.stringValue {
                    let local = "\(scratch)/\(position)"
                    try content.write(toFile: local, atomically: true, encoding: .utf8)
                    draft.files.append(ArtifactDraftFile(path: filePath, source: .file(local)))
                } else if let digest = file["digest"]?.stringValue, let size = file["size"]?.integerValue {
                    draft.files.append(ArtifactDraftFile(path: filePath, source: .reference(digest: digest, size: size)))
                } else {
                    throw Failure(description: "file \(filePath) needs content, or a digest and a size")
                }
            }
            try store.logArtifact(draft)
        } else if let reference = operation["use"]?.stringValue, let user = run(operation, "run") {
            let version = try store.resolveArtifact(ArtifactReference(parsing: reference))
            try store.useArtifact(version.name, version: version.version, by: user)
        } else if let reference = operation["use_unresolved"]?.stringValue, let user = run(operation, "run") {
            try store.recordUnresolvedArtifactUse(reference, by: user)
        } else if let alias = operation["alias"]?.stringValue, let target = operation["to"]?.stringValue {
            let version = try store.resolveArtifact(ArtifactReference(parsing: target))
            try store.moveAlias(alias, to: version.name, version: version.version)
        } else {
            throw Failure(description: "unknown operation \(operation.keys.joined(separator: ", "))")
        }
    }
}
