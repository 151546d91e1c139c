import Foundation
import RunStore

/// The columnar index of a store: the `runs`, `history` and artifact tables, typed and in memory.
///
/// ```
/// store ──RunIndex.build──▶ RunsTable (one row per run)  ─┐
///                           HistoryTable (one row per step, ├──▶ the query engine's scans
///                           each run's rows contiguous)   │
///                           ArtifactTables (versions,     │
///                           files, lineage edges)        ─┘
/// ```
/// Built-in columns are typed columns; config and summary keys are extracted on demand by path
/// (`configColumn(["model", "arch"])`); history metrics are one column per key.
public final class RunIndex: Sendable {
    public let runs: RunsTable
    public let history: HistoryTable
    public let artifacts: ArtifactTables
    /// Lines that could not be read (torn or malformed history lines, unreadable runs), as `path:line: reason`.
    public let warnings: [String]

    public init(runs: RunsTable, history: HistoryTable, artifacts: ArtifactTables? = nil, warnings: [String]) {
        self.runs = runs
        self.history = history
        self.artifacts = artifacts ?? ArtifactTables(versions: [], uses: [], runs: runs)
        self.warnings = warnings
    }

    /// Reads every run, artifact version and lineage record of the store.
    public static func build(from store: RunStore) -> RunIndex {
        var warnings: [String] = []
        var metadata: [RunMetadata] = []
        var configs: [JSONObject] = []
        var summaries: [JSONObject] = []
        var history = HistoryTable.Builder()
        for location in store.runLocations() {
            do {
                let run = try store.readMetadata(location)
                let config = try store.readObject(location, .config)
                let explicitSummary = try store.readObject(location, .summary)
                let path = store.layout.runFile(location, .history)
                let bytes = try FileIO.read(path) ?? []
                // The summary as RunStore.effectiveSummary defines it: the last logged values,
                // overridden key by key by the explicit summary.
                var summary = history.add(run: metadata.count, bytes: bytes, path: path, warnings: &warnings)
                for (key, value) in explicitSummary { summary[key] = value }
                metadata.append(run)
                configs.append(config)
                summaries.append(summary)
            } catch {
                warnings.append("\(error); run \(location) skipped")
            }
        }
        let runs = RunsTable(metadata: metadata, configs: configs, summaries: summaries)
        let artifacts = ArtifactTables.build(from: store, runs: runs, warnings: &warnings)
        return RunIndex(runs: runs, history: history.finish(runIDs: runs.ids), artifacts: artifacts, warnings: warnings)
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
    public let count: Int
    public let ids: [String]
    /// The built-in columns in `SELECT *` order.
    public let builtins: [(name: String, column: Column)]
    public let configs: [JSONObject]
    public let summaries: [JSONObject]
    public let configKeys: KeyCatalog
    public let summaryKeys: KeyCatalog
    /// Key columns already extracted (the index never changes once built).
    private let extracted = ExtractedColumns()

    init(metadata: [RunMetadata], configs: [JSONObject], summaries: [JSONObject]) {
        count = metadata.count
        ids = metadata.map(\.id)
        self.configs = configs
        self.summaries = summaries
        func strings(_ values: [String?]) -> Column { Column.from(values.map { $0.map(Value.string) ?? .null }, type: .varchar) }
        func timestamps(_ values: [Double?]) -> Column {
            Column.from(values.map { $0.flatMap { Int64(roundingChecked: $0 * 1e6) }.map(Value.timestamp) ?? .null }, type: .timestamp)
        }
        builtins = [
            ("id", strings(metadata.map(\.id))),
            ("name", strings(metadata.map(\.name))),
            ("entity", strings(metadata.map(\.entity))),
            ("project", strings(metadata.map(\.project))),
            ("state", strings(metadata.map(\.state.rawValue))),
            ("group", strings(metadata.map(\.group))),
            ("job_type", strings(metadata.map(\.jobType))),
            ("tags", Column.from(metadata.map { .list($0.tags.map(Value.string)) }, type: .list(.varchar))),
            ("notes", strings(metadata.map(\.notes))),
            ("user", strings(metadata.map(\.user))),
            ("host", strings(metadata.map(\.host))),
            ("created_at", timestamps(metadata.map(\.createdAt))),
            ("updated_at", timestamps(metadata.map(\.updatedAt))),
            ("runtime", Column.from(metadata.map { $0.runtime.map(Value.double) ?? .null }, type: .double)),
            ("exit_code", Column.from(metadata.map { $0.exitCode.map(Value.int) ?? .null }, type: .bigint)),
            ("git_commit", strings(metadata.map(\.gitCommit))),
            ("command", Column.from(metadata.map { $0.command.map { .list($0.map(Value.string)) } ?? .null }, type: .list(.varchar))),
            ("cwd", strings(metadata.map(\.workingDirectory))),
            ("config", Column.from(configs.map { Value.object($0) }, type: .object)),
            ("summary", Column.from(summaries.map { Value.object($0) }, type: .object)),
        ].map { (name: $0.0, column: Self.dictionaryEncoded($0.1)) }
        var configKeys = KeyCatalog()
        for config in configs { configKeys.add(config) }
        self.configKeys = configKeys
        var summaryKeys = KeyCatalog()
        for summary in summaries { summaryKeys.add(summary) }
        self.summaryKeys = summaryKeys
    }

    public func builtin(_ name: String) -> Column? {
        builtins.first { $0.name == name }?.column
    }

    /// The values at a key path of every run's config (NULL where a run lacks it).
    public func configColumn(_ path: [String]) -> Column {
        extracted.column(["config"] + path) { Column.from(configs.map { $0.value(at: path).map(Value.init) ?? .null }) }
    }

    /// The values at a key path of every run's summary (NULL where a run lacks it).
    public func summaryColumn(_ path: [String]) -> Column {
        extracted.column(["summary"] + path) { Column.from(summaries.map { $0.value(at: path).map(Value.init) ?? .null }) }
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

/// One row per logged step; the rows of a run are contiguous and in log order.
public struct HistoryTable: Sendable {
    public let count: Int
    /// For each row, the row of its run in `RunsTable`.
    public let runRows: ContiguousArray<Int32>
    /// The built-in columns (`run_id`, `_step`, `_timestamp`, `_runtime`) then one per metric, in first-logged order.
    public let columns: [(name: String, column: Column)]
    public let keys: KeyCatalog

    public func column(_ name: String) -> Column? {
        columns.first { $0.name == name }?.column
    }

    struct Builder {
        var runRows = ContiguousArray<Int32>()
        /// One builder per key, in first-logged order (the built-in columns first).
        var order: [String] = ["_step", "_timestamp", "_runtime"]
        var builders: [ColumnBuilder] = [ColumnBuilder(), ColumnBuilder(), ColumnBuilder()]
        var positions: [String: Int] = ["_step": 0, "_timestamp": 1, "_runtime": 2]
        var keys = KeyCatalog()

        /// Key bytes of the previous line and their builders: consecutive lines log the same keys
        /// in the same order, so most keys are matched by a memcmp instead of a hash lookup.
        private var recentKeys: [[UInt8]] = []
        private var recentPositions: [Int] = []
        /// The members of the line being read, appended only once the whole line has parsed.
        private var pending: [(position: Int, value: Value)] = []

        /// Reads one run's `history.jsonl` into the columns, as `HistoryLog.parse` reads it (torn
        /// and malformed lines skipped with a warning); returns the last value of each key not
        /// starting with `_`, in first-logged order.
        mutating func add(run: Int, bytes: [UInt8], path: String, warnings: inout [String]) -> JSONObject {
            var lastValues: [Int: Value] = [:]
            var firstLogged: [Int] = []
            var typesSeen: [Int: Set<String>] = [:]
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
                    guard !order[position].hasPrefix("_") else { continue }
                    if lastValues.updateValue(value, forKey: position) == nil { firstLogged.append(position) }
                    typesSeen[position, default: []].insert(Self.typeName(value))
                }
            }
            for (position, typeNames) in typesSeen { keys.record([order[position]], typeNames: typeNames) }
            var summary = JSONObject()
            for position in firstLogged { summary[order[position]] = lastValues[position]?.json }
            return summary
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

        /// The type names SHOW KEYS counts (as `JSONValue.typeName`).
        private static func typeName(_ value: Value) -> String {
            switch value {
            case .null: return "null"
            case .bool: return "bool"
            case .int: return "int"
            case .double: return "float"
            case .string: return "string"
            case .list: return "list"
            case .object: return "object"
            case .timestamp, .interval: return "string"
            }
        }

        func finish(runIDs: [String]) -> HistoryTable {
            let total = runRows.count
            var columns: [(name: String, column: Column)] = [
                ("run_id", RunsTable.dictionaryEncoded(Column.from(runRows.map { Value.string(runIDs[Int($0)]) }, type: .varchar)))
            ]
            for (position, key) in order.enumerated() {
                var builder = builders[position]
                while builder.count < total { builder.append(.null) }
                columns.append((key, builder.finish()))
            }
            return HistoryTable(count: total, runRows: runRows, columns: columns, keys: keys)
        }
    }
}

/// Columns extracted from the runs' config and summary objects, kept for the next query.
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
