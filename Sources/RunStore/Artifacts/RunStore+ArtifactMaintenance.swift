#if canImport(Glibc)
import Glibc
#endif

/// Getting a version's files out, checking the blob store, and expiring versions.
extension RunStore {
    // MARK: get

    /// What `materialize` did with each file.
    public struct MaterializeReport: Sendable {
        public var written: [String] = []
        public var unchanged: [String] = []
    }

    /// Writes the version's files under `directory`, verifying each digest as it copies. A file that
    /// exists with other content is an error unless `force`; nothing is written through a symlink or
    /// outside `directory`.
    public func materialize(_ version: ArtifactVersion, to directory: String, force: Bool) throws -> MaterializeReport {
        var report = MaterializeReport()
        var conflicts: [String] = []
        var pending: [(file: ArtifactFile, digest: String)] = []
        for file in version.files {
            let path = try Self.validateArtifactPath(file.path)
            guard let digest = file.blobDigest else {
                throw StoreError("\(version.reference): \(path) was imported without its content (\(file.digest)); it cannot be written")
            }
            guard FileIO.exists(layout.blob(digest)) else {
                throw StoreError("\(version.reference): the content of \(path) is missing from the blob store (run `runql artifact verify`)")
            }
            try Self.refuseSymlinks(under: directory, path: path)
            let target = "\(directory)/\(path)"
            if let existing = try BlobStore.digest(ofFileAt: target) {
                if existing.digest == digest {
                    report.unchanged.append(path)
                    continue
                }
                if !force { conflicts.append(path) }
            }
            pending.append((file, digest))
        }
        if !conflicts.isEmpty {
            throw StoreError("these files exist in \(directory) with other content (--force overwrites them): \(conflicts.joined(separator: ", "))")
        }
        for (file, digest) in pending {
            try copyBlob(digest, to: "\(directory)/\(file.path)", directory: directory, path: file.path)
            report.written.append(file.path)
        }
        return report
    }

    /// Fails when a component of `path` under `directory` (or the file itself) is a symlink, or a
    /// directory component is something else.
    private static func refuseSymlinks(under directory: String, path: String) throws {
        var current = directory
        let parts = path.split(separator: "/")
        for (offset, part) in parts.enumerated() {
            current += "/\(part)"
            var info = stat()
            if lstat(current, &info) != 0 {
                if errno == ENOENT { return }
                throw StoreError("cannot inspect \(current): \(FileIO.errorText())")
            }
            if (info.st_mode & S_IFMT) == S_IFLNK { throw StoreError("refusing to write through the symlink \(current)") }
            let isLast = offset == parts.count - 1
            if !isLast, (info.st_mode & S_IFMT) != S_IFDIR { throw StoreError("\(current) is not a directory") }
            if isLast, (info.st_mode & S_IFMT) != S_IFREG { throw StoreError("\(current) exists and is not a regular file") }
        }
    }

    /// Copies a blob to `target` through a temporary file beside it, checking its digest before the rename.
    private func copyBlob(_ digest: String, to target: String, directory: String, path: String) throws {
        let parent = FileIO.parentDirectory(of: target)
        try FileIO.makeDirectories(parent)
        try Self.refuseSymlinks(under: directory, path: path)  // nothing swapped in while creating them
        let source = Glibc.open(layout.blob(digest), O_RDONLY | O_CLOEXEC)
        if source < 0 { throw StoreError("cannot open blob \(digest): \(FileIO.errorText())") }
        defer { close(source) }
        let temporary = "\(parent)/.\(FileIO.baseName(of: target)).runql-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let output = Glibc.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        if output < 0 { throw StoreError("cannot create \(temporary): \(FileIO.errorText())") }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        let hasher = try SHA256Hasher()
        do {
            defer { close(output) }
            try BlobStore.forEachChunk(of: source, path: layout.blob(digest)) { chunk in
                hasher.update(chunk)
                try FileIO.writeAll(output, chunk, path: temporary)
            }
            if fsync(output) != 0 { throw StoreError("cannot sync \(temporary): \(FileIO.errorText())") }
        }
        let actual = hasher.finish()
        guard actual == digest else {
            throw StoreError("the stored content of \(path) is damaged (sha256 \(actual), expected \(digest)); nothing written for it")
        }
        if rename(temporary, target) != 0 { throw StoreError("cannot write \(target): \(FileIO.errorText())") }
        renamed = true
    }

    // MARK: verify

    /// A problem `verifyArtifacts` found; it is reported, never repaired.
    public struct ArtifactDamage: Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Checks every manifest and every blob a version references against its digest.
    public func verifyArtifacts(progress: ((Int64, Int64) -> Void)? = nil) -> (versions: Int, blobs: Int, damage: [ArtifactDamage]) {
        var damage: [ArtifactDamage] = []
        var referencedBy: [String: [String]] = [:]
        var versionCount = 0
        for name in artifactNames() {
            do {
                for version in try artifactVersions(name) {
                    versionCount += 1
                    for file in version.files {
                        guard let digest = file.blobDigest else { continue }
                        referencedBy[digest, default: []].append("\(version.reference) \(file.path)")
                    }
                }
            } catch {
                damage.append(ArtifactDamage(description: "\(name): \(error)"))
            }
        }
        var checked: Int64 = 0
        for (digest, users) in referencedBy.sorted(by: { $0.key < $1.key }) {
            defer {
                checked += 1
                progress?(checked, Int64(referencedBy.count))
            }
            let place = users.count == 1 ? users[0] : "\(users[0]) and \(users.count - 1) more"
            do {
                guard let actual = try BlobStore.digest(ofFileAt: layout.blob(digest)) else {
                    damage.append(ArtifactDamage(description: "missing blob \(digest) (\(place))"))
                    continue
                }
                if actual.digest != digest {
                    damage.append(ArtifactDamage(description: "damaged blob \(digest): its content hashes to \(actual.digest) (\(place))"))
                }
            } catch {
                damage.append(ArtifactDamage(description: "unreadable blob \(digest) (\(place)): \(error)"))
            }
        }
        return (versionCount, referencedBy.count, damage)
    }

    // MARK: gc

    /// What `collectGarbage` removed (or, dry, would remove).
    public struct GarbageReport: Sendable {
        public var expiredVersions: [String] = []
        /// Expired versions kept because a custom alias is on them.
        public var keptForAlias: [String] = []
        public var blobs = 0
        public var bytes: Int64 = 0
    }

    /// Deletes versions past their TTL — never one carrying a custom alias — then every blob no
    /// version references.
    public func collectGarbage(dryRun: Bool, now: Double = Timestamp.now()) throws -> GarbageReport {
        var report = GarbageReport()
        var referenced: Set<String> = []
        for name in artifactNames() {
            for version in try artifactVersions(name) {
                let expired = version.expiresAt.map { $0 <= now } ?? false
                let custom = version.aliases.filter { $0 != "latest" }
                if expired, custom.isEmpty {
                    if !dryRun { try deleteVersion(version) }
                    report.expiredVersions.append(version.reference)
                    continue
                }
                if expired { report.keptForAlias.append("\(version.reference) (\(custom.joined(separator: ", ")))") }
                for file in version.files { if let digest = file.blobDigest { referenced.insert(digest) } }
            }
        }
        try FileIO.makeDirectories(layout.blobs)
        try FileLock(path: "\(layout.blobs)/.lock").withLock { _ in
            // Versions logged since the scan above reference blobs too: look again under the lock.
            for name in artifactNames() {
                for version in (try? artifactVersions(name)) ?? [] {
                    for file in version.files { if let digest = file.blobDigest { referenced.insert(digest) } }
                }
            }
            // No writer is between storing a blob and its manifest now: staging copies left by
            // killed writers are garbage too.
            for name in FileIO.list(layout.temporary) where name.hasPrefix("blob-") {
                let path = "\(layout.temporary)/\(name)"
                report.blobs += 1
                report.bytes += Int64(FileIO.size(of: path) ?? 0)
                if !dryRun { unlink(path) }
            }
            let blobs = BlobStore(layout: layout, sync: syncEachWrite)
            for digest in blobs.allDigests() where !referenced.contains(digest) {
                let path = layout.blob(digest)
                report.blobs += 1
                report.bytes += Int64(FileIO.size(of: path) ?? 0)
                if !dryRun, unlink(path) != 0, errno != ENOENT {
                    throw StoreError("cannot delete \(path): \(FileIO.errorText())")
                }
            }
        }
        return report
    }
}
