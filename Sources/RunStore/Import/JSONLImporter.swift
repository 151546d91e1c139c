/// Imports the neutral interchange format: `runs.jsonl` (one object per run) and optionally
/// `history.jsonl` (one object per step, with `run_id`).
///
/// Idempotent: a run whose metadata, config and summary are unchanged is not rewritten, and a
/// history line is appended only when its `_step` is beyond the last step the run already has,
/// so importing the same files twice changes nothing, and importing a grown file adds only the
/// new steps. A malformed line is reported as `file:line: reason` and the other lines still import.
public final class JSONLImporter {
    public struct Report: Sendable, Equatable {
        public var runsCreated = 0
        public var runsUpdated = 0
        public var runsUnchanged = 0
        public var stepsImported = 0
        /// Steps at or before a run's last stored step: already there.
        public var stepsAlreadyStored = 0
        /// Lines that could not be imported (each was reported).
        public var linesRejected = 0
    }

    private var store: RunStore
    private let defaultEntity: String
    private let defaultProject: String?
    private let warn: (String) -> Void
    public private(set) var report = Report()
    /// Runs named in the runs file of this import, by id.
    private var importedRuns: [String: [RunLocation]] = [:]

    public init(store: RunStore, defaultEntity: String, defaultProject: String?, warn: @escaping (String) -> Void) {
        self.store = store
        self.store.syncEachWrite = false
        self.defaultEntity = defaultEntity
        self.defaultProject = defaultProject
        self.warn = warn
    }

    /// Makes everything imported durable; call once at the end.
    public func finish() {
        store.syncToDisk()
    }

    // MARK: runs.jsonl

    public func importRuns(from path: String, progress: ((Int) -> Void)? = nil) throws {
        try LineReader(path: path).forEachLine(progress: progress) { line, lineNumber, _ in
            if Self.isBlank(line) { return }
            do {
                try importRun(line)
            } catch {
                report.linesRejected += 1
                warn("\(path):\(lineNumber): \(error)")
            }
        }
    }

    private static let runKeys: Set<String> = [
        "id", "entity", "project", "name", "state", "group", "job_type", "tags", "notes", "user", "host",
        "created_at", "updated_at", "runtime", "git_commit", "command", "cwd", "exit_code", "config", "summary",
    ]

    private func importRun(_ line: UnsafeBufferPointer<UInt8>) throws {
        guard case .object(let object) = try JSONParser.parse(line) else {
            throw StoreError("expected a JSON object")
        }
        guard case .string(let id)? = object["id"] else {
            throw StoreError(object["id"] == nil ? "missing \"id\"" : "\"id\" must be a string")
        }
        func optionalString(_ key: String) throws -> String? {
            switch object[key] {
            case nil, .null?: return nil
            case .string(let text)?: return text
            case let other?: throw StoreError("\"\(key)\" must be a string, not \(other.typeName)")
            }
        }
        let entity = try optionalString("entity") ?? defaultEntity
        guard let project = try optionalString("project") ?? defaultProject else {
            throw StoreError("run \(id) has no \"project\"; add one to the line or pass --project")
        }
        var record = object
        record["id"] = .string(id)
        record["entity"] = .string(entity)
        record["project"] = .string(project)
        if record["state"] == nil || record["state"] == .null { record["state"] = .string(RunState.finished.rawValue) }
        if case .double(let epoch)? = record["created_at"] { record["created_at"] = .string(Timestamp.format(epoch)) }
        if case .int(let epoch)? = record["created_at"] { record["created_at"] = .string(Timestamp.format(Double(epoch))) }
        record["config"] = nil
        record["summary"] = nil
        let metadata = try RunMetadata(json: record, source: "run \(id)")
        let config = try Self.object(object["config"], key: "config")
        let summary = try Self.object(object["summary"], key: "summary")

        let location = metadata.location
        importedRuns[id, default: []].append(location)
        if try store.publishRun(metadata, config: config, summary: summary, history: []) {
            report.runsCreated += 1
            return
        }
        var changed = false
        if try store.readMetadata(location) != metadata {
            try store.updateMetadata(location) { $0 = metadata }
            changed = true
        }
        if try store.replaceObject(location, .config, with: config) { changed = true }
        if try store.replaceObject(location, .summary, with: summary) { changed = true }
        if changed { report.runsUpdated += 1 } else { report.runsUnchanged += 1 }
    }

    private static func object(_ value: JSONValue?, key: String) throws -> JSONObject {
        switch value {
        case nil, .null?: return [:]
        case .object(let object)?: return object
        case let other?: throw StoreError("\"\(key)\" must be an object, not \(other.typeName)")
        }
    }

    // MARK: history.jsonl

    /// What the import knows about one run's history while it streams the file
    /// (a class, so that appending to its buffer never copies it).
    private final class PendingHistory {
        /// The last step the run had in the store before this import; steps up to it are skipped.
        var storedLastStep: Int64?
        /// The last step seen for the run in this file (numbering steps that have no `_step`).
        var lastStepInFile: Int64?
        var buffer: [UInt8] = []
    }

    private var pending: [RunLocation: PendingHistory] = [:]
    private var pendingBytes = 0
    private var resolved: [String: RunLocation?] = [:]
    private var unknownRunLines: [String: Int] = [:]
    private static let flushThreshold = 32 << 20

    public func importHistory(from path: String, progress: ((Int) -> Void)? = nil) throws {
        try LineReader(path: path).forEachLine(progress: progress) { line, lineNumber, _ in
            if Self.isBlank(line) { return }
            do {
                try importStep(line)
            } catch let problem as UnknownRun {
                report.linesRejected += 1
                let count = unknownRunLines[problem.reference, default: 0]
                unknownRunLines[problem.reference] = count + 1
                if count == 0 { warn("\(path):\(lineNumber): \(problem.message)") }
            } catch {
                report.linesRejected += 1
                warn("\(path):\(lineNumber): \(error)")
            }
            if pendingBytes >= Self.flushThreshold { try flushHistory() }
        }
        try flushHistory()
        for (reference, count) in unknownRunLines.sorted(by: { $0.key < $1.key }) where count > 1 {
            warn("\(path): \(count) lines in all for unknown run \(reference) were skipped")
        }
        unknownRunLines = [:]
    }

    private struct UnknownRun: Error {
        var reference: String
        var message: String
    }

    private func importStep(_ line: UnsafeBufferPointer<UInt8>) throws {
        let members = try JSONLineScanner.members(of: line)
        var runID: String?
        var entity: String?
        var project: String?
        var explicitStep: Int64?
        func string(_ member: JSONLineScanner.Member, _ key: String) throws -> String {
            guard case .string(let text) = try JSONLineScanner.value(member, in: line) else {
                throw StoreError("\"\(key)\" must be a string")
            }
            return text
        }
        var stored: [JSONLineScanner.Member] = []
        stored.reserveCapacity(members.count)
        for member in members {
            if member.keyIs("run_id", in: line) {
                runID = try string(member, "run_id")
            } else if member.keyIs("entity", in: line) {
                entity = try string(member, "entity")
            } else if member.keyIs("project", in: line) {
                project = try string(member, "project")
            } else {
                if member.keyIs("_step", in: line) {
                    let value = try JSONLineScanner.value(member, in: line)
                    guard let step = value.integerValue, step >= 0 else {
                        throw StoreError("\"_step\" must be a non-negative integer, not \(JSONWriter.compact(value))")
                    }
                    explicitStep = step
                }
                stored.append(member)
            }
        }
        guard let runID else { throw StoreError("missing \"run_id\"") }
        let location = try resolve(id: runID, entity: entity, project: project)

        let state: PendingHistory
        if let existing = pending[location] {
            state = existing
        } else {
            state = PendingHistory()
            state.storedLastStep = try HistoryWriter(store: store, location: location).currentLastStep()
            pending[location] = state
        }
        let step = explicitStep ?? ((state.lastStepInFile ?? -1) + 1)
        state.lastStepInFile = step
        if let stored = state.storedLastStep, step <= stored {
            report.stepsAlreadyStored += 1
            return
        }
        // The stored line: the members other than run_id/entity/project, `_step` first when it was implicit.
        let before = state.buffer.count
        state.buffer.append(UInt8(ascii: "{"))
        var first = true
        if explicitStep == nil {
            state.buffer.append(contentsOf: "\"_step\":\(step)".utf8)
            first = false
        }
        for member in stored {
            if !first { state.buffer.append(UInt8(ascii: ",")) }
            state.buffer.append(contentsOf: UnsafeBufferPointer(rebasing: line[member.memberStart..<member.value.upperBound]))
            first = false
        }
        state.buffer.append(contentsOf: "}\n".utf8)
        pendingBytes += state.buffer.count - before
        report.stepsImported += 1
    }

    private func resolve(id: String, entity: String?, project: String?) throws -> RunLocation {
        let key = "\(entity ?? "")\u{0}\(project ?? "")\u{0}\(id)"
        if let known = resolved[key] {
            guard let known else { throw UnknownRun(reference: id, message: "unknown run \(id)") }
            return known
        }
        let candidates = (importedRuns[id] ?? []).filter {
            (entity == nil || $0.entity == entity) && (project == nil || $0.project == project)
        }
        var location: RunLocation?
        if candidates.count == 1 {
            location = candidates[0]
        } else if candidates.count > 1 {
            throw StoreError("run id \(id) is in several projects of the runs file; add \"entity\" and \"project\" to its history lines")
        } else if let entity, let project {
            let candidate = RunLocation(entity: entity, project: project, id: id)
            location = store.exists(candidate) ? candidate : nil
        } else {
            location = try? store.resolveRun(id)
        }
        resolved[key] = location
        guard let location else {
            throw UnknownRun(reference: id, message: "unknown run \(id): it is neither in the runs file nor in the store")
        }
        return location
    }

    private func flushHistory() throws {
        for (location, state) in pending where !state.buffer.isEmpty {
            try HistoryWriter(store: store, location: location).appendEncoded(state.buffer, lastStep: state.lastStepInFile)
            state.buffer = []
        }
        pendingBytes = 0
    }

    private static func isBlank(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        line.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }
    }
}
