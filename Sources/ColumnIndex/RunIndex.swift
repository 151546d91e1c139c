import Foundation
import RunStore

/// The columnar index of a store: the `runs`, `history` and artifact tables, typed and in memory.
///
/// ```
/// store ──RunIndex.build──▶ RunsTable (one row per run)  ─┐
///       ──IndexCache.index─▶ HistoryTable (one row per step, ├──▶ the query engine's scans
///                           each run's rows contiguous)   │
///                           ArtifactTables (versions,     │
///                           files, lineage edges)        ─┘
/// ```
/// Built-in columns are typed columns; config and summary keys are extracted on demand by path
/// (`configColumn(["model", "arch"])`); history metrics are one column per key. Columns are made
/// on first use: from the parsed store after a build, from the index cache after a load.
public final class RunIndex: Sendable {
    public let runs: RunsTable
    public let history: HistoryTable
    public let artifacts: ArtifactTables
    /// Lines that could not be read (torn or malformed history lines, unreadable runs), as `path:line: reason`.
    public let warnings: [String]
    /// Set when a column could not be read from the index cache (a damaged file): results computed
    /// with this index are not to be trusted, and the index is to be rebuilt from the store.
    let damage: CacheDamage

    public init(runs: RunsTable, history: HistoryTable, artifacts: ArtifactTables? = nil, warnings: [String]) {
        self.runs = runs
        self.history = history
        self.artifacts = artifacts ?? ArtifactTables(versions: [], uses: [], runs: runs)
        self.warnings = warnings
        damage = CacheDamage()
    }

    init(runs: RunsTable, history: HistoryTable, artifacts: ArtifactTables? = nil, warnings: [String], damage: CacheDamage) {
        self.runs = runs
        self.history = history
        self.artifacts = artifacts ?? ArtifactTables(versions: [], uses: [], runs: runs)
        self.warnings = warnings
        self.damage = damage
    }

    /// This index with the store's artifact tables read (they are not in the index cache).
    func addingArtifacts(of store: RunStore) -> RunIndex {
        var warnings = warnings
        let artifacts = ArtifactTables.build(from: store, runs: runs, warnings: &warnings)
        return RunIndex(runs: runs, history: history, artifacts: artifacts, warnings: warnings, damage: damage)
    }

    /// Whether a lazily read part of the index cache turned out damaged (see `IndexCache`).
    public var isDamaged: Bool { damage.error != nil }

    /// Reads every run, artifact version and lineage record of the store (no cache involved);
    /// `progress` is told runs done of runs total.
    public static func build(from store: RunStore, progress: ((Int, Int) -> Void)? = nil) -> RunIndex {
        let locations = store.runLocations()
        let reading = IndexReading.read(store, locations, stamps: nil, progress: progress)
        return reading.finish().index.addingArtifacts(of: store)
    }

    /// A build reads no fewer runs than this on each core.
    package static let runsPerWorker = 256

    /// `build` on one core: what the parallel build must equal.
    package static func buildSequentially(from store: RunStore) -> RunIndex {
        let reading = IndexReading.read(store, store.runLocations(), stamps: nil, workers: 1, progress: nil)
        return reading.finish().index.addingArtifacts(of: store)
    }
}

/// Runs read from the store into the index's parts: the runs table's sources, one history builder,
/// and what each run contributed (for the index cache).
struct IndexReading {
    let store: RunStore
    var runs: [ReadRun] = []
    private var history = HistoryTable.Builder()
    /// The history of readings made in parallel, put together (then `history` is unused).
    private var assembled: (columns: [(name: String, column: Column)], runRows: ContiguousArray<Int32>)?
    /// How many runs have been read successfully (the runs-table row of the next one).
    private var keptCount = 0

    init(store: RunStore) {
        self.store = store
    }

    /// Reads `locations` (with their `stamps`, when building a cache) in order; the runs are split
    /// over the cores in contiguous parts, and the parts put together as one reading in order would
    /// have made them. `progress` is told runs read of runs to read.
    static func read(
        _ store: RunStore, _ locations: [RunLocation], stamps: [RunStamp]?, workers: Int? = nil, progress: ((Int, Int) -> Void)?
    ) -> IndexReading {
        let workers = workers ?? max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8, locations.count / RunIndex.runsPerWorker))
        guard workers > 1 else {
            var reading = IndexReading(store: store)
            for (position, location) in locations.enumerated() {
                reading.read(location, stamp: stamps?[position])
                progress?(position + 1, locations.count)
            }
            return reading
        }
        let parts = PartResults<IndexReading>(count: workers)
        let done = ProgressCounter(total: locations.count, progress: progress)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var reading = IndexReading(store: store)
            for position in (worker * locations.count / workers)..<((worker + 1) * locations.count / workers) {
                reading.read(locations[position], stamp: stamps?[position])
                done.advance()
            }
            parts.set(worker, reading)
        }
        return assemble(parts.take(), store: store)
    }

    /// Readings of consecutive runs as one: runs in order, history rows renumbered to the runs
    /// before them, columns in the order a single reading would have first met their keys. Each
    /// part's columns are let go as soon as they are copied, so that little more than the history
    /// is held at once.
    private static func assemble(_ parts: consuming [IndexReading], store: RunStore) -> IndexReading {
        var whole = IndexReading(store: store)
        var columnsOfParts: [[String: Column]] = []
        var rowsOfParts: [Int] = []
        var names: [String] = []
        var known = Set<String>()
        var runRows = ContiguousArray<Int32>()
        runRows.reserveCapacity(parts.reduce(0) { $0 + $1.history.runRows.count })
        for index in parts.indices {
            whole.runs += parts[index].runs
            let offset = Int32(whole.keptCount)
            runRows.append(contentsOf: parts[index].history.runRows.lazy.map { $0 + offset })
            rowsOfParts.append(parts[index].history.runRows.count)
            whole.keptCount += parts[index].keptCount
            var columns: [String: Column] = [:]
            for (name, column) in parts[index].history.finish() {
                columns[name] = column
                if known.insert(name).inserted { names.append(name) }
            }
            columnsOfParts.append(columns)
            parts[index] = IndexReading(store: store)
        }
        var columns: [(name: String, column: Column)] = []
        for name in names {
            let pieces = columnsOfParts.indices.map { part in
                (column: columnsOfParts[part].removeValue(forKey: name), range: 0..<rowsOfParts[part])
            }
            columns.append((name: name, column: HistoryAssembler.concatenate(pieces, total: runRows.count)))
        }
        whole.assembled = (columns, runRows)
        return whole
    }

    /// The history columns read (`_step`, `_timestamp`, `_runtime`, then one per metric; no `run_id`).
    func historyColumns() -> [(name: String, column: Column)] {
        assembled?.columns ?? history.finish()
    }

    /// For each history row read, its run's row in the runs table.
    var historyRunRows: ContiguousArray<Int32> {
        assembled?.runRows ?? history.runRows
    }

    /// Reads one run; a run that cannot be read is recorded as skipped, with a warning.
    mutating func read(_ location: RunLocation, stamp: RunStamp?) {
        var warnings: [String] = []
        do {
            let metadataPath = store.layout.runFile(location, .metadata)
            guard let metadataBytes = try FileIO.read(metadataPath) else { throw StoreError("no run \(location) in the store at \(store.root)") }
            let metadata = try RunMetadata(json: try Self.object(metadataBytes, path: metadataPath), source: metadataPath)
            let configPath = store.layout.runFile(location, .config)
            let configBytes = try FileIO.read(configPath) ?? []
            let config = configBytes.isEmpty ? [:] : try Self.object(configBytes, path: configPath)
            let summaryPath = store.layout.runFile(location, .summary)
            let explicitSummary = try FileIO.read(summaryPath).map { try Self.object($0, path: summaryPath) } ?? [:]
            let path = store.layout.runFile(location, .history)
            let bytes = try FileIO.read(path) ?? []
            // The summary as RunStore.effectiveSummary defines it: the last logged values,
            // overridden key by key by the explicit summary.
            let rowsBefore = history.runRows.count
            var (summary, keys) = history.add(run: keptCount, bytes: bytes, path: path, warnings: &warnings)
            for (key, value) in explicitSummary { summary[key] = value }
            runs.append(ReadRun(
                location: location, stamp: stamp, metadataBytes: metadataBytes, configBytes: configBytes, metadata: metadata,
                config: config, summary: summary, warnings: warnings, skipped: false,
                rows: history.runRows.count - rowsBefore, historyKeys: keys))
            keptCount += 1
        } catch {
            warnings.append("\(error); run \(location) skipped")
            runs.append(ReadRun(location: location, stamp: stamp, warnings: warnings))
        }
    }

    /// A file holding one JSON object, as `RunStore` reads `run.json`, `config.json` and `summary.json`.
    static func object(_ bytes: [UInt8], path: String) throws -> JSONObject {
        try RunStore.parseJSONObject(bytes, path: path)
    }

    /// The index of everything read, and the history columns it holds in memory.
    func finish() -> (index: RunIndex, historyColumns: [(name: String, column: Column)]) {
        let kept = runs.filter { !$0.skipped }
        let table = RunsTable(metadata: kept.compactMap(\.metadata), configs: kept.map(\.config), summaries: kept.map(\.summary))
        var keys = KeyCatalog()
        for run in kept {
            for key in run.historyKeys where !key.typeNames.isEmpty { keys.record([key.name], typeNames: key.typeNames) }
        }
        let columns = historyColumns()
        let runRows = historyRunRows
        let historyTable = HistoryTable(
            count: runRows.count, keys: keys, columnNames: ["run_id"] + columns.map(\.name),
            storage: HistoryColumns(runRows: runRows, ids: table.ids, columns: columns))
        return (RunIndex(runs: table, history: historyTable, warnings: runs.flatMap(\.warnings)), columns)
    }
}

/// One run as the index read it.
struct ReadRun {
    var location: RunLocation
    /// What its files were when they were read (nil when not building a cache).
    var stamp: RunStamp?
    /// The bytes of `run.json` and `config.json` (empty when missing), kept for the cache.
    var metadataBytes: [UInt8] = []
    var configBytes: [UInt8] = []
    var metadata: RunMetadata?
    var config: JSONObject = [:]
    /// The effective summary: last logged history values overridden by `summary.json`.
    var summary: JSONObject = [:]
    var warnings: [String]
    /// Whether the run could not be read (it has no rows in either table).
    var skipped = true
    /// Its history rows.
    var rows = 0
    /// The history keys it logged, first-logged first, with the types it logged them as
    /// (none for keys starting with `_`, which the key catalog leaves out).
    var historyKeys: [(name: String, typeNames: Set<String>)] = []
}

/// The results of work split over cores, one per part, collected in part order.
final class PartResults<Result>: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result?]

    init(count: Int) {
        results = Array(repeating: nil, count: count)
    }

    func set(_ part: Int, _ result: Result) {
        lock.withLock { results[part] = result }
    }

    /// Every part's result (once every part has set one), handed over: this keeps none.
    func take() -> [Result] {
        lock.withLock {
            defer { results = [] }
            return results.compactMap { $0 }
        }
    }
}

/// Counts work done on several threads and tells `progress`, one report at a time.
final class ProgressCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var done = 0
    private let total: Int
    private let progress: ((Int, Int) -> Void)?

    init(total: Int, progress: ((Int, Int) -> Void)?) {
        self.total = total
        self.progress = progress
    }

    func advance() {
        guard let progress else { return }
        lock.withLock {
            done += 1
            progress(done, total)
        }
    }
}

/// A damaged part of the index cache noticed while reading it lazily.
final class CacheDamage: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: (any Error)?

    var error: (any Error)? { lock.withLock { stored } }

    func record(_ error: any Error) {
        lock.withLock { if stored == nil { stored = error } }
    }
}

/// Keys of a nested section (config, summary, history, or artifact metadata) with how many runs
/// (for metadata: versions) hold each and as which types.
public struct KeyCatalog: Sendable {
    public struct Entry: Sendable {
        /// The path of nested keys (`["model", "arch"]`); history keys are a single element.
        public var path: [String]
        /// How many runs hold it.
        public var runs: Int
        /// How many runs hold it as each type (`float`, `int`, `string`, `bool`, `list`, `object`, `null`).
        public var types: [String: Int]
        /// Whether some run holds an object here (its keys are entries of their own).
        public var isObject: Bool { types["object"] != nil }
    }

    public private(set) var entries: [Entry] = []
    private var positions: [[String]: Int] = [:]

    public init() {}

    /// A catalog of these entries (as the index cache stores them).
    init(entries: [Entry]) {
        self.entries = entries
        for (position, entry) in entries.enumerated() { positions[entry.path] = position }
    }

    /// Records the keys of one run's object, nested objects included.
    mutating func add(_ object: JSONObject, prefix: [String] = []) {
        for (key, value) in object {
            let path = prefix + [key]
            record(path, typeName: value.typeName)
            if case .object(let inner) = value { add(inner, prefix: path) }
        }
    }

    mutating func record(_ path: [String], typeName: String) {
        record(path, typeNames: [typeName])
    }

    /// Records that one run holds `path` with values of these types.
    mutating func record(_ path: [String], typeNames: Set<String>) {
        let position = positions[path] ?? {
            positions[path] = entries.count
            entries.append(Entry(path: path, runs: 0, types: [:]))
            return entries.count - 1
        }()
        entries[position].runs += 1
        for typeName in typeNames { entries[position].types[typeName, default: 0] += 1 }
    }

    public func entry(_ path: [String]) -> Entry? {
        positions[path].map { entries[$0] }
    }

    /// Entries sorted by path, for listings.
    public var sorted: [Entry] {
        entries.sorted { $0.path.lexicographicallyPrecedes($1.path) }
    }
}

/// One row per run.
public struct RunsTable: Sendable {
    /// The built-in columns in `SELECT *` order.
    public static let builtinNames = [
        "id", "name", "entity", "project", "state", "group", "job_type", "tags", "notes", "user", "host",
        "created_at", "updated_at", "runtime", "exit_code", "git_commit", "command", "cwd", "config", "summary",
    ]

    public let count: Int
    public let ids: [String]
    public let configKeys: KeyCatalog
    public let summaryKeys: KeyCatalog
    /// Columns made so far (the index never changes once built), and how to make the others.
    private let columns: LazyColumns

    init(metadata: [RunMetadata], configs: [JSONObject], summaries: [JSONObject]) {
        count = metadata.count
        ids = metadata.map(\.id)
        var configKeys = KeyCatalog()
        for config in configs { configKeys.add(config) }
        self.configKeys = configKeys
        var summaryKeys = KeyCatalog()
        for summary in summaries { summaryKeys.add(summary) }
        self.summaryKeys = summaryKeys
        columns = LazyColumns { key in
            switch key.first {
            case "config": return Column.from(configs.map { $0.value(at: Array(key.dropFirst())).map(Value.init) ?? .null })
            case "summary": return Column.from(summaries.map { $0.value(at: Array(key.dropFirst())).map(Value.init) ?? .null })
            default: return Self.builtinColumn(key.last ?? "", metadata: metadata, configs: configs, summaries: summaries)
            }
        }
    }

    /// A table whose columns are made by `make` (from the index cache), keyed as `LazyColumns` keys them.
    init(count: Int, ids: [String], configKeys: KeyCatalog, summaryKeys: KeyCatalog, make: @escaping @Sendable ([String]) -> Column) {
        self.count = count
        self.ids = ids
        self.configKeys = configKeys
        self.summaryKeys = summaryKeys
        columns = LazyColumns(make)
    }

    /// The built-in columns in `SELECT *` order.
    public var builtins: [(name: String, column: Column)] {
        Self.builtinNames.map { (name: $0, column: columns.column(["builtin", $0])) }
    }

    public func builtin(_ name: String) -> Column? {
        guard Self.builtinNames.contains(name) else { return nil }
        return columns.column(["builtin", name])
    }

    /// Every run's config.
    public var configs: [JSONObject] { objects(builtin("config")) }
    /// Every run's effective summary.
    public var summaries: [JSONObject] { objects(builtin("summary")) }

    private func objects(_ column: Column?) -> [JSONObject] {
        (0..<count).map { row in
            if case .object(let object)? = column?.value(at: row) { return object }
            return [:]
        }
    }

    /// The values at a key path of every run's config (NULL where a run lacks it).
    public func configColumn(_ path: [String]) -> Column {
        columns.column(["config"] + path)
    }

    /// The values at a key path of every run's summary (NULL where a run lacks it).
    public func summaryColumn(_ path: [String]) -> Column {
        columns.column(["summary"] + path)
    }

    /// The key of every column the index cache stores: the built-ins but the whole config and
    /// summary objects, then every catalogued config and summary path that never holds an object.
    /// (The others are made from the runs' objects, which the cache keeps as JSON, when asked for.)
    var cachedColumnKeys: [[String]] {
        Self.builtinNames.filter { $0 != "config" && $0 != "summary" }.map { ["builtin", $0] }
            + configKeys.entries.filter { !$0.isObject }.map { ["config"] + $0.path }
            + summaryKeys.entries.filter { !$0.isObject }.map { ["summary"] + $0.path }
    }

    /// The column `key` made from every run's config and summary objects, as a build makes it.
    static func columnFromObjects(_ key: [String], configs: @autoclosure () throws -> [JSONObject], summaries: @autoclosure () throws -> [JSONObject]) rethrows -> Column {
        switch key {
        case ["builtin", "config"]: return Column.from(try configs().map { Value.object($0) }, type: .object)
        case ["builtin", "summary"]: return Column.from(try summaries().map { Value.object($0) }, type: .object)
        default:
            let path = Array(key.dropFirst())
            return Column.from(try (key.first == "config" ? configs() : summaries()).map { $0.value(at: path).map(Value.init) ?? .null })
        }
    }

    /// The column `key` (as `cachedColumnKeys` names it).
    func column(key: [String]) -> Column {
        columns.column(key)
    }

    private static func builtinColumn(_ name: String, metadata: [RunMetadata], configs: [JSONObject], summaries: [JSONObject]) -> Column {
        func strings(_ values: [String?]) -> Column { Column.from(values.map { $0.map(Value.string) ?? .null }, type: .varchar) }
        func timestamps(_ values: [Double?]) -> Column {
            Column.from(values.map { $0.flatMap { Int64(roundingChecked: $0 * 1e6) }.map(Value.timestamp) ?? .null }, type: .timestamp)
        }
        let column: Column
        switch name {
        case "id": column = strings(metadata.map(\.id))
        case "name": column = strings(metadata.map(\.name))
        case "entity": column = strings(metadata.map(\.entity))
        case "project": column = strings(metadata.map(\.project))
        case "state": column = strings(metadata.map(\.state.rawValue))
        case "group": column = strings(metadata.map(\.group))
        case "job_type": column = strings(metadata.map(\.jobType))
        case "tags": column = Column.from(metadata.map { .list($0.tags.map(Value.string)) }, type: .list(.varchar))
        case "notes": column = strings(metadata.map(\.notes))
        case "user": column = strings(metadata.map(\.user))
        case "host": column = strings(metadata.map(\.host))
        case "created_at": column = timestamps(metadata.map(\.createdAt))
        case "updated_at": column = timestamps(metadata.map(\.updatedAt))
        case "runtime": column = Column.from(metadata.map { $0.runtime.map(Value.double) ?? .null }, type: .double)
        case "exit_code": column = Column.from(metadata.map { $0.exitCode.map(Value.int) ?? .null }, type: .bigint)
        case "git_commit": column = strings(metadata.map(\.gitCommit))
        case "command": column = Column.from(metadata.map { $0.command.map { .list($0.map(Value.string)) } ?? .null }, type: .list(.varchar))
        case "cwd": column = strings(metadata.map(\.workingDirectory))
        case "config": column = Column.from(configs.map { Value.object($0) }, type: .object)
        default: column = Column.from(summaries.map { Value.object($0) }, type: .object)
        }
        return dictionaryEncoded(column)
    }

    /// Strings that repeat are stored once.
    static func dictionaryEncoded(_ column: Column) -> Column {
        guard case .string(let strings) = column.storage else { return column }
        var codes = ContiguousArray<UInt32>()
        codes.reserveCapacity(strings.count)
        var positions: [String: UInt32] = [:]
        var dictionary: [String] = []
        for string in strings {
            if let code = positions[string] {
                codes.append(code)
            } else {
                let code = UInt32(dictionary.count)
                positions[string] = code
                dictionary.append(string)
                codes.append(code)
            }
        }
        return Column(storage: .dictionary(codes: codes, dictionary: StringDictionary(dictionary)), validity: column.validity, type: .varchar)
    }
}

/// One row per logged step; the rows of a run are contiguous and in log order, runs in the runs table's order.
public struct HistoryTable: Sendable {
    public let count: Int
    public let keys: KeyCatalog
    /// The column names: the built-ins (`run_id`, `_step`, `_timestamp`, `_runtime`) then one per
    /// metric, in first-logged order.
    public let columnNames: [String]
    private let storage: HistoryColumns

    init(count: Int, keys: KeyCatalog, columnNames: [String], storage: HistoryColumns) {
        self.count = count
        self.keys = keys
        self.columnNames = columnNames
        self.storage = storage
    }

    /// For each row, the row of its run in `RunsTable`.
    public var runRows: ContiguousArray<Int32> { storage.runRows }

    /// Each run's rows, which are contiguous, with the run's row in `RunsTable`, in row order
    /// (runs without history have none).
    public var runSpans: [(rows: Range<Int>, run: Int)] { storage.runSpans }

    /// Every column (each read from the index cache on first use).
    public var columns: [(name: String, column: Column)] {
        columnNames.map { (name: $0, column: storage.column($0)) }
    }

    public func column(_ name: String) -> Column? {
        guard columnNames.contains(name) else { return nil }
        return storage.column(name)
    }

    struct Builder {
        var runRows = ContiguousArray<Int32>()
        /// One builder per key, in first-logged order (the built-in columns first).
        var order: [String] = ["_step", "_timestamp", "_runtime"]
        var builders: [ColumnBuilder] = [ColumnBuilder(), ColumnBuilder(), ColumnBuilder()]
        var positions: [String: Int] = ["_step": 0, "_timestamp": 1, "_runtime": 2]

        /// Key bytes of the previous line and their builders: consecutive lines log the same keys
        /// in the same order, so most keys are matched by a memcmp instead of a hash lookup.
        private var recentKeys: [[UInt8]] = []
        private var recentPositions: [Int] = []
        /// The members of the line being read, appended only once the whole line has parsed.
        private var pending: [(position: Int, value: Value)] = []

        /// Per key, what the run being read logged: a bit per type name (`typeBits`) and 0x80
        /// once logged at all; and its last value. Reset for the run's keys after each run.
        private var runTypes: [UInt8] = [0, 0, 0]
        private var runLast: [Value] = [.null, .null, .null]
        /// Per key, whether it starts with `_` (kept out of the summary and the key catalog).
        private var isInternal: [Bool] = [true, true, true]

        /// Reads one run's `history.jsonl` into the columns, as `HistoryLog.parse` reads it (torn
        /// and malformed lines skipped with a warning); returns the last value of each key not
        /// starting with `_`, in first-logged order, and every key the run logged with its types.
        mutating func add(run: Int, bytes: [UInt8], path: String, warnings: inout [String]) -> (summary: JSONObject, keys: [(name: String, typeNames: Set<String>)]) {
            var runKeys: [Int] = []
            HistoryLines.forEach(bytes, path: path, warnings: &warnings) { line in
                pending.removeAll(keepingCapacity: true)
                var memberIndex = 0
                try JSONFastScanner.forEachMember(line) { keyRange, keyEscaped, fastValue in
                    let position = try self.position(of: keyRange, escaped: keyEscaped, in: line, at: memberIndex)
                    memberIndex += 1
                    pending.append((position, try Self.value(fastValue, in: line)))
                }
                let rowIndex = runRows.count
                runRows.append(Int32(run))
                for (position, value) in pending {
                    while builders[position].count < rowIndex { builders[position].append(.null) }
                    // A key written twice in one line: the last value wins, as in a JSON object.
                    if builders[position].count > rowIndex { builders[position].replaceLast(value) } else { builders[position].append(value) }
                    if runTypes[position] == 0 { runKeys.append(position) }
                    if isInternal[position] {
                        runTypes[position] = 0x80
                    } else {
                        runTypes[position] |= 0x80 | Self.typeBit(value)
                        runLast[position] = value
                    }
                }
            }
            var summary = JSONObject()
            var keys: [(name: String, typeNames: Set<String>)] = []
            keys.reserveCapacity(runKeys.count)
            for position in runKeys {
                if !isInternal[position] { summary[order[position]] = runLast[position].json }
                keys.append((order[position], Self.typeNames(runTypes[position])))
                runTypes[position] = 0
                runLast[position] = .null
            }
            return (summary, keys)
        }

        /// The builder of a key: the same as the previous line's at this index when the bytes match.
        private mutating func position(of keyRange: Range<Int>, escaped: Bool, in line: UnsafeBufferPointer<UInt8>, at memberIndex: Int) throws -> Int {
            let keyBytes = UnsafeBufferPointer(rebasing: line[keyRange])
            if !escaped, memberIndex < recentKeys.count, recentKeys[memberIndex].elementsEqual(keyBytes) {
                return recentPositions[memberIndex]
            }
            let key: String
            if escaped {
                // Decode through the full parser: the key with its quotes.
                let quoted = UnsafeBufferPointer(rebasing: line[(keyRange.lowerBound - 1)..<(keyRange.upperBound + 1)])
                key = (try JSONParser.parse(quoted)).stringValue ?? ""
            } else {
                key = String(decoding: keyBytes, as: UTF8.self)
            }
            let position: Int
            if let known = positions[key] {
                position = known
            } else {
                position = builders.count
                positions[key] = position
                order.append(key)
                builders.append(ColumnBuilder())
                runTypes.append(0)
                runLast.append(.null)
                isInternal.append(key.hasPrefix("_"))
            }
            if !escaped {
                if memberIndex < recentKeys.count {
                    recentKeys[memberIndex] = Array(keyBytes)
                    recentPositions[memberIndex] = position
                } else if memberIndex == recentKeys.count {
                    recentKeys.append(Array(keyBytes))
                    recentPositions.append(position)
                }
            }
            return position
        }

        private static func value(_ fastValue: JSONFastValue, in line: UnsafeBufferPointer<UInt8>) throws -> Value {
            switch fastValue {
            case .null: return .null
            case .bool(let flag): return .bool(flag)
            case .int(let integer): return .int(integer)
            case .double(let number): return .double(number)
            case .string(let range, let escaped):
                if !escaped { return .string(String(decoding: UnsafeBufferPointer(rebasing: line[range]), as: UTF8.self)) }
                let quoted = UnsafeBufferPointer(rebasing: line[(range.lowerBound - 1)..<(range.upperBound + 1)])
                return Value(try JSONParser.parse(quoted))
            case .other(let range):
                return Value(try JSONParser.parse(UnsafeBufferPointer(rebasing: line[range])))
            }
        }

        /// The type names SHOW KEYS counts (as `JSONValue.typeName`), one bit each.
        private static let typeBitNames = ["null", "bool", "int", "float", "string", "list", "object"]

        private static func typeBit(_ value: Value) -> UInt8 {
            switch value {
            case .null: return 1 << 0
            case .bool: return 1 << 1
            case .int: return 1 << 2
            case .double: return 1 << 3
            case .string, .timestamp, .interval: return 1 << 4
            case .list: return 1 << 5
            case .object: return 1 << 6
            }
        }

        private static func typeNames(_ bits: UInt8) -> Set<String> {
            var names = Set<String>()
            for (bit, name) in typeBitNames.enumerated() where bits & (1 << bit) != 0 { names.insert(name) }
            return names
        }

        /// The columns `_step`, `_timestamp`, `_runtime`, then one per metric (without `run_id`).
        func finish() -> [(name: String, column: Column)] {
            let total = runRows.count
            return order.enumerated().map { position, key in
                var builder = builders[position]
                while builder.count < total { builder.append(.null) }
                return (key, builder.finish())
            }
        }
    }
}

/// The history's columns: held in memory after a build, read from the index cache's segments on first use after a load.
final class HistoryColumns: @unchecked Sendable {
    private let lock = NSLock()
    private var made: [String: Column] = [:]
    private var madeRunRows: ContiguousArray<Int32>?
    private let makeColumn: @Sendable (String) -> Column
    private let makeRunRows: @Sendable () -> ContiguousArray<Int32>

    init(makeColumn: @escaping @Sendable (String) -> Column, makeRunRows: @escaping @Sendable () -> ContiguousArray<Int32>) {
        self.makeColumn = makeColumn
        self.makeRunRows = makeRunRows
    }

    /// Columns already in memory; `run_id` is made from `runRows` and the runs' ids.
    convenience init(runRows: ContiguousArray<Int32>, ids: [String], columns: [(name: String, column: Column)]) {
        self.init(makeColumn: { _ in Column.constant(.null, count: runRows.count) }, makeRunRows: { runRows })
        madeRunRows = runRows
        made["run_id"] = Self.runIDColumn(runRows: runRows, ids: ids)
        for (name, column) in columns { made[name] = column }
    }

    var runRows: ContiguousArray<Int32> {
        if let rows = lock.withLock({ madeRunRows }) { return rows }
        let rows = makeRunRows()
        lock.withLock { madeRunRows = rows }
        return rows
    }

    private var madeRunSpans: [(rows: Range<Int>, run: Int)]?

    var runSpans: [(rows: Range<Int>, run: Int)] {
        if let spans = lock.withLock({ madeRunSpans }) { return spans }
        var spans: [(rows: Range<Int>, run: Int)] = []
        runRows.withUnsafeBufferPointer { runRows in
            var start = 0
            while start < runRows.count {
                let run = runRows[start]
                var end = start + 1
                while end < runRows.count, runRows[end] == run { end += 1 }
                spans.append((start..<end, Int(run)))
                start = end
            }
        }
        lock.withLock { madeRunSpans = spans }
        return spans
    }

    func column(_ name: String) -> Column {
        if let column = lock.withLock({ made[name] }) { return column }
        let column = makeColumn(name)
        lock.withLock { made[name] = column }
        return column
    }

    /// `run_id` dictionary-encoded, codes in order of first appearance (runs' rows are contiguous
    /// and in runs-table order, so each run's code is the count of runs with rows before it).
    static func runIDColumn(runRows: ContiguousArray<Int32>, ids: [String]) -> Column {
        guard !runRows.isEmpty else { return Column(storage: .values([]), type: .varchar) }
        var codes = ContiguousArray<UInt32>()
        codes.reserveCapacity(runRows.count)
        var dictionary: [String] = []
        var previous: Int32 = -1
        var code: UInt32 = 0
        for run in runRows {
            if run != previous {
                previous = run
                code = UInt32(dictionary.count)
                dictionary.append(ids[Int(run)])
            }
            codes.append(code)
        }
        return Column(storage: .dictionary(codes: codes, dictionary: StringDictionary(dictionary)), type: .varchar)
    }
}

/// Columns made on first use and kept (the index never changes once built).
final class LazyColumns: @unchecked Sendable {
    private let lock = NSLock()
    private var columns: [[String]: Column] = [:]
    private let make: @Sendable ([String]) -> Column

    init(_ make: @escaping @Sendable ([String]) -> Column) {
        self.make = make
    }

    func column(_ key: [String]) -> Column {
        if let cached = lock.withLock({ columns[key] }) { return cached }
        let column = make(key)
        lock.withLock { columns[key] = column }
        return column
    }
}

/// Columns extracted from a table's objects, kept for the next query.
final class ExtractedColumns: @unchecked Sendable {
    private let lock = NSLock()
    private var columns: [[String]: Column] = [:]

    func column(_ key: [String], _ make: () -> Column) -> Column {
        if let cached = lock.withLock({ columns[key] }) { return cached }
        let column = make()
        lock.withLock { columns[key] = column }
        return column
    }
}
