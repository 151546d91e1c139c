#if canImport(Glibc)
import Glibc
#endif

/// Artifacts: collections of immutable versions, aliases, lineage (docs/STORE.md, "Artifacts").
///
/// Writers of one collection serialise on its `.lock`; a version appears in one rename of its
/// manifest, after its blobs are stored, so a killed writer leaves at most unreferenced blobs.
extension RunStore {
    // MARK: Writing

    /// Adds a version (numbered v0, v1, … without races) or returns the identical existing one
    /// (`created` false), and moves the draft's aliases onto it.
    @discardableResult
    public func logArtifact(_ draft: ArtifactDraft) throws -> (version: ArtifactVersion, created: Bool) {
        try Self.validateArtifactName(draft.name)
        if draft.type.isEmpty { throw StoreError("an artifact needs a type (e.g. dataset, model)") }
        for alias in draft.aliases { try Self.validateAlias(alias) }
        try Self.checkNesting(.object(draft.metadata), within: 1, of: "the metadata of \(draft.name)")
        // Blobs are stored, then the manifest that references them; `collectGarbage` takes this lock
        // exclusively, so it never deletes a blob between the two.
        try FileIO.makeDirectories(layout.blobs)
        return try FileLock(path: "\(layout.blobs)/.lock").withLock(shared: true) { _ in try logVersion(draft) }
    }

    private func logVersion(_ draft: ArtifactDraft) throws -> (version: ArtifactVersion, created: Bool) {
        var files: [ArtifactFile] = []
        var seen: Set<String> = []
        let blobs = BlobStore(layout: layout, sync: syncEachWrite)
        for file in draft.files {
            let path = try Self.validateArtifactPath(file.path)
            guard seen.insert(path).inserted else { throw StoreError("two files are named \"\(path)\" in \(draft.name)") }
            switch file.source {
            case .file(let source):
                let (digest, size) = try blobs.put(fileAt: source)
                files.append(ArtifactFile(path: path, digest: "sha256:" + digest, size: size))
            case .reference(let digest, let size):
                guard size >= 0 else { throw StoreError("artifact file \"\(path)\" has a negative size (\(size))") }
                files.append(ArtifactFile(path: path, digest: digest, size: size))
            }
        }
        files.sort { $0.path < $1.path }
        var totalSize: Int64 = 0
        for file in files {
            let (sum, overflow) = totalSize.addingReportingOverflow(file.size)
            if overflow { throw StoreError("the files of \(draft.name) add up to more than \(Int64.max) bytes") }
            totalSize = sum
        }
        let digest = try ArtifactVersion.manifestDigest(of: files)
        let collection = layout.artifactCollection(draft.name)
        try FileIO.makeDirectories("\(collection)/versions")
        return try FileLock(path: "\(collection)/.lock").withLock { _ in
            let existing = try readVersions(draft.name)
            if let type = try collectionType(draft.name), type != draft.type {
                throw StoreError("\(draft.name) is a \(type), not a \(draft.type)")
            }
            let reused: ArtifactVersion? = switch draft.reuse {
            case .newest: existing.last.flatMap { $0.digest == digest ? $0 : nil }
            case .anyVersion: existing.first { $0.digest == digest }
            }
            var result: ArtifactVersion
            if let reused {
                result = reused
            } else {
                if !FileIO.exists("\(collection)/collection.json") {
                    let object: JSONObject = [
                        "name": .string(draft.name.name), "type": .string(draft.type),
                        "description": draft.description.map(JSONValue.string) ?? .null,
                    ]
                    try FileIO.writeAtomically(Array(JSONWriter.pretty(.object(object)).utf8), to: "\(collection)/collection.json", sync: syncEachWrite)
                }
                result = ArtifactVersion(
                    name: draft.name, version: try nextVersionNumber(draft.name), type: draft.type, digest: digest,
                    size: totalSize, files: files, metadata: draft.metadata,
                    description: draft.description, createdAt: draft.createdAt ?? Timestamp.now(),
                    createdBy: draft.createdBy, host: draft.host, gitCommit: draft.gitCommit,
                    loggedBy: draft.loggedBy, ttlSeconds: draft.ttlSeconds)
                try FileIO.writeAtomically(
                    Array(JSONWriter.pretty(.object(result.json)).utf8),
                    to: layout.artifactVersion(draft.name, result.version), sync: syncEachWrite)
            }
            if !draft.aliases.isEmpty {
                var aliases = try readAliases(draft.name)
                for alias in draft.aliases { aliases[alias] = result.version }
                try writeAliases(aliases, of: draft.name)
            }
            result.aliases = try aliasNames(of: result.version, in: draft.name, newest: reused == nil ? result.version : existing.last?.version)
            return (result, reused == nil)
        }
    }

    /// Lineage: `run` consumed that exact version (`at` seconds since the epoch, nil: now).
    /// Recording the same use again changes nothing.
    public func useArtifact(_ name: ArtifactName, version: Int, by run: RunLocation, at time: Double? = nil) throws {
        guard FileIO.exists(layout.artifactVersion(name, version)) else { throw StoreError("no artifact \(name):v\(version) in the store") }
        try recordUse(["artifact": .string(name.description), "version": .int(Int64(version))], by: run, at: time)
    }

    /// Lineage to something runql cannot resolve, kept verbatim (e.g. `entity/project/name:v3`).
    public func recordUnresolvedArtifactUse(_ reference: String, by run: RunLocation, at time: Double? = nil) throws {
        try recordUse(["reference": .string(reference)], by: run, at: time)
    }

    private func recordUse(_ target: JSONObject, by run: RunLocation, at time: Double?) throws {
        guard exists(run) else { throw StoreError("no run \(run) in the store at \(root)") }
        let path = layout.lineage(run.entity, run.project)
        try FileLock(path: "\(layout.project(run.entity, run.project))/.lineage.lock").withLock { _ in
            let uses = try readUses(path: path)
            let wanted = target["artifact"]?.stringValue.flatMap(Self.parseArtifactName)
            let version = target["version"]?.integerValue.map(Int.init)
            let reference = target["reference"]?.stringValue
            if uses.contains(where: { $0.run == run && $0.artifact == wanted && $0.version == version && $0.unresolvedReference == reference }) {
                return
            }
            var line: JSONObject = ["run": .string(run.id)]
            for (key, value) in target { line[key] = value }
            line["used_at"] = .string(Timestamp.format(time ?? Timestamp.now()))
            let bytes = Array((JSONWriter.compact(.object(line)) + "\n").utf8)
            let descriptor = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            if descriptor < 0 { throw StoreError("cannot open \(path): \(FileIO.errorText())") }
            defer { close(descriptor) }
            try bytes.withUnsafeBytes { try FileIO.writeAll(descriptor, $0, path: path) }
            if syncEachWrite { fsync(descriptor) }
        }
    }

    /// Moves `alias` onto that version: afterwards it is on exactly that one.
    public func moveAlias(_ alias: String, to name: ArtifactName, version: Int) throws {
        try Self.validateAlias(alias)
        let collection = layout.artifactCollection(name)
        guard FileIO.exists(layout.artifactVersion(name, version)) else { throw StoreError("no artifact \(name):v\(version) in the store") }
        try FileLock(path: "\(collection)/.lock").withLock { _ in
            var aliases = try readAliases(name)
            aliases[alias] = version
            try writeAliases(aliases, of: name)
        }
    }

    /// Takes `alias` off the collection; returns the version it was on (nil when it was on none).
    @discardableResult
    public func removeAlias(_ alias: String, from name: ArtifactName) throws -> Int? {
        if alias == "latest" { throw StoreError("\"latest\" is always the newest version; it cannot be removed") }
        let collection = layout.artifactCollection(name)
        guard FileIO.isDirectory(collection) else { throw StoreError("no artifact named \(name) in the store") }
        return try FileLock(path: "\(collection)/.lock").withLock { _ in
            var aliases = try readAliases(name)
            guard let version = aliases.removeValue(forKey: alias) else { return nil }
            try writeAliases(aliases, of: name)
            return version
        }
    }

    /// Deletes a version, unless a custom alias is on it: its manifest becomes `vN.deleted` (kept for
    /// the record, and so the number is never given out again); its blobs stay until
    /// `collectGarbage` finds them unreferenced.
    func deleteVersion(_ version: ArtifactVersion) throws {
        let collection = layout.artifactCollection(version.name)
        try FileLock(path: "\(collection)/.lock").withLock { _ in
            let aliases = try readAliases(version.name)
            if let alias = aliases.first(where: { $0.value == version.version })?.key {
                throw StoreError("\(version.reference) carries the alias \(alias); move it first")
            }
            let manifest = layout.artifactVersion(version.name, version.version)
            if rename(manifest, String(manifest.dropLast(".json".count)) + ".deleted") != 0, errno != ENOENT {
                throw StoreError("cannot delete \(version.reference): \(FileIO.errorText())")
            }
            if syncEachWrite { FileIO.syncDirectory("\(collection)/versions") }
        }
    }

    // MARK: Reading

    /// Every artifact collection in the store, sorted.
    public func artifactNames() -> [ArtifactName] {
        var names: [ArtifactName] = []
        for entityComponent in FileIO.list(layout.entities) {
            guard let entity = StoreLayout.decode(entityComponent) else { continue }
            for projectComponent in FileIO.list("\(layout.entities)/\(entityComponent)") {
                guard let project = StoreLayout.decode(projectComponent) else { continue }
                for nameComponent in FileIO.list(layout.artifacts(entity, project)) {
                    guard let name = StoreLayout.decode(nameComponent) else { continue }
                    names.append(ArtifactName(entity: entity, project: project, name: name))
                }
            }
        }
        return names.sorted()
    }

    /// Every version of a collection, oldest first, with its aliases (`latest` on the newest).
    public func artifactVersions(_ name: ArtifactName) throws -> [ArtifactVersion] {
        var versions = try readVersions(name)
        guard let newest = versions.last?.version else { return [] }
        let aliases = try readAliases(name)
        for index in versions.indices {
            var names = aliases.filter { $0.value == versions[index].version }.map(\.key).sorted()
            if versions[index].version == newest { names.insert("latest", at: 0) }
            versions[index].aliases = names
        }
        return versions
    }

    /// The version a reference means. Without entity and project the name must be unique in the store.
    public func resolveArtifact(_ reference: ArtifactReference) throws -> ArtifactVersion {
        let name = try resolveArtifactName(reference)
        return try reference.select(from: artifactVersions(name), of: name)
    }

    /// The collection a reference names: its entity and project, or the only collection of that name.
    public func resolveArtifactName(_ reference: ArtifactReference) throws -> ArtifactName {
        try reference.matchingName(among: artifactNames(), in: "the store at \(root)")
    }

    /// The type of a collection, or nil before its first version.
    public func collectionType(_ name: ArtifactName) throws -> String? {
        try Self.readJSONObject("\(layout.artifactCollection(name))/collection.json")?["type"]?.stringValue
    }

    /// Every recorded use of an artifact version by a run, in the order they were recorded per project.
    public func artifactUses() throws -> [ArtifactUse] {
        var uses: [ArtifactUse] = []
        for entityComponent in FileIO.list(layout.entities) {
            guard let entity = StoreLayout.decode(entityComponent) else { continue }
            for projectComponent in FileIO.list("\(layout.entities)/\(entityComponent)") {
                guard let project = StoreLayout.decode(projectComponent) else { continue }
                uses += try readUses(path: layout.lineage(entity, project), entity: entity, project: project)
            }
        }
        return uses
    }

    private func readUses(path: String) throws -> [ArtifactUse] {
        let parts = FileIO.parentDirectory(of: path).split(separator: "/").suffix(2).map { StoreLayout.decode(String($0)) ?? "" }
        return try readUses(path: path, entity: parts.first ?? "", project: parts.last ?? "")
    }

    private func readUses(path: String, entity: String, project: String) throws -> [ArtifactUse] {
        guard FileIO.exists(path) else { return [] }
        var uses: [ArtifactUse] = []
        try LineReader(path: path).forEachLine { line, lineNumber, complete in
            guard complete, !line.isEmpty else { return }  // a torn last line was never acknowledged
            guard let object = (try? JSONParser.parse(line))?.objectValue, let run = object["run"]?.stringValue else {
                throw StoreError("\(path):\(lineNumber): not a lineage record")
            }
            uses.append(ArtifactUse(
                run: RunLocation(entity: entity, project: project, id: run),
                artifact: object["artifact"]?.stringValue.flatMap(Self.parseArtifactName),
                version: object["version"]?.integerValue.map(Int.init),
                unresolvedReference: object["reference"]?.stringValue,
                usedAt: object["used_at"]?.stringValue.flatMap(Timestamp.parse)))
        }
        return uses
    }

    private func readVersions(_ name: ArtifactName) throws -> [ArtifactVersion] {
        let directory = "\(layout.artifactCollection(name))/versions"
        var versions: [ArtifactVersion] = []
        for file in FileIO.list(directory) {
            guard file.hasPrefix("v"), file.hasSuffix(".json"), Int(file.dropFirst().dropLast(5)) != nil else { continue }
            let path = "\(directory)/\(file)"
            guard let object = try Self.readJSONObject(path) else { continue }  // deleted meanwhile
            versions.append(try ArtifactVersion(json: object, source: path))
        }
        return versions.sorted { $0.version < $1.version }
    }

    /// One more than every number used so far, deleted versions included.
    private func nextVersionNumber(_ name: ArtifactName) throws -> Int {
        var highest = -1
        for file in FileIO.list("\(layout.artifactCollection(name))/versions") where file.hasPrefix("v") {
            let stem = file.hasSuffix(".json") ? file.dropFirst().dropLast(5) : file.hasSuffix(".deleted") ? file.dropFirst().dropLast(8) : ""
            if let number = Int(stem) { highest = max(highest, number) }
        }
        return highest + 1
    }

    private func readAliases(_ name: ArtifactName) throws -> [String: Int] {
        let path = "\(layout.artifactCollection(name))/aliases.json"
        guard let object = try Self.readJSONObject(path) else { return [:] }
        var aliases: [String: Int] = [:]
        for (alias, value) in object {
            guard let version = value.integerValue.flatMap({ Int(exactly: $0) }) else {
                throw StoreError("\(path): alias \"\(alias)\" must name a version number")
            }
            aliases[alias] = version
        }
        return aliases
    }

    private func writeAliases(_ aliases: [String: Int], of name: ArtifactName) throws {
        var object: JSONObject = [:]
        for (alias, version) in aliases.sorted(by: { $0.key < $1.key }) { object[alias] = .int(Int64(version)) }
        try FileIO.writeAtomically(Array(JSONWriter.pretty(.object(object)).utf8), to: "\(layout.artifactCollection(name))/aliases.json", sync: syncEachWrite)
    }

    private func aliasNames(of version: Int, in name: ArtifactName, newest: Int?) throws -> [String] {
        var names = try readAliases(name).filter { $0.value == version }.map(\.key).sorted()
        if version == newest { names.insert("latest", at: 0) }
        return names
    }

    // MARK: Names and paths

    static func parseArtifactName(_ text: String) -> ArtifactName? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else { return nil }
        return ArtifactName(entity: parts[0], project: parts[1], name: parts[2])
    }

    static func validateArtifactName(_ name: ArtifactName) throws {
        try validateName(name.entity, what: "entity")
        try validateName(name.project, what: "project")
        try validateName(name.name, what: "artifact name")
        if name.name.contains(":") { throw StoreError("the artifact name \"\(name.name)\" must not contain ':'") }
    }

    /// Aliases are words (`[A-Za-z0-9_.-]`), not `latest` (automatic) and not `vN` (a version).
    public static func validateAlias(_ alias: String) throws {
        if alias == "latest" { throw StoreError("\"latest\" is always the newest version; it cannot be moved") }
        let allowed = alias.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_.-".unicodeScalars.contains($0)) }
        if alias.isEmpty || !allowed { throw StoreError("the alias \"\(alias)\" must be letters, digits, '_', '.' or '-'") }
        if alias.first == "v", alias.count > 1, alias.dropFirst().allSatisfy(\.isNumber) {
            throw StoreError("the alias \"\(alias)\" would read as a version number")
        }
    }

    /// A file's name inside a version: relative, `/`-separated, without empty, `.` or `..` parts.
    public static func validateArtifactPath(_ path: String) throws -> String {
        if path.hasPrefix("/") { throw StoreError("artifact file \"\(path)\" must be a relative path") }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        if path.isEmpty || parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) || path.utf8.contains(0) {
            throw StoreError("artifact file \"\(path)\" must be a relative path without empty, '.' or '..' parts")
        }
        return path
    }
}
