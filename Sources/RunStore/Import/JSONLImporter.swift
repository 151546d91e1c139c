#if canImport(Glibc)
import Glibc
#endif
import Dispatch

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

    /// Imports the runs of `path`, in batches of lines: each batch is parsed, then published, on
    /// two threads at once (the lines of one run always on the same thread, in file order), and its
    /// warnings and counts are reported in line order, as a line-by-line import would.
    public func importRuns(from path: String, progress: ((Int) -> Void)? = nil) throws {
        var batch: [(lineNumber: Int, line: [UInt8])] = []
        try LineReader(path: path).forEachLine(progress: progress) { line, lineNumber, _ in
            if Self.isBlank(line) { return }
            batch.append((lineNumber, Array(line)))
            if batch.count == Self.runBatchSize {
                importRunBatch(batch, path: path)
                batch.removeAll(keepingCapacity: true)
            }
        }
        importRunBatch(batch, path: path)
    }

    private static let runBatchSize = 1024

    /// One line of the runs file, parsed.
    private struct ParsedRun: Sendable {
        var metadata: RunMetadata
        var config: JSONObject
        var summary: JSONObject
    }

    /// What importing one run line did.
    private enum RunOutcome: Sendable {
        case created, updated, unchanged
        case failed(any Error)
    }

    private func importRunBatch(_ batch: [(lineNumber: Int, line: [UInt8])], path: String) {
        guard !batch.isEmpty else { return }
        let defaultEntity = defaultEntity
        let defaultProject = defaultProject
        let parsed = Self.concurrentMap(batch.count, lanes: { $0 % 2 }) { index in
            Result { try batch[index].line.withUnsafeBufferPointer { try Self.parseRun($0, defaultEntity: defaultEntity, defaultProject: defaultProject) } }
        }
        // The history import finds runs by id among the runs named here, in line order.
        for case .success(let run) in parsed {
            importedRuns[run.metadata.id, default: []].append(run.metadata.location)
        }
        let store = store
        let outcomes = Self.concurrentMap(batch.count, lanes: { index in
            guard case .success(let run) = parsed[index] else { return 0 }
            return Self.lane(of: run.metadata.location)
        }) { index -> RunOutcome in
            switch parsed[index] {
            case .failure(let error): return .failed(error)
            case .success(let run):
                do { return try Self.publish(run, in: store) } catch { return .failed(error) }
            }
        }
        for (index, outcome) in outcomes.enumerated() {
            switch outcome {
            case .created: report.runsCreated += 1
            case .updated: report.runsUpdated += 1
            case .unchanged: report.runsUnchanged += 1
            case .failed(let error):
                report.linesRejected += 1
                warn("\(path):\(batch[index].lineNumber): \(error)")
            }
        }
    }

    /// Which of two threads publishes the run at `location`: always the same one for one run,
    /// so that a run named twice is written in line order.
    private static func lane(of location: RunLocation) -> Int {
        var sum = 0
        for byte in location.id.utf8 { sum &+= Int(byte) }
        return sum & 1
    }

    /// `transform` of 0..<count, computed on two threads: the indices of one `lanes` value (0 or 1)
    /// in increasing order on one thread.
    private static func concurrentMap<Result: Sendable>(
        _ count: Int, lanes: (Int) -> Int, _ transform: @escaping @Sendable (Int) -> Result
    ) -> [Result] {
        var byLane: [[Int]] = [[], []]
        for index in 0..<count { byLane[lanes(index)].append(index) }
        let results = UnsafeMutableBufferPointer<Result?>.allocate(capacity: count)
        results.initialize(repeating: nil)
        defer { results.deallocate() }
        let shared = SharedResults(buffer: results)
        let work = byLane
        DispatchQueue.concurrentPerform(iterations: 2) { lane in
            for index in work[lane] { shared.buffer[index] = transform(index) }
        }
        return results.map { $0! }
    }

    /// The results buffer, written by both threads at distinct indices.
    private struct SharedResults<Result>: @unchecked Sendable {
        let buffer: UnsafeMutableBufferPointer<Result?>
    }

    private static func parseRun(_ line: UnsafeBufferPointer<UInt8>, defaultEntity: String, defaultProject: String?) throws -> ParsedRun {
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
        return ParsedRun(metadata: metadata, config: config, summary: summary)
    }

    /// Creates the run, or updates the files of an existing one that differ.
    private static func publish(_ run: ParsedRun, in store: RunStore) throws -> RunOutcome {
        let location = run.metadata.location
        if try store.publishRun(run.metadata, config: run.config, summary: run.summary, history: []) {
            return .created
        }
        var changed = false
        if try store.readMetadata(location) != run.metadata {
            try store.updateMetadata(location) { $0 = run.metadata }
            changed = true
        }
        if try store.replaceObject(location, .config, with: run.config) { changed = true }
        if try store.replaceObject(location, .summary, with: run.summary) { changed = true }
        return changed ? .updated : .unchanged
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
    private lazy var appender = HistoryAppender(store: store)
    private var pendingBytes = 0
    private var resolved: [String: RunLocation?] = [:]
    private var unknownRunLines: [String: Int] = [:]
    private static let flushThreshold = 32 << 20
    /// History is read, scanned and applied in blocks of whole lines of about this size (tests
    /// make it small, so that runs straddle many blocks); a block of at least an eighth of it is
    /// scanned as two halves on two threads.
    var historyBlockSize = 8 << 20

    /// Imports the steps of `path`. Each block of lines is scanned (in two halves at once when it
    /// is large: scanning needs only the bytes), then applied line by line in file order, so the
    /// lines stored, their numbering and the warnings are those of a line-by-line import.
    public func importHistory(from path: String, progress: ((Int) -> Void)? = nil) throws {
        var linesBefore = 0
        var scans = [HistoryBlockScan(), HistoryBlockScan()]
        var current = CurrentRun()
        // Whatever happens, no append is still being written when this returns (or throws).
        defer { try? appender.waitUntilWritten() }
        try LineReader(path: path, blockSize: historyBlockSize).forEachBlock(fill: true, progress: progress) { block in
            linesBefore += try importBlock(block, firstLineNumber: linesBefore + 1, path: path, scans: &scans, current: &current)
        }
        current.release()
        try flushHistory()
        try appender.waitUntilWritten()
        for (reference, count) in unknownRunLines.sorted(by: { $0.key < $1.key }) where count > 1 {
            warn("\(path): \(count) lines in all for unknown run \(reference) were skipped")
        }
        unknownRunLines = [:]
    }

    /// Scans and applies one block of whole lines; returns the number of lines in it.
    private func importBlock(
        _ block: UnsafeBufferPointer<UInt8>, firstLineNumber: Int, path: String,
        scans: inout [HistoryBlockScan], current: inout CurrentRun
    ) throws -> Int {
        var parts = [0..<block.count]
        if block.count >= historyBlockSize / 8,
            let newline = memchr(block.baseAddress! + block.count / 2, 0x0A, block.count - block.count / 2)
        {
            let split = UnsafeRawPointer(newline) - UnsafeRawPointer(block.baseAddress!) + 1
            if split < block.count { parts = [0..<split, split..<block.count] }
        }
        if parts.count == 2 {
            scans.withUnsafeMutableBufferPointer { scans in HistoryBlockScan.scanAtOnce(parts, of: block, into: scans) }
        } else {
            scans[0].scan(block)
        }
        var lineNumber = firstLineNumber
        for part in parts.indices {
            try apply(scans[part], of: UnsafeBufferPointer(rebasing: block[parts[part]]), firstLineNumber: lineNumber, path: path, current: &current)
            lineNumber += scans[part].lineCount
        }
        return lineNumber - firstLineNumber
    }

    /// The run the previous history line went to, with its pending state taken out of `pending`
    /// while lines keep going to it (history lines of one run usually come together).
    private struct CurrentRun {
        enum Target {
            case none
            case run(PendingHistory)
            case unknown(UnknownRun)
        }

        var target = Target.none
        /// The previous line's `run_id`, `entity` and `project` bytes, as written.
        var runID: [UInt8] = []
        var entity: [UInt8]?
        var project: [UInt8]?
        var storedLastStep: Int64?
        var lastStepInFile: Int64?
        var buffer: [UInt8] = []

        /// Whether `line` names the run by the same bytes as the previous line.
        func isTarget(of line: HistoryBlockScan.Line, in block: UnsafeBufferPointer<UInt8>) -> Bool {
            if case .none = target { return false }
            func same(_ remembered: [UInt8]?, _ string: HistoryBlockScan.StringBytes) -> Bool {
                guard let remembered else { return !string.isPresent }
                guard string.isPresent, remembered.count == string.content.count else { return false }
                return remembered.withUnsafeBufferPointer { memcmp($0.baseAddress!, block.baseAddress! + string.content.lowerBound, $0.count) == 0 }
            }
            return same(runID, line.runID) && same(entity, line.entity) && same(project, line.project)
        }

        mutating func remember(_ line: HistoryBlockScan.Line, in block: UnsafeBufferPointer<UInt8>, as target: Target) {
            func bytes(_ string: HistoryBlockScan.StringBytes) -> [UInt8]? {
                string.isPresent ? Array(UnsafeBufferPointer(rebasing: block[string.content])) : nil
            }
            runID = bytes(line.runID) ?? []
            entity = bytes(line.entity)
            project = bytes(line.project)
            self.target = target
            if case .run(let state) = target {
                swap(&buffer, &state.buffer)
                storedLastStep = state.storedLastStep
                lastStepInFile = state.lastStepInFile
            }
        }

        /// Puts the run's state back into `pending` (before a flush, or for another run).
        mutating func release() {
            if case .run(let state) = target {
                swap(&buffer, &state.buffer)
                state.lastStepInFile = lastStepInFile
            }
            target = .none
        }
    }

    /// Applies one scanned block's lines in order: finds each line's run, numbers its step, skips
    /// steps already stored, and adds the stored line to the run's pending history.
    private func apply(
        _ scan: HistoryBlockScan, of block: UnsafeBufferPointer<UInt8>, firstLineNumber: Int, path: String,
        current: inout CurrentRun
    ) throws {
        var imported = 0
        var alreadyStored = 0
        var rejected = 0
        var pendingBytes = self.pendingBytes
        defer {
            report.stepsImported += imported
            report.stepsAlreadyStored += alreadyStored
            report.linesRejected += rejected
            self.pendingBytes = pendingBytes
        }
        try scan.stored.withUnsafeBufferPointer { stored throws in
            for line in scan.lines {
                if line.failure >= 0 {
                    rejected += 1
                    warn("\(path):\(firstLineNumber + line.index): \(scan.failures[line.failure])")
                    continue
                }
                do {
                    if !current.isTarget(of: line, in: block) { try switchRun(&current, to: line, in: block) }
                    if case .unknown(let problem) = current.target { throw problem }
                    let step = line.explicitStep >= 0 ? line.explicitStep : (current.lastStepInFile ?? -1) + 1
                    current.lastStepInFile = step
                    if let storedLastStep = current.storedLastStep, step <= storedLastStep {
                        alreadyStored += 1
                        continue
                    }
                    // The stored line: the members other than run_id/entity/project, `_step` first when it was implicit.
                    let before = current.buffer.count
                    current.buffer.append(UInt8(ascii: "{"))
                    if line.explicitStep < 0 {
                        current.buffer.append(contentsOf: "\"_step\":\(step)".utf8)
                        if !line.members.isEmpty { current.buffer.append(UInt8(ascii: ",")) }
                    }
                    current.buffer.append(contentsOf: UnsafeBufferPointer(rebasing: (line.membersInBlock ? block : stored)[line.members]))
                    current.buffer.append(UInt8(ascii: "}"))
                    current.buffer.append(UInt8(ascii: "\n"))
                    pendingBytes += current.buffer.count - before
                    imported += 1
                } catch let problem as UnknownRun {
                    rejected += 1
                    let count = unknownRunLines[problem.reference, default: 0]
                    unknownRunLines[problem.reference] = count + 1
                    if count == 0 { warn("\(path):\(firstLineNumber + line.index): \(problem.message)") }
                } catch {
                    rejected += 1
                    warn("\(path):\(firstLineNumber + line.index): \(error)")
                }
                if pendingBytes >= Self.flushThreshold {
                    current.release()
                    self.pendingBytes = pendingBytes
                    try flushHistory()
                    pendingBytes = 0
                }
            }
        }
    }

    /// Makes `line`'s run the current one: resolves it and fetches (or starts) its pending state.
    private func switchRun(_ current: inout CurrentRun, to line: HistoryBlockScan.Line, in block: UnsafeBufferPointer<UInt8>) throws {
        current.release()
        let id = HistoryBlockScan.decode(line.runID, in: block)
        let entity = line.entity.isPresent ? HistoryBlockScan.decode(line.entity, in: block) : nil
        let project = line.project.isPresent ? HistoryBlockScan.decode(line.project, in: block) : nil
        let location: RunLocation
        do {
            location = try resolve(id: id, entity: entity, project: project)
        } catch let problem as UnknownRun {
            // Later lines of this run are rejected as the resolution cache would reject them.
            current.remember(line, in: block, as: .unknown(UnknownRun(reference: id, message: "unknown run \(id)")))
            throw problem
        }
        let state: PendingHistory
        if let existing = pending[location] {
            state = existing
        } else {
            state = PendingHistory()
            state.storedLastStep = try HistoryWriter(store: store, location: location).currentLastStep()
            pending[location] = state
        }
        current.remember(line, in: block, as: .run(state))
    }

    private struct UnknownRun: Error {
        var reference: String
        var message: String
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

    /// Hands the pending lines to the appender, which writes them while the import goes on.
    private func flushHistory() throws {
        var batch: [(RunLocation, [UInt8])] = []
        for (location, state) in pending where !state.buffer.isEmpty {
            batch.append((location, state.buffer))
            state.buffer = []
        }
        pendingBytes = 0
        if !batch.isEmpty { try appender.submit(batch) }
    }

    private static func isBlank(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        line.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }
    }
}
