import RunStore

/// Artifacts and lineage of imported runs.
///
/// W&B numbers versions on its server, so offline logs have none: versions are numbered here, per
/// name, in log order, one new version per new content (two records with the same manifest are the
/// same version). A manifest entry's content is copied into the blob store when its staging copy
/// (`local_path`, found under the data directory when the folders were moved) still exists with the
/// manifest's size and MD5; otherwise the version keeps the entry as a reference (`md5:<base64>`).
/// Aliases are a set (`latest` is the store's own). `use_artifact` records become lineage once every
/// run of the import is in, so a run can use a version another run of the same import logged.
extension WandbImporter {
    /// Logs the run's artifacts in log order. One that cannot be stored (a manifest path the store
    /// refuses, metadata that is not an object…) is reported and skipped; the run and its other
    /// artifacts are kept.
    func importArtifacts(of run: WandbRun, at location: RunLocation) {
        for record in run.artifacts {
            do {
                try importArtifact(record, of: run, at: location)
            } catch {
                let reason = "artifact \(record.name) (\(record.type)) of run \(run.id): \(error)"
                report.artifactVersionsSkipped.append(reason)
                warn("skipped \(reason)")
            }
        }
    }

    /// Logs one artifact record as a version of its collection, or moves its aliases onto the
    /// version that already holds its content.
    private func importArtifact(_ record: WandbArtifactRecord, of run: WandbRun, at location: RunLocation) throws {
        let name = ArtifactName(entity: location.entity, project: location.project, name: record.name)
        var draft = ArtifactDraft(name: name, type: record.type)
        draft.description = record.description.isEmpty ? nil : record.description
        if !record.metadata.isEmpty {
            guard case .object(let metadata) = try JSONParser.parse(record.metadata) else {
                throw WandbImportError(path: run.folders.last ?? run.id, "its metadata is not a JSON object")
            }
            draft.metadata = metadata
        }
        var aliases: [String] = []
        for alias in record.aliases where alias != "latest" && !aliases.contains(alias) {
            if (try? RunStore.validateAlias(alias)) != nil {
                aliases.append(alias)
            } else {
                warn("artifact \(name): the alias \"\(alias)\" is not kept: runql aliases are letters, digits, '_', '.' or '-', and not vN")
            }
        }
        draft.aliases = aliases.sorted()
        draft.ttlSeconds = record.ttlSeconds
        draft.loggedBy = location
        draft.createdAt = run.startTime
        draft.createdBy = run.user
        draft.host = run.host
        draft.gitCommit = run.gitCommit
        draft.reuse = .anyVersion
        var copied = 0
        for entry in record.entries {
            let source = stagingCopy(of: entry)
            if case .file = source { copied += 1 }
            draft.files.append(ArtifactDraftFile(path: entry.path, source: source))
        }
        if let existing = try sameContent(as: record, in: name) {
            for alias in draft.aliases { try store.moveAlias(alias, to: name, version: existing) }
            report.artifactVersionsExisting += 1
            return
        }
        let (_, created) = try store.logArtifact(draft)
        if created {
            report.artifactVersionsCreated += 1
            report.artifactFilesCopied += copied
            report.artifactFilesReferenced += record.entries.count - copied
        } else {
            report.artifactVersionsExisting += 1
        }
    }

    /// Records the lineage of the runs imported so far: each `use_artifact` resolved against the
    /// versions numbered here (`name:vN` or `name:alias`), or kept verbatim when nothing matches.
    func recordUses() throws {
        for (location, uses) in pendingUses {
            for use in uses {
                let (artifact, selector) = Self.split(use.name)
                let name = ArtifactName(entity: location.entity, project: location.project, name: artifact)
                let versions = (try? store.artifactVersions(name)) ?? []
                let match: ArtifactVersion?
                if let selector, selector.first == "v", let number = Int(selector.dropFirst()) {
                    match = versions.first { $0.version == number }
                } else if let selector {
                    match = versions.first { $0.aliases.contains(selector) }
                } else {
                    match = versions.last
                }
                if let match, use.type.isEmpty || match.type == use.type {
                    try store.useArtifact(name, version: match.version, by: location)
                    report.usesResolved += 1
                } else {
                    try store.recordUnresolvedArtifactUse(use.name, by: location)
                    report.usesUnresolved += 1
                }
            }
        }
        pendingUses = []
    }

    /// `name:selector` → (name, selector).
    private static func split(_ reference: String) -> (String, String?) {
        guard let colon = reference.lastIndex(of: ":") else { return (reference, nil) }
        return (String(reference[..<colon]), String(reference[reference.index(after: colon)...]))
    }

    /// The staging copy of a manifest entry when it still holds the manifest's content.
    private func stagingCopy(of entry: WandbManifestEntry) -> ArtifactDraftFile.Source {
        let reference = ArtifactDraftFile.Source.reference(digest: "md5:" + entry.digest, size: entry.size)
        guard entry.reference.isEmpty, !entry.localPath.isEmpty else { return reference }
        var candidates = [entry.localPath]
        if let dataDirectory, let range = entry.localPath.firstRange(of: "/artifacts/staging/") {
            candidates.append(dataDirectory + entry.localPath[range.lowerBound...])
        }
        for path in candidates where LocalFiles.size(path) == entry.size {
            guard let bytes = try? LocalFiles.read(path), MD5.base64Digest(of: bytes) == entry.digest else { continue }
            return .file(path)
        }
        return reference
    }

    /// The version of `name` that already holds this record's content, compared by W&B's MD5s
    /// (so a version stays the same whether its files were copied or only referenced).
    private func sameContent(as record: WandbArtifactRecord, in name: ArtifactName) throws -> Int? {
        let wanted = Dictionary(record.entries.map { ($0.path, ($0.digest, $0.size)) }, uniquingKeysWith: { first, _ in first })
        for version in try store.artifactVersions(name) where version.files.count == wanted.count {
            let same = version.files.allSatisfy { file in
                guard let (digest, size) = wanted[file.path], size == file.size else { return false }
                if file.digest == "md5:" + digest { return true }
                guard let hex = file.blobDigest, let bytes = try? LocalFiles.read(store.layout.blob(hex)) else { return false }
                return MD5.base64Digest(of: bytes) == digest
            }
            if same { return version.version }
        }
        return nil
    }
}
