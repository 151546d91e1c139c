#if canImport(Glibc)
import Glibc
#endif

extension RunStore {
    /// Starts a new run in `metadata`'s entity and project under a fresh id, and returns it with that id.
    /// The run appears whole (metadata, config, empty summary and history) in one rename.
    public func startRun(_ metadata: RunMetadata, config: JSONObject) throws -> RunMetadata {
        try Self.checkNesting(.object(config), of: "\(RunFile.config.rawValue) of the new run")
        for _ in 0..<16 {
            var run = metadata
            run.id = Self.makeRunID()
            if try publishRun(run, config: config, summary: [:], history: []) { return run }
        }
        throw StoreError("could not find a free run id in \(metadata.entity)/\(metadata.project)")
    }

    /// Writes a complete run folder in the staging area and renames it into place.
    /// Returns false, writing nothing, when a run with that id already exists.
    @discardableResult
    public func publishRun(_ metadata: RunMetadata, config: JSONObject, summary: JSONObject, history: [UInt8]) throws -> Bool {
        try Self.validateName(metadata.entity, what: "entity")
        try Self.validateName(metadata.project, what: "project")
        try Self.validateName(metadata.id, what: "run id")
        let location = metadata.location
        try Self.checkNesting(.object(metadata.json), of: "\(RunFile.metadata.rawValue) of run \(location)")
        try Self.checkNesting(.object(config), of: "\(RunFile.config.rawValue) of run \(location)")
        try Self.checkNesting(.object(summary), of: "\(RunFile.summary.rawValue) of run \(location)")
        if exists(location) { return false }
        let runsDirectory = layout.runs(location.entity, location.project)
        try FileIO.makeDirectories(runsDirectory)
        let staging = "\(layout.temporary)/run-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        try FileIO.makeDirectories(staging)
        do {
            // The staging folder is private to this process: its files need no atomic replacement.
            // An empty summary or history is left out: a missing file reads as empty.
            var files: [(RunFile, [UInt8])] = [
                (.metadata, Array(JSONWriter.pretty(.object(metadata.json)).utf8)),
                (.config, Array(JSONWriter.pretty(.object(config)).utf8)),
            ]
            if !summary.isEmpty { files.append((.summary, Array(JSONWriter.pretty(.object(summary)).utf8))) }
            if !history.isEmpty { files.append((.history, history)) }
            for (file, bytes) in files { try FileIO.writeNew(bytes, to: "\(staging)/\(file.rawValue)", sync: syncEachWrite) }
            if syncEachWrite { FileIO.syncDirectory(staging) }
        } catch {
            removeTree(staging)
            throw error
        }
        if rename(staging, layout.run(location)) != 0 {
            let code = errno
            removeTree(staging)
            if code == EEXIST || code == ENOTEMPTY { return false }
            throw StoreError("cannot create run \(location): \(FileIO.errorText(code))")
        }
        if syncEachWrite { FileIO.syncDirectory(runsDirectory) }
        return true
    }

    /// Reads, changes and atomically rewrites a run's metadata under the run's lock.
    @discardableResult
    public func updateMetadata(_ location: RunLocation, _ change: (inout RunMetadata) throws -> Void) throws -> RunMetadata {
        try withRunLock(location) { () throws -> RunMetadata in
            var metadata = try readMetadata(location)
            try change(&metadata)
            try Self.checkNesting(.object(metadata.json), of: "\(RunFile.metadata.rawValue) of run \(location)")
            try FileIO.writeAtomically(JSONWriter.pretty(.object(metadata.json)), to: layout.runFile(location, .metadata), sync: syncEachWrite)
            return metadata
        }
    }

    /// Replaces the whole content of `config.json` or `summary.json` under the run's lock, unless unchanged.
    /// Returns whether the file was written.
    @discardableResult
    public func replaceObject(_ location: RunLocation, _ file: RunFile, with object: JSONObject) throws -> Bool {
        try Self.checkNesting(.object(object), of: "\(file.rawValue) of run \(location)")
        if try readObject(location, file) == object { return false }
        return try withRunLock(location) { () throws -> Bool in
            if try readObject(location, file) == object { return false }
            try FileIO.writeAtomically(JSONWriter.pretty(.object(object)), to: layout.runFile(location, file), sync: syncEachWrite)
            return true
        }
    }

    /// Sets values at key paths in `config.json` or `summary.json`, under the run's lock.
    public func setValues(_ location: RunLocation, _ file: RunFile, _ assignments: [KeyAssignment]) throws {
        try withRunLock(location) { () throws in
            var object = try readObject(location, file)
            for assignment in assignments { object.setValue(assignment.value, at: assignment.path) }
            try Self.checkNesting(.object(object), of: "\(file.rawValue) of run \(location)")
            try FileIO.writeAtomically(JSONWriter.pretty(.object(object)), to: layout.runFile(location, file), sync: syncEachWrite)
        }
    }

    /// Marks a run ended: its state, exit code, runtime (from its start, unless already recorded) and update time.
    @discardableResult
    public func finishRun(_ location: RunLocation, state: RunState, exitCode: Int64?, runtime: Double? = nil) throws -> RunMetadata {
        try updateMetadata(location) { metadata in
            let now = Timestamp.now()
            metadata.state = state
            if let exitCode { metadata.exitCode = exitCode }
            if let runtime {
                metadata.runtime = runtime
            } else if let createdAt = metadata.createdAt {
                metadata.runtime = max(0, now - createdAt)
            }
            metadata.updatedAt = now
        }
    }

    func withRunLock<Result>(_ location: RunLocation, _ body: () throws -> Result) throws -> Result {
        guard exists(location) else { throw StoreError("no run \(location) in the store at \(root)") }
        return try FileLock(path: layout.runFile(location, .lock)).withLock { _ throws in try body() }
    }

    /// Refuses JSON that the store's reader would reject: a file nests at most `JSONParser.maximumDepth`
    /// levels, counting the `enclosingLevels` it is written inside of (a version's `metadata` sits in one).
    static func checkNesting(_ value: JSONValue, within enclosingLevels: Int = 0, of what: @autoclosure () -> String) throws {
        let depth = enclosingLevels + value.nestingDepth
        if depth > JSONParser.maximumDepth {
            throw StoreError("\(what()) would nest \(depth) levels deep; the store reads JSON at most \(JSONParser.maximumDepth) levels deep")
        }
    }

    /// Names become path components (percent-encoded); they must be non-empty and free of `/`,
    /// which separates them in references like `entity/project/id`.
    static func validateName(_ name: String, what: String) throws {
        if name.isEmpty { throw StoreError("the \(what) must not be empty") }
        if name.contains("/") { throw StoreError("the \(what) \"\(name)\" must not contain '/'") }
        if name.utf8.count > 200 { throw StoreError("the \(what) \"\(name.prefix(40))…\" is longer than 200 bytes") }
    }

    private func removeTree(_ path: String) {
        for name in FileIO.list(path) { unlink("\(path)/\(name)") }
        rmdir(path)
    }
}
