/// `versions/vN.json`: one immutable version manifest (docs/STORE.md, "Artifacts").
extension ArtifactVersion {
    /// The manifest object, keys in a fixed order.
    public var json: JSONObject {
        [
            "entity": .string(name.entity), "project": .string(name.project), "name": .string(name.name),
            "version": .int(Int64(version)), "type": .string(type),
            "digest": .string(digest), "size": .int(size), "file_count": .int(Int64(files.count)),
            "files": .array(files.map { .object(["path": .string($0.path), "digest": .string($0.digest), "size": .int($0.size)]) }),
            "metadata": .object(metadata),
            "description": description.map(JSONValue.string) ?? .null,
            "created_at": .string(Timestamp.format(createdAt)),
            "created_by": createdBy.map(JSONValue.string) ?? .null,
            "host": host.map(JSONValue.string) ?? .null,
            "git_commit": gitCommit.map(JSONValue.string) ?? .null,
            "logged_by": loggedBy.map { .string($0.description) } ?? .null,
            "ttl_seconds": ttlSeconds.map(JSONValue.int) ?? .null,
        ]
    }

    init(json object: JSONObject, source: String) throws {
        func string(_ key: String) throws -> String? {
            switch object[key] {
            case nil, .null?: return nil
            case .string(let text)?: return text
            case let other?: throw StoreError("\(source): \"\(key)\" must be a string, not \(other.typeName)")
            }
        }
        func required(_ key: String) throws -> String {
            guard let text = try string(key) else { throw StoreError("\(source): \"\(key)\" is missing") }
            return text
        }
        func integer(_ key: String) throws -> Int64? {
            switch object[key] {
            case nil, .null?: return nil
            case let value?:
                guard let number = value.integerValue else { throw StoreError("\(source): \"\(key)\" must be an integer") }
                return number
            }
        }
        name = ArtifactName(entity: try required("entity"), project: try required("project"), name: try required("name"))
        guard let number = try integer("version"), let version = Int(exactly: number), version >= 0 else {
            throw StoreError("\(source): \"version\" must be a non-negative integer")
        }
        self.version = version
        type = try required("type")
        digest = try required("digest")
        size = try integer("size") ?? 0
        guard case .array(let entries)? = object["files"] else { throw StoreError("\(source): \"files\" must be an array") }
        files = try entries.map { entry in
            guard let file = entry.objectValue, let path = file["path"]?.stringValue, let digest = file["digest"]?.stringValue,
                  let size = file["size"]?.integerValue
            else { throw StoreError("\(source): every file needs a path, a digest and a size") }
            return ArtifactFile(path: path, digest: digest, size: size)
        }
        metadata = object["metadata"]?.objectValue ?? [:]
        description = try string("description")
        guard let created = try string("created_at").flatMap(Timestamp.parse) else {
            throw StoreError("\(source): \"created_at\" must be an ISO-8601 timestamp")
        }
        createdAt = created
        createdBy = try string("created_by")
        host = try string("host")
        gitCommit = try string("git_commit")
        if let run = try string("logged_by") {
            let parts = run.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3 else { throw StoreError("\(source): \"logged_by\" must be entity/project/run") }
            loggedBy = RunLocation(entity: parts[0], project: parts[1], id: parts[2])
        } else {
            loggedBy = nil
        }
        ttlSeconds = try integer("ttl_seconds")
    }

    /// The digest of a list of files: equal digests, equal content under equal names.
    static func manifestDigest(of files: [ArtifactFile]) throws -> String {
        let hasher = try SHA256Hasher()
        for file in files.sorted(by: { $0.path < $1.path }) {
            hasher.update("\(file.path)\u{0}\(file.digest)\u{0}\(file.size)\n")
        }
        return "sha256:" + hasher.finish()
    }
}
