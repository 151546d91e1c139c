import RunStore

/// The index cache's manifest (`index/manifest.rqi`): sections
///
/// 0. head: run count, the ids of the runs table, the history segments (name, rows), and the
///    directory of runs-table columns (key path → section);
/// 1. runs: per run its location, flags, warnings and history range, then every run's stamp;
/// 2. key codes: every run's config and summary paths (`KeyCodes`), read only by a refresh;
/// 3. the config, summary and history key catalogs and the history's column names;
/// 4… the runs table's columns, one per section.
final class Manifest: Sendable {
    private let file: CacheFile
    let runs: [CachedRun]
    let segments: [SegmentReader]
    private let ids: [String]
    let configKeys: KeyCatalog
    let summaryKeys: KeyCatalog
    private let historyKeys: KeyCatalog
    let historyNames: [String]
    private let columnSections: [[String]: Int]

    /// Opens the manifest and every segment it uses, checking all but the lazily read sections.
    init(path: String) throws {
        file = try CacheFile(path: path, kind: .manifest)
        guard file.sectionCount >= 4 else { throw IndexCacheError("\(path) has too few sections") }
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        var segmentList: [(name: String, rows: Int)] = []
        (ids, segmentList, columnSections) = try file.section(0).withUnsafeBytes { bytes in
            var reader = ByteReader(bytes)
            let ids = try reader.strings()
            let segmentCount = Int(try reader.u32())
            var segments: [(name: String, rows: Int)] = []
            for _ in 0..<segmentCount { segments.append((try reader.string(), try reader.int())) }
            let columnCount = Int(try reader.u32())
            var sections: [[String]: Int] = [:]
            for _ in 0..<columnCount { sections[try reader.strings()] = Int(try reader.u32()) }
            return (ids, segments, sections)
        }
        segments = try segmentList.map { entry in
            let segment = try SegmentReader(directory: directory, name: entry.name)
            guard segment.rows == entry.rows else { throw IndexCacheError("\(entry.name) does not hold the rows the manifest expects") }
            return segment
        }
        runs = try file.section(1).withUnsafeBytes { bytes in
            var reader = ByteReader(bytes)
            let count = try reader.int()
            var runs = try (0..<count).map { _ in try Self.decodeRun(&reader) }
            let stamps = try reader.raw(Int64.self, count: count * RunStamp.fieldCount)
            for position in runs.indices {
                runs[position].stamp = RunStamp(fields: stamps[(position * RunStamp.fieldCount)..<((position + 1) * RunStamp.fieldCount)])
            }
            return runs
        }
        (configKeys, summaryKeys, historyKeys, historyNames) = try file.section(3).withUnsafeBytes { bytes in
            var reader = ByteReader(bytes)
            return (try Self.decodeCatalog(&reader), try Self.decodeCatalog(&reader), try Self.decodeCatalog(&reader), try reader.strings())
        }
        guard runs.count(where: { !$0.skipped }) == ids.count else { throw IndexCacheError("\(path): its runs do not match its ids") }
        for run in runs where !run.skipped {
            guard run.segment < segments.count, run.start + run.rows <= segments[run.segment].rows,
                run.sourceIndex < segments[run.segment].runCount
            else {
                throw IndexCacheError("\(path): a run's history is outside its segments")
            }
        }
    }

    /// The keys of the runs-table columns stored in this manifest.
    var columnKeys: [[String]] { Array(columnSections.keys) }

    /// The encoded bytes of a stored runs-table column (checked), or nil.
    func columnBytes(_ key: [String]) -> [UInt8]? {
        guard let section = columnSections[key] else { return nil }
        return try? file.section(section)
    }

    /// Whether the store's runs are exactly those recorded, with unchanged files.
    func matches(_ locations: [RunLocation], _ stamps: [RunStamp]) -> Bool {
        guard locations.count == runs.count else { return false }
        for (position, run) in runs.enumerated() {
            guard run.location == locations[position], run.stamp == stamps[position], !run.racy else { return false }
        }
        return true
    }

    /// For each run, its row in the runs table (nil for a skipped run).
    var runsTableRows: [Int?] {
        var row = 0
        return runs.map { run in
            guard !run.skipped else { return nil }
            row += 1
            return row - 1
        }
    }

    /// The index this manifest describes, every column read on first use.
    func index() -> RunIndex {
        let damage = CacheDamage()
        return IndexParts(runs: runs, historyCatalog: historyKeys, historyNames: historyNames)
            .index(table: runsTable(damage: damage), segments: segments, damage: damage)
    }

    /// The runs table, every column read on first use (`damage` records a section found corrupt).
    func runsTable(damage: CacheDamage) -> RunsTable {
        let count = ids.count
        let objects = ObjectsOnDemand { [self] in try sources().runs.compactMap { $0 } }
        return RunsTable(count: count, ids: ids, configKeys: configKeys, summaryKeys: summaryKeys) { [self] key in
            if columnSections[key] == nil, objects.isMadeFromObjects(key, configKeys: configKeys, summaryKeys: summaryKeys) {
                do {
                    return try objects.column(key)
                } catch {
                    damage.record(error)
                    return Column.constant(.null, count: count)
                }
            }
            guard let section = columnSections[key] else { return Column.from(repeatElement(Value.null, count: count)) }
            do {
                let column = try file.section(section).withUnsafeBytes { bytes in
                    var reader = ByteReader(bytes)
                    return try ColumnCodec.decode(&reader)
                }
                guard column.count == count else { throw IndexCacheError("a runs column has \(column.count) rows, not \(count)") }
                return column
            } catch {
                damage.record(error)
                return Column.constant(.null, count: count)
            }
        }
    }

    /// Each run's recorded files (nil for skipped runs) and history keys.
    struct Sources {
        var runs: [RunSources?]
        var historyKeys: [[(name: String, typeNames: Set<String>)]]
    }

    /// Each run's config, summary and history key codes (`KeyCodes`), for a refresh.
    struct KeyCodeLists {
        var config: [[UInt32]] = []
        var summary: [[UInt32]] = []
        var history: [[UInt32]] = []
    }

    func sources() throws -> Sources {
        var sources = Sources(runs: [], historyKeys: [])
        var segmentRuns: [Int: [SegmentRun]] = [:]
        for run in runs {
            guard !run.skipped else {
                sources.runs.append(nil)
                sources.historyKeys.append([])
                continue
            }
            let inSegment = try segmentRuns[run.segment] ?? segments[run.segment].runs()
            segmentRuns[run.segment] = inSegment
            sources.runs.append(inSegment[run.sourceIndex].sources)
            sources.historyKeys.append(inSegment[run.sourceIndex].historyKeys)
        }
        return sources
    }

    func keyCodes() throws -> KeyCodeLists {
        try file.section(2).withUnsafeBytes { bytes in
            var reader = ByteReader(bytes)
            var lists = KeyCodeLists()
            for (list, positions, maximumType) in [(0, configKeys.entries.count, KeyCodes.names.count), (1, summaryKeys.entries.count, KeyCodes.names.count), (2, historyNames.count, 256)] {
                let offsets = try reader.raw(UInt32.self, count: runs.count + 1)
                let codes = try reader.raw(UInt32.self, count: Int(offsets[runs.count]))
                for position in runs.indices {
                    let (from, to) = (Int(offsets[position]), Int(offsets[position + 1]))
                    guard from <= to, to <= codes.count else { throw IndexCacheError("a run's key codes are out of range") }
                    let runCodes = Array(codes[from..<to])
                    guard runCodes.allSatisfy({ Int($0 >> 8) < positions && Int($0 & 0xFF) < maximumType }) else {
                        throw IndexCacheError("a run's key codes are out of range")
                    }
                    switch list {
                    case 0: lists.config.append(runCodes)
                    case 1: lists.summary.append(runCodes)
                    default: lists.history.append(runCodes)
                    }
                }
            }
            return lists
        }
    }

    /// Writes a manifest of `parts` and `table`. A column for which `reuse` gives encoded bytes
    /// (an old manifest's, known to hold the same column) is copied rather than made and encoded.
    static func write(
        _ parts: IndexParts, table: RunsTable, segments: [(name: String, rows: Int)], to path: String, reuse: ([String]) -> [UInt8]? = { _ in nil }
    ) throws {
        let runs = parts.runs
        // The config and summary objects are read from section 2 when asked for.
        let keys = table.cachedColumnKeys
        var head = ByteWriter()
        head.strings(table.ids)
        head.u32(UInt32(segments.count))
        for segment in segments {
            head.string(segment.name)
            head.int(segment.rows)
        }
        head.u32(UInt32(keys.count))
        for (position, key) in keys.enumerated() {
            head.strings(key)
            head.u32(UInt32(4 + position))
        }
        // Runs are read in place (`runs[position]`), not copied out one by one.
        var runSection = ByteWriter()
        runSection.int(runs.count)
        var stamps = ContiguousArray<Int64>()
        stamps.reserveCapacity(runs.count * RunStamp.fieldCount)
        for position in runs.indices {
            encode(runs[position], into: &runSection)
            stamps.append(contentsOf: runs[position].stamp.fields)
        }
        runSection.raw(stamps)
        var sources = ByteWriter()
        for list in 0..<3 {
            var offsets = ContiguousArray<UInt32>([0])
            var codes = ContiguousArray<UInt32>()
            for position in runs.indices {
                switch list {
                case 0: codes.append(contentsOf: runs[position].configCodes)
                case 1: codes.append(contentsOf: runs[position].summaryCodes)
                default: codes.append(contentsOf: runs[position].historyCodes)
                }
                offsets.append(UInt32(codes.count))
            }
            sources.raw(offsets)
            sources.raw(codes)
        }
        var catalogs = ByteWriter()
        encode(table.configKeys, into: &catalogs)
        encode(table.summaryKeys, into: &catalogs)
        encode(parts.historyCatalog, into: &catalogs)
        catalogs.strings(parts.historyNames)
        let fixed = [head.bytes, runSection.bytes, sources.bytes, catalogs.bytes]
        try CacheContainer.write(count: fixed.count + keys.count, kind: .manifest, to: path) { index in
            guard index >= fixed.count else { return fixed[index] }
            let key = keys[index - fixed.count]
            if let bytes = reuse(key) { return bytes }
            var writer = ByteWriter()
            ColumnCodec.encode(table.column(key: key), into: &writer)
            return writer.bytes
        }
    }

    private static func encode(_ run: CachedRun, into writer: inout ByteWriter) {
        writer.strings([run.location.entity, run.location.project, run.location.id])
        writer.u8((run.skipped ? 1 : 0) | (run.racy ? 2 : 0))
        writer.strings(run.warnings)
        writer.u32(UInt32(run.segment))
        writer.u32(UInt32(run.sourceIndex))
        writer.int(run.start)
        writer.int(run.rows)
    }

    private static func decodeRun(_ reader: inout ByteReader) throws -> CachedRun {
        let location = try reader.strings()
        guard location.count == 3 else { throw IndexCacheError("a run's location is malformed") }
        let flags = try reader.u8()
        let warnings = try reader.strings()
        let segment = Int(try reader.u32())
        let sourceIndex = Int(try reader.u32())
        let start = try reader.int()
        let rows = try reader.int()
        var run = CachedRun(
            location: RunLocation(entity: location[0], project: location[1], id: location[2]), stamp: RunStamp(),
            racy: flags & 2 != 0, skipped: flags & 1 != 0, warnings: warnings, segment: segment, start: start, rows: rows, historyKeys: [])
        run.sourceIndex = sourceIndex
        return run
    }

    private static func encode(_ catalog: KeyCatalog, into writer: inout ByteWriter) {
        writer.u32(UInt32(catalog.entries.count))
        for entry in catalog.entries {
            writer.strings(entry.path)
            writer.int(entry.runs)
            let types = entry.types.sorted { $0.key < $1.key }
            writer.u32(UInt32(types.count))
            for (name, count) in types {
                writer.string(name)
                writer.int(count)
            }
        }
    }

    private static func decodeCatalog(_ reader: inout ByteReader) throws -> KeyCatalog {
        let count = Int(try reader.u32())
        var entries: [KeyCatalog.Entry] = []
        for _ in 0..<count {
            let path = try reader.strings()
            let runs = try reader.int()
            let typeCount = Int(try reader.u32())
            var types: [String: Int] = [:]
            for _ in 0..<typeCount { types[try reader.string()] = try reader.int() }
            entries.append(KeyCatalog.Entry(path: path, runs: runs, types: types))
        }
        return KeyCatalog(entries: entries)
    }
}
