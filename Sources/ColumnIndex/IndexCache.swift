import Foundation
import RunStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The persistent index cache in the store's `index/` folder: the columnar index written down, so
/// that a start loads it instead of reading every run.
///
/// ```
/// stat every run ──▶ all unchanged ─────────────▶ load: a few checked reads, columns on first use
///               └──▶ some runs new/changed/gone ─▶ read only those into a new segment, patch the
///                                                 runs table, write a new manifest (temporary
///                                                 name, fsync, rename)
/// ```
/// The manifest (`index/manifest.rqi`) holds the runs table's columns, the key catalogs and each
/// run's key codes, what each run's files were when read, and where each run is kept: its files
/// and a range of history rows in one of the segments (`index/segment-*.rqi`, written once, never
/// changed). Every file is versioned
/// and checksummed per section; a missing, foreign-version, truncated or corrupt cache is rebuilt,
/// and a section found corrupt only when read lazily marks the index damaged (`RunIndex.isDamaged`)
/// so its user rebuilds and asks again. Deleting `index/` is always safe. `docs/STORE.md` has the format.
public enum IndexCache {
    static let manifestName = "manifest.rqi"
    /// Rewrite the history into one segment when more than this many segments are in use…
    package static let maxSegments = 8

    /// The index of `store`, from its cache when every run is unchanged, refreshed when some runs
    /// changed (only those are read), built from scratch otherwise; the cache is then rewritten.
    /// A cache that cannot be written (a read-only store) is skipped, never an error.
    /// `progress` is told runs read of runs to read.
    public static func index(of store: RunStore, progress: ((Int, Int) -> Void)? = nil) -> RunIndex {
        let startedAt = wallClockNanoseconds()
        // The store's runs are listed and stamped on other threads while this one opens the
        // manifest: the two are independent, and together they are most of a warm start.
        let scan = Background { () -> (locations: [RunLocation], stamps: [RunStamp]) in
            let locations = store.runLocations()
            return (locations, RunStamp.of(store, locations))
        }
        let manifest = try? Manifest(path: "\(store.layout.index)/\(manifestName)")
        let (locations, stamps) = scan.result()
        if let manifest, manifest.matches(locations, stamps) {
            return manifest.index().addingArtifacts(of: store)
        }
        return refresh(store, from: manifest, locations: locations, stamps: stamps, startedAt: startedAt, progress: progress)
            .addingArtifacts(of: store)
    }

    /// Builds the index of `store` from scratch, ignoring (and replacing) its cache.
    public static func rebuild(_ store: RunStore, progress: ((Int, Int) -> Void)? = nil) -> RunIndex {
        build(store, progress: progress).addingArtifacts(of: store)
    }

    /// The runs and history of `store` read from scratch, cached.
    private static func build(_ store: RunStore, progress: ((Int, Int) -> Void)? = nil) -> RunIndex {
        let startedAt = wallClockNanoseconds()
        let locations = store.runLocations()
        let stamps = RunStamp.of(store, locations)
        return refresh(store, from: nil, locations: locations, stamps: stamps, startedAt: startedAt, progress: progress)
    }

    /// Reads the runs that are new or changed since `old` (all of them without one), keeps the
    /// others from `old`, writes the new cache and returns its index.
    private static func refresh(
        _ store: RunStore, from old: Manifest?, locations: [RunLocation], stamps: [RunStamp], startedAt: Int64,
        progress: ((Int, Int) -> Void)?
    ) -> RunIndex {
        // Which runs to keep: unchanged since `old` read them, and not changed too recently to tell.
        var keep: [Int?] = Array(repeating: nil, count: locations.count)
        var oldCodes: Manifest.KeyCodeLists?
        if let old {
            var positions: [RunLocation: Int] = [:]
            for (position, run) in old.runs.enumerated() { positions[run.location] = position }
            for (position, location) in locations.enumerated() {
                if let oldPosition = positions[location], old.runs[oldPosition].stamp == stamps[position], !old.runs[oldPosition].racy {
                    keep[position] = oldPosition
                }
            }
            if keep.contains(where: { $0 != nil }) { oldCodes = try? old.keyCodes() }
        }
        let freshPositions = locations.indices.filter { oldCodes == nil || keep[$0] == nil }
        let reading = IndexReading.read(
            store, freshPositions.map { locations[$0] }, stamps: freshPositions.map { stamps[$0] }, progress: progress)
        var combined: [CachedRun] = []
        var freshCount = 0
        let oldRows = oldCodes == nil ? [] : old?.runsTableRows ?? []
        for position in locations.indices {
            if let oldPosition = keep[position], let old, let oldCodes {
                var run = old.runs[oldPosition]
                run.configCodes = oldCodes.config[oldPosition]
                run.summaryCodes = oldCodes.summary[oldPosition]
                run.historyCodes = oldCodes.history[oldPosition]
                run.oldPosition = oldPosition
                run.oldRow = oldRows[oldPosition]
                combined.append(run)
            } else {
                combined.append(CachedRun(reading.runs[freshCount], racy: stamps[position].isRacy(before: startedAt)))
                freshCount += 1
            }
        }
        guard let old, combined.contains(where: { !$0.isFresh }) else {
            // Everything read now: the index is in memory; cache it as one segment.
            let (index, columns) = reading.finish()
            var start = 0
            var configPositions = Dictionary(index.runs.configKeys.entries.enumerated().map { ($1.path, $0) }, uniquingKeysWith: { first, _ in first })
            var summaryPositions = Dictionary(index.runs.summaryKeys.entries.enumerated().map { ($1.path, $0) }, uniquingKeysWith: { first, _ in first })
            var configPaths = index.runs.configKeys.entries.map(\.path)
            var summaryPaths = index.runs.summaryKeys.entries.map(\.path)
            var sourceIndex = 0
            for position in combined.indices {
                combined[position].segment = 0
                combined[position].start = start
                start += combined[position].rows
                if let parsed = combined[position].sources?.parsed {
                    combined[position].sourceIndex = sourceIndex
                    sourceIndex += 1
                    combined[position].configCodes = KeyCodes.codes(of: parsed.config, positions: &configPositions, paths: &configPaths)
                    combined[position].summaryCodes = KeyCodes.codes(of: parsed.summary, positions: &summaryPositions, paths: &summaryPaths)
                }
            }
            let segment = SegmentSource.new(columns: columns, rows: start, runs: combined.compactMap(\.segmentRun))
            _ = try? write(store, parts: IndexParts(runs: combined, historySpace: []), table: index.runs, segments: [segment], replacing: old)
            return index
        }
        return refreshed(store, old: old, oldCodes: oldCodes, combined: combined, reading: reading)
    }

    /// The index of kept and freshly read runs: the fresh runs' history goes to a new segment, and
    /// the runs table is the old one's rows of kept runs with the fresh runs' rows put in place.
    private static func refreshed(
        _ store: RunStore, old: Manifest, oldCodes: Manifest.KeyCodeLists?, combined: consuming [CachedRun], reading: IndexReading
    ) -> RunIndex {
        let unchanged = unchangedColumns(old: old, oldCodes: oldCodes, combined: combined)
        let freshColumns = reading.historyColumns()
        let freshRows = reading.historyRunRows.count
        // Segments still in use, renumbered, then the new one.
        var used: [Int: Int] = [:]
        var segments: [SegmentSource] = []
        for run in copy combined where !run.isFresh && !run.skipped {
            if used[run.segment] == nil {
                used[run.segment] = segments.count
                segments.append(.existing(old.segments[run.segment]))
            }
        }
        var start = 0
        var freshRuns: [SegmentRun] = []
        let newSegment = segments.count
        for position in combined.indices {
            if combined[position].isFresh {
                combined[position].segment = newSegment
                combined[position].start = start
                combined[position].sourceIndex = freshRuns.count
                start += combined[position].rows
                if let run = combined[position].segmentRun { freshRuns.append(run) }
            } else if let renumbered = used[combined[position].segment] {
                combined[position].segment = renumbered
            } else {
                combined[position].segment = 0
            }
        }
        if !freshRuns.isEmpty { segments.append(.new(columns: freshColumns, rows: freshRows, runs: freshRuns)) }
        let damage = CacheDamage()
        let table = patchedRunsTable(old: old, combined: &combined, damage: damage)
        let parts = IndexParts(runs: copy combined, historySpace: old.historyNames)
        // More dead rows than live ones: rewrite the history as one segment. Too many segments:
        // merge all but the largest into one (the largest is most of the history, and stays).
        let liveRows = combined.reduce(0) { $0 + $1.rows }
        let storedRows = segments.reduce(0) { $0 + $1.rows }
        if segments.count > maxSegments, storedRows <= 2 * liveRows {
            return merged(store, old: old, combined: combined, segments: segments, table: table, unchanged: unchanged, damage: damage)
        }
        if segments.count > maxSegments || storedRows > 2 * liveRows {
            let index = parts.index(table: table, segments: segments.map(\.reader), damage: damage)
            let columns = index.history.columnNames.dropFirst().map { (name: $0, column: index.history.column($0) ?? Column.constant(.null, count: liveRows)) }
            // The one new segment keeps every run's files: those of kept runs come from the old segments.
            guard !index.isDamaged, let oldSources = try? old.sources() else { return build(store) }
            for position in combined.indices {
                if let oldPosition = combined[position].oldPosition {
                    combined[position].sources = oldSources.runs[oldPosition]
                    combined[position].historyKeys = oldSources.historyKeys[oldPosition]
                }
            }
            var start = 0
            var sourceIndex = 0
            for position in combined.indices {
                combined[position].segment = 0
                combined[position].start = start
                start += combined[position].rows
                if !combined[position].skipped {
                    combined[position].sourceIndex = sourceIndex
                    sourceIndex += 1
                }
            }
            let segment = SegmentSource.new(columns: columns, rows: liveRows, runs: combined.compactMap(\.segmentRun))
            let compacted = IndexParts(runs: copy combined, historySpace: old.historyNames)
            _ = try? write(store, parts: compacted, table: table, segments: [segment], replacing: old, unchanged: unchanged)
            return compacted.index(table: table, columns: columns)
        }
        let written = try? write(store, parts: parts, table: table, segments: segments, replacing: old, unchanged: unchanged)
        let readers = written ?? segments.map(\.reader)
        // Writing read every old column; one that was damaged makes this index untrustworthy.
        return damage.error == nil ? parts.index(table: table, segments: readers, damage: damage) : build(store)
    }

    /// The index after a refresh whose history is in too many segments: the runs of every segment
    /// but the largest are put together, in runs-table order, into one new segment (their rows
    /// and files copied from where they are); the largest segment is kept as it is.
    private static func merged(
        _ store: RunStore, old: Manifest, combined: consuming [CachedRun], segments: [SegmentSource], table: RunsTable,
        unchanged: Set<[String]>, damage: CacheDamage
    ) -> RunIndex {
        guard let largest = segments.indices.max(by: { segments[$0].rows < segments[$1].rows }) else { return build(store) }
        let readers = segments.map(\.reader)
        let names = IndexParts(runs: copy combined, historySpace: old.historyNames).historyNames
        var movedRows = 0
        var movedRuns: [SegmentRun] = []
        var runsOfSegment: [Int: [SegmentRun]] = [:]
        var pieces: [(segment: Int, range: Range<Int>)] = []
        do {
            for position in combined.indices {
                let run = combined[position]
                guard !run.skipped, run.segment != largest else {
                    combined[position].segment = 0
                    continue
                }
                let inSegment = try runsOfSegment[run.segment] ?? readers[run.segment].runs()
                runsOfSegment[run.segment] = inSegment
                guard run.sourceIndex < inSegment.count else { return build(store) }
                movedRuns.append(inSegment[run.sourceIndex])
                pieces.append((run.segment, run.start..<(run.start + run.rows)))
                combined[position].segment = 1
                combined[position].start = movedRows
                combined[position].sourceIndex = movedRuns.count - 1
                movedRows += run.rows
            }
            let columns = try names.map { name in
                let columnOfSegment = try Set(pieces.map(\.segment)).reduce(into: [Int: Column]()) { columns, segment in
                    columns[segment] = try readers[segment].column(name)
                }
                let parts = pieces.map { (column: columnOfSegment[$0.segment], range: $0.range) }
                return (name: name, column: HistoryAssembler.concatenate(parts, total: movedRows))
            }
            let kept = [segments[largest], .new(columns: columns, rows: movedRows, runs: movedRuns)]
            let parts = IndexParts(runs: combined, historySpace: old.historyNames)
            let written = try? write(store, parts: parts, table: table, segments: kept, replacing: old, unchanged: unchanged)
            return damage.error == nil ? parts.index(table: table, segments: written ?? kept.map(\.reader), damage: damage) : build(store)
        } catch {
            return build(store)
        }
    }

    /// The runs-table columns a refresh leaves as they were, to be copied from the old manifest
    /// rather than made again. When the same runs are listed in the same order and every fresh
    /// run only grew or rewrote its history (its folder, so `run.json`, `config.json` and
    /// `summary.json`, unchanged since a stamp that was not racy), that is every column but the
    /// summary columns of the history keys those runs log or logged.
    private static func unchangedColumns(old: Manifest, oldCodes: Manifest.KeyCodeLists?, combined: [CachedRun]) -> Set<[String]> {
        guard let oldCodes, combined.count == old.runs.count else { return [] }
        var changedKeys = Set<String>()
        for (position, run) in combined.enumerated() {
            let before = old.runs[position]
            guard run.location == before.location, run.skipped == before.skipped else { return [] }
            guard run.isFresh else { continue }
            guard !before.racy, run.stamp.folderInode == before.stamp.folderInode, run.stamp.folderTime == before.stamp.folderTime,
                position < oldCodes.history.count
            else { return [] }
            for key in run.historyKeys { changedKeys.insert(key.name) }
            for code in oldCodes.history[position] {
                let name = Int(code >> 8)
                guard name < old.historyNames.count else { return [] }
                changedKeys.insert(old.historyNames[name])
            }
        }
        return Set(old.columnKeys.filter { key in !(key.count > 1 && key[0] == "summary" && changedKeys.contains(key[1])) })
    }

    /// The runs table after a refresh, made column by column from the old table's rows of the
    /// kept runs and a table of the fresh runs (each column as a build would make it from all
    /// runs); the key catalogs from the runs' key codes, which are renumbered to them.
    private static func patchedRunsTable(old: Manifest, combined: inout [CachedRun], damage: CacheDamage) -> RunsTable {
        let oldTable = old.runsTable(damage: damage)
        let kept = combined.indices.filter { !combined[$0].skipped }
        let freshSources = kept.compactMap { combined[$0].isFresh ? combined[$0].sources?.parsed : nil }
        let freshTable = RunsTable(metadata: freshSources.map(\.metadata), configs: freshSources.map(\.config), summaries: freshSources.map(\.summary))
        // Catalogs: old paths first, then the fresh runs' new ones.
        var catalogs: [KeyCatalog] = []
        for summary in [false, true] {
            let oldCatalog = summary ? old.summaryKeys : old.configKeys
            var paths = oldCatalog.entries.map(\.path)
            var positions = Dictionary(paths.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
            var codes: [[UInt32]] = []
            for position in kept {
                if let parsed = combined[position].sources?.parsed {
                    codes.append(KeyCodes.codes(of: summary ? parsed.summary : parsed.config, positions: &positions, paths: &paths))
                } else {
                    codes.append(summary ? combined[position].summaryCodes : combined[position].configCodes)
                }
            }
            let (catalog, renumbered) = KeyCodes.catalog(paths: paths, runs: codes)
            for (offset, position) in kept.enumerated() {
                if summary { combined[position].summaryCodes = renumbered[offset] } else { combined[position].configCodes = renumbered[offset] }
            }
            catalogs.append(catalog)
        }
        // Each row's source: a row of the old table or of the fresh one; consecutive rows of one source merged.
        var pieces: [(fresh: Bool, range: Range<Int>)] = []
        var freshRow = 0
        var ids: [String] = []
        for position in kept {
            let run = combined[position]
            let row: (fresh: Bool, index: Int)
            if run.isFresh {
                row = (true, freshRow)
                ids.append(freshTable.ids[freshRow])
                freshRow += 1
            } else {
                row = (false, run.oldRow ?? 0)
                ids.append(oldTable.ids[run.oldRow ?? 0])
            }
            if let last = pieces.last, last.fresh == row.fresh, last.range.upperBound == row.index {
                pieces[pieces.count - 1].range = last.range.lowerBound..<(row.index + 1)
            } else {
                pieces.append((row.fresh, row.index..<(row.index + 1)))
            }
        }
        let runSources = kept.map { (oldPosition: combined[$0].oldPosition, sources: combined[$0].sources) }
        let objects = ObjectsOnDemand {
            let oldSources = runSources.contains { $0.sources == nil } ? try old.sources().runs : []
            return try runSources.map { run in
                guard let sources = run.sources ?? run.oldPosition.flatMap({ oldSources[$0] }) else {
                    throw IndexCacheError("a kept run's files are missing from its segment")
                }
                return sources
            }
        }
        let table = RunsTable(count: kept.count, ids: ids, configKeys: catalogs[0], summaryKeys: catalogs[1]) { [pieces, catalogs] key in
            if objects.isMadeFromObjects(key, configKeys: catalogs[0], summaryKeys: catalogs[1]) {
                do {
                    return try objects.column(key)
                } catch {
                    damage.record(error)
                    return Column.constant(.null, count: kept.count)
                }
            }
            let parts = pieces.map { piece in (column: Optional(piece.fresh ? freshTable.column(key: key) : oldTable.column(key: key)), range: piece.range) }
            var column = HistoryAssembler.concatenate(parts, total: kept.count)
            guard key.first == "builtin" else { return column }
            if column.type == .null, let declared = parts.lazy.compactMap({ $0.column?.type }).first(where: { $0 != .null }) { column.type = declared }
            return RunsTable.dictionaryEncoded(column)
        }
        return table
    }

    /// Writes new segments, then the manifest (temporary name, fsync, rename), then removes
    /// segments no manifest can need any more. Returns the segments as readers of the files.
    @discardableResult
    private static func write(
        _ store: RunStore, parts: IndexParts, table: RunsTable, segments: [SegmentSource], replacing old: Manifest?, unchanged: Set<[String]> = []
    ) throws -> [SegmentReader] {
        let directory = store.layout.index
        try FileIO.makeDirectories(directory)
        var readers: [SegmentReader] = []
        for segment in segments {
            switch segment {
            case .existing(let reader): readers.append(reader)
            case .new(let columns, let rows, let runs):
                let name = "segment-\(uniqueSuffix()).rqi"
                try SegmentReader.write(columns: columns, rows: rows, runs: runs, to: "\(directory)/\(name)")
                readers.append(try SegmentReader(directory: directory, name: name))
            }
        }
        let temporary = "\(directory)/.\(manifestName).tmp-\(uniqueSuffix())"
        try Manifest.write(parts, table: table, segments: readers.map { ($0.name, $0.rows) }, to: temporary) { key in
            unchanged.contains(key) ? old?.columnBytes(key) : nil
        }
        if rename(temporary, "\(directory)/\(manifestName)") != 0 {
            unlink(temporary)
            throw IndexCacheError("cannot replace the index cache: \(String(cString: strerror(errno)))")
        }
        let handle = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if handle >= 0 {
            fsync(handle)
            close(handle)
        }
        removeUnused(in: directory, keeping: Set(readers.map(\.name)), superseded: Set(old?.segments.map(\.name) ?? []))
        return readers
    }

    /// Removes segments the new manifest does not use: at once those the replaced manifest used;
    /// others (and temporary files) only when over a minute old, since a concurrent writer may be
    /// about to install a manifest that uses them.
    private static func removeUnused(in directory: String, keeping used: Set<String>, superseded: Set<String>) {
        let now = time(nil)
        for name in names(in: directory) where !used.contains(name) {
            let isSegment = name.hasPrefix("segment-") && name.hasSuffix(".rqi")
            let isTemporary = name.hasPrefix(".\(manifestName).tmp-")
            guard isSegment || isTemporary else { continue }
            var info = stat()
            guard stat("\(directory)/\(name)", &info) == 0 else { continue }
            if (isSegment && superseded.contains(name)) || now - info.st_mtim.tv_sec > 60 {
                unlink("\(directory)/\(name)")
            }
        }
    }

    /// Every name in `directory`, hidden ones included.
    private static func names(in directory: String) -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in String(cString: raw.bindMemory(to: CChar.self).baseAddress!) }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    private static func uniqueSuffix() -> String {
        String(UInt64(getpid()), radix: 16) + "-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
    }

    static func wallClockNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}

// MARK: Stamps

/// What a run folder was when the index read it, to tell whether the run changed since: the
/// folder's inode and modification time, and `history.jsonl`'s inode, size and modification time
/// (nanoseconds; zeros for a missing file).
///
/// The folder's time changes whenever a file in it is created, renamed or removed, which is how
/// every write of `run.json`, `config.json` and `summary.json` happens (a temporary file renamed
/// over the old one); `history.jsonl` is appended in place, so its own stamp is kept. Two stats a
/// run: the whole store's stamps are taken on every core.
struct RunStamp: Equatable, Sendable {
    var folderInode: Int64 = 0
    var folderTime: Int64 = 0
    var historyInode: Int64 = 0
    var historySize: Int64 = 0
    var historyTime: Int64 = 0

    static let fieldCount = 5

    var fields: [Int64] { [folderInode, folderTime, historyInode, historySize, historyTime] }

    init() {}

    init(fields: some Collection<Int64>) {
        var values = fields.makeIterator()
        folderInode = values.next() ?? 0
        folderTime = values.next() ?? 0
        historyInode = values.next() ?? 0
        historySize = values.next() ?? 0
        historyTime = values.next() ?? 0
    }

    /// The stamps of `locations`' folders in `store`.
    static func of(_ store: RunStore, _ locations: [RunLocation]) -> [RunStamp] {
        var stamps = [RunStamp](repeating: RunStamp(), count: locations.count)
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8, locations.count / 512))
        stamps.withUnsafeMutableBufferPointer { buffer in
            let output = UncheckedBuffer(buffer)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                var directory: (entity: String, project: String, descriptor: Int32)?
                defer { if let directory { close(directory.descriptor) } }
                for position in (worker * locations.count / workers)..<((worker + 1) * locations.count / workers) {
                    let location = locations[position]
                    if directory?.entity != location.entity || directory?.project != location.project {
                        if let directory { close(directory.descriptor) }
                        let descriptor = open(store.layout.runs(location.entity, location.project), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                        directory = (location.entity, location.project, descriptor)
                    }
                    output.buffer[position] = of(StoreLayout.encode(location.id), in: directory?.descriptor ?? -1)
                }
            }
        }
        return stamps
    }

    /// The stamp of the run folder `name` inside the open folder `directory`.
    static func of(_ name: String, in directory: Int32) -> RunStamp {
        var stamp = RunStamp()
        var info = stat()
        if fstatat(directory, name, &info, 0) == 0 {
            stamp.folderInode = Int64(info.st_ino)
            stamp.folderTime = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        }
        if fstatat(directory, "\(name)/\(RunFile.history.rawValue)", &info, 0) == 0 {
            stamp.historyInode = Int64(info.st_ino)
            stamp.historySize = Int64(info.st_size)
            stamp.historyTime = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        }
        return stamp
    }

    /// Whether the folder or the history changed so shortly before `time` (wall clock, ns) that a
    /// further change could leave the same stamp (file systems' clocks are coarse): such a run is
    /// read again next time.
    func isRacy(before time: Int64) -> Bool {
        max(folderTime, historyTime) >= time - 2_000_000_000
    }
}

/// A value computed on another thread, waited for by `result()`.
private final class Background<Result: Sendable>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var value: Result?

    init(_ work: @escaping @Sendable () -> Result) {
        Thread.detachNewThread { [self] in
            value = work()
            done.signal()
        }
    }

    /// Waits for the work to finish (once) and returns what it computed.
    func result() -> Result {
        done.wait()
        guard let value else { preconditionFailure("the background work signalled without a result") }
        return value
    }
}

/// A buffer written at disjoint positions by concurrent workers.
private struct UncheckedBuffer<Element>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Element>

    init(_ buffer: UnsafeMutableBufferPointer<Element>) {
        self.buffer = buffer
    }
}

// MARK: Runs as the cache records them

/// One run in the manifest: where it is, what its files were, and where its history rows are.
struct CachedRun {
    var location: RunLocation
    var stamp: RunStamp
    /// Read so shortly after a change that it is read again next time (see `RunStamp.isRacy`).
    var racy: Bool
    var skipped: Bool
    var warnings: [String]
    /// Its history rows: `rows` rows from `start` in segment `segment`.
    var segment = 0
    var start = 0
    var rows: Int
    var historyKeys: [(name: String, typeNames: Set<String>)]
    /// Its files (read now, or kept in the manifest's sources); nil for a skipped run.
    var sources: RunSources?
    /// Whether it was read from the store by this refresh (its rows are in the new segment).
    var isFresh = false
    /// Its position among the runs of segment `segment` (which keeps its files).
    var sourceIndex = 0
    /// For a run kept from the old manifest: its position there and its row in the old runs table.
    var oldPosition: Int?
    var oldRow: Int?
    /// The history keys it logged as `KeyCodes.history` codes over some list of names.
    var historyCodes: [UInt32] = []
    /// The config and summary paths it holds, in `KeyCatalog.add` order, as `KeyCodes` of the
    /// catalogs they are written with.
    var configCodes: [UInt32] = []
    var summaryCodes: [UInt32] = []

    /// The run as a segment keeps it (nil for a skipped run).
    var segmentRun: SegmentRun? { sources.map { SegmentRun(sources: $0, historyKeys: historyKeys) } }

    init(location: RunLocation, stamp: RunStamp, racy: Bool, skipped: Bool, warnings: [String], segment: Int, start: Int, rows: Int,
         historyKeys: [(name: String, typeNames: Set<String>)]) {
        self.location = location
        self.stamp = stamp
        self.racy = racy
        self.skipped = skipped
        self.warnings = warnings
        self.segment = segment
        self.start = start
        self.rows = rows
        self.historyKeys = historyKeys
    }

    init(_ read: ReadRun, racy: Bool) {
        self.init(
            location: read.location, stamp: read.stamp ?? RunStamp(), racy: racy, skipped: read.skipped, warnings: read.warnings,
            segment: 0, start: 0, rows: read.rows, historyKeys: read.historyKeys)
        if let metadata = read.metadata {
            sources = RunSources(
                metadataBytes: read.metadataBytes, configBytes: read.configBytes, summaryBytes: Array(JSONWriter.compact(.object(read.summary)).utf8),
                parsed: (metadata, read.config, read.summary))
        }
        isFresh = true
    }
}

/// A run's files as the manifest keeps them (`run.json` and `config.json` as read, the effective
/// summary as compact JSON), parsed when the run was read now.
final class RunSources: @unchecked Sendable {
    let metadataBytes: [UInt8]
    let configBytes: [UInt8]
    let summaryBytes: [UInt8]
    let parsed: (metadata: RunMetadata, config: JSONObject, summary: JSONObject)?

    init(metadataBytes: [UInt8], configBytes: [UInt8], summaryBytes: [UInt8], parsed: (metadata: RunMetadata, config: JSONObject, summary: JSONObject)?) {
        self.metadataBytes = metadataBytes
        self.configBytes = configBytes
        self.summaryBytes = summaryBytes
        self.parsed = parsed
    }

    /// The run's config or effective summary.
    func object(summary: Bool) throws -> JSONObject {
        if let parsed { return summary ? parsed.summary : parsed.config }
        let bytes = summary ? summaryBytes : configBytes
        if bytes.isEmpty { return [:] }
        return try IndexReading.object(bytes, path: summary ? "summary" : "config.json")
    }
}

/// The runs' config and summary objects, parsed from their sources the first time a column made
/// from them is asked for (the whole objects, and paths that hold objects).
final class ObjectsOnDemand: @unchecked Sendable {
    private let lock = NSLock()
    private var parsed: (configs: [JSONObject], summaries: [JSONObject])?
    private let sources: () throws -> [RunSources]

    init(_ sources: @escaping () throws -> [RunSources]) {
        self.sources = sources
    }

    func isMadeFromObjects(_ key: [String], configKeys: KeyCatalog, summaryKeys: KeyCatalog) -> Bool {
        switch key.first {
        case "builtin": return key == ["builtin", "config"] || key == ["builtin", "summary"]
        case "config": return configKeys.entry(Array(key.dropFirst()))?.isObject ?? false
        case "summary": return summaryKeys.entry(Array(key.dropFirst()))?.isObject ?? false
        default: return false
        }
    }

    func column(_ key: [String]) throws -> Column {
        let objects = try lock.withLock {
            if let parsed { return parsed }
            let runs = try sources()
            let made = (configs: try runs.map { try $0.object(summary: false) }, summaries: try runs.map { try $0.object(summary: true) })
            parsed = made
            return made
        }
        return RunsTable.columnFromObjects(key, configs: objects.configs, summaries: objects.summaries)
    }
}

/// A config or summary path a run holds, as one number: the path's position in its catalog
/// times 256, plus the position of the value's type name in `names`.
enum KeyCodes {
    static let names = ["null", "bool", "int", "float", "string", "list", "object"]

    /// A set of type names as bits (bit `i` for `names[i]`).
    static func mask(_ typeNames: Set<String>) -> UInt32 {
        names.enumerated().reduce(0) { typeNames.contains($1.element) ? $0 | 1 << UInt32($1.offset) : $0 }
    }

    /// The history key catalog and column names (`_step`, `_timestamp`, `_runtime`, then keys in
    /// first-logged order) that runs' history codes (name position · 256 + type mask) over `names`
    /// make, as a build reading them in order would; and the codes renumbered to the column names.
    static func history(names: [String], runs: [[UInt32]]) -> (catalog: KeyCatalog, names: [String], renumbered: [[UInt32]]) {
        var columnNames = ["_step", "_timestamp", "_runtime"]
        var columnPositions = [Int?](repeating: nil, count: names.count)
        for (position, name) in names.enumerated() {
            if let builtin = columnNames.firstIndex(of: name) { columnPositions[position] = builtin }
        }
        var catalogOrder: [Int] = []
        var runCounts = [Int](repeating: 0, count: names.count)
        var typeCounts = [[Int]](repeating: [Int](repeating: 0, count: Self.names.count), count: names.count)
        for codes in runs {
            for code in codes {
                let position = Int(code >> 8)
                if columnPositions[position] == nil {
                    columnPositions[position] = columnNames.count
                    columnNames.append(names[position])
                }
                let mask = code & 0xFF
                guard mask != 0 else { continue }
                if runCounts[position] == 0 { catalogOrder.append(position) }
                runCounts[position] += 1
                for type in Self.names.indices where mask & 1 << UInt32(type) != 0 { typeCounts[position][type] += 1 }
            }
        }
        let entries = catalogOrder.map { position in
            var types: [String: Int] = [:]
            for (type, count) in typeCounts[position].enumerated() where count > 0 { types[Self.names[type]] = count }
            return KeyCatalog.Entry(path: [names[position]], runs: runCounts[position], types: types)
        }
        let renumbered = runs.map { $0.map { UInt32(columnPositions[Int($0 >> 8)] ?? 0) << 8 | ($0 & 0xFF) } }
        return (KeyCatalog(entries: entries), columnNames, renumbered)
    }

    /// The codes of `object`'s paths in `KeyCatalog.add` order; paths not yet in `positions` are added to it and to `paths`.
    static func codes(of object: JSONObject, positions: inout [[String]: Int], paths: inout [[String]]) -> [UInt32] {
        var codes: [UInt32] = []
        func walk(_ object: JSONObject, _ prefix: [String]) {
            for (key, value) in object {
                let path = prefix + [key]
                let position = positions[path] ?? {
                    positions[path] = paths.count
                    paths.append(path)
                    return paths.count - 1
                }()
                codes.append(UInt32(position) << 8 | UInt32(names.firstIndex(of: value.typeName) ?? 0))
                if case .object(let inner) = value { walk(inner, path) }
            }
        }
        walk(object, [])
        return codes
    }

    /// The catalog the runs' codes (over `paths`) make, in the order `KeyCatalog.add` over each run
    /// in turn would make it, and each run's codes renumbered to it.
    static func catalog(paths: [[String]], runs: [[UInt32]]) -> (catalog: KeyCatalog, codes: [[UInt32]]) {
        var firstSeen = [(run: Int, member: Int)?](repeating: nil, count: paths.count)
        var runCounts = [Int](repeating: 0, count: paths.count)
        var typeCounts = [[Int]](repeating: [Int](repeating: 0, count: names.count), count: paths.count)
        for (run, codes) in runs.enumerated() {
            for (member, code) in codes.enumerated() {
                let position = Int(code >> 8)
                if firstSeen[position] == nil { firstSeen[position] = (run, member) }
                runCounts[position] += 1
                typeCounts[position][Int(code & 0xFF)] += 1
            }
        }
        let order = paths.indices.compactMap { position in firstSeen[position].map { (position, $0.run, $0.member) } }
            .sorted { ($0.1, $0.2) < ($1.1, $1.2) }.map(\.0)
        var renumbered = [UInt32](repeating: 0, count: paths.count)
        for (newPosition, position) in order.enumerated() { renumbered[position] = UInt32(newPosition) }
        let entries = order.map { position in
            var types: [String: Int] = [:]
            for (type, count) in typeCounts[position].enumerated() where count > 0 { types[names[type]] = count }
            return KeyCatalog.Entry(path: paths[position], runs: runCounts[position], types: types)
        }
        let codes = runs.map { $0.map { renumbered[Int($0 >> 8)] << 8 | ($0 & 0xFF) } }
        return (KeyCatalog(entries: entries), codes)
    }
}

/// The runs of an index (kept and fresh), assembled into its tables.
struct IndexParts {
    let runs: [CachedRun]
    /// The runs that were read (skipped ones have no rows).
    let kept: [CachedRun]
    /// The history key catalog and column names (without `run_id`), as a build reading the runs
    /// in order makes them.
    let historyCatalog: KeyCatalog
    let historyNames: [String]

    /// The parts of these runs, the history catalog and column names made from their history keys
    /// (kept runs' codes over `historySpace`, fresh runs' keys), every run's codes renumbered to the names.
    init(runs: consuming [CachedRun], historySpace: [String]) {
        var space = historySpace
        var positions = Dictionary(space.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        for position in runs.indices where runs[position].isFresh {
            runs[position].historyCodes = runs[position].historyKeys.map { key in
                let index = positions[key.name] ?? {
                    positions[key.name] = space.count
                    space.append(key.name)
                    return space.count - 1
                }()
                return UInt32(index) << 8 | KeyCodes.mask(key.typeNames)
            }
        }
        let history = KeyCodes.history(names: space, runs: runs.compactMap { $0.skipped ? nil : $0.historyCodes })
        historyCatalog = history.catalog
        historyNames = history.names
        let renumbered = history.renumbered
        var keptPosition = 0
        for position in runs.indices where !runs[position].skipped {
            runs[position].historyCodes = renumbered[keptPosition]
            keptPosition += 1
        }
        self.runs = runs
        self.kept = Self.kept(runs)
    }

    /// The parts a manifest recorded (its runs without their history keys).
    init(runs: [CachedRun], historyCatalog: KeyCatalog, historyNames: [String]) {
        self.runs = runs
        kept = Self.kept(runs)
        self.historyCatalog = historyCatalog
        self.historyNames = historyNames
    }

    /// The runs that were read; the same array (not a copy) when none was skipped, as is usual.
    private static func kept(_ runs: [CachedRun]) -> [CachedRun] {
        runs.contains(where: \.skipped) ? runs.filter { !$0.skipped } : runs
    }

    /// For each history row, its run's row in the runs table.
    static func runRows(_ rowCounts: [Int]) -> ContiguousArray<Int32> {
        var rows = ContiguousArray<Int32>()
        rows.reserveCapacity(rowCounts.reduce(0, +))
        for (position, count) in rowCounts.enumerated() { rows.append(contentsOf: repeatElement(Int32(position), count: count)) }
        return rows
    }

    /// The index with history columns read from `segments` on first use.
    func index(table: RunsTable, segments: [SegmentReader], damage: CacheDamage) -> RunIndex {
        let rowCounts = kept.map(\.rows)
        let total = rowCounts.reduce(0, +)
        let assembler = HistoryAssembler(segments: segments, pieces: kept.map { (segment: $0.segment, start: $0.start, rows: $0.rows) }, total: total)
        let ids = table.ids
        let storage = HistoryColumns(
            makeColumn: { name in
                if name == "run_id" { return HistoryColumns.runIDColumn(runRows: IndexParts.runRows(rowCounts), ids: ids) }
                do {
                    return try assembler.column(name)
                } catch {
                    damage.record(error)
                    return Column.constant(.null, count: total)
                }
            },
            makeRunRows: { IndexParts.runRows(rowCounts) })
        let history = HistoryTable(count: total, keys: historyCatalog, columnNames: ["run_id"] + historyNames, storage: storage)
        return RunIndex(runs: table, history: history, warnings: runs.flatMap(\.warnings), damage: damage)
    }

    /// The index with history columns already in memory.
    func index(table: RunsTable, columns: [(name: String, column: Column)]) -> RunIndex {
        let runRows = Self.runRows(kept.map(\.rows))
        let history = HistoryTable(count: runRows.count, keys: historyCatalog, columnNames: ["run_id"] + historyNames,
                                   storage: HistoryColumns(runRows: runRows, ids: table.ids, columns: columns))
        return RunIndex(runs: table, history: history, warnings: runs.flatMap(\.warnings))
    }
}

extension CachedRun: @unchecked Sendable {}

// MARK: History segments

/// A history segment to be part of a manifest: one already on disk, or columns to write.
enum SegmentSource {
    case existing(SegmentReader)
    case new(columns: [(name: String, column: Column)], rows: Int, runs: [SegmentRun])

    var rows: Int {
        switch self {
        case .existing(let reader): return reader.rows
        case .new(_, let rows, _): return rows
        }
    }

    /// The segment as a reader (only for existing ones; new ones are read after they are written).
    var reader: SegmentReader {
        switch self {
        case .existing(let reader): return reader
        case .new(let columns, let rows, let runs): return SegmentReader(inMemory: columns, rows: rows, runs: runs)
        }
    }
}

/// A run as a segment keeps it: its files and the history keys it logged.
struct SegmentRun: @unchecked Sendable {
    var sources: RunSources
    var historyKeys: [(name: String, typeNames: Set<String>)]
}

/// A history segment file: section 0 holds the row count, the column names and the run count;
/// section 1 the runs' files and history keys; section `i + 2` is column `i`.
final class SegmentReader: Sendable {
    let name: String
    let rows: Int
    let runCount: Int
    private let file: CacheFile?
    private let sections: [String: Int]
    private let memory: [String: Column]
    private let memoryRuns: [SegmentRun]

    init(directory: String, name: String) throws {
        self.name = name
        let file = try CacheFile(path: "\(directory)/\(name)", kind: .segment)
        let head = try file.section(0)
        (rows, runCount, sections) = try head.withUnsafeBytes { bytes in
            var reader = ByteReader(bytes)
            let rows = try reader.int()
            let names = try reader.strings()
            let runCount = try reader.int()
            guard names.count + 2 == file.sectionCount else { throw IndexCacheError("\(name): its columns do not match its sections") }
            return (rows, runCount, Dictionary(names.enumerated().map { ($1, $0 + 2) }, uniquingKeysWith: { first, _ in first }))
        }
        self.file = file
        memory = [:]
        memoryRuns = []
    }

    init(inMemory columns: [(name: String, column: Column)], rows: Int, runs: [SegmentRun]) {
        name = ""
        self.rows = rows
        runCount = runs.count
        file = nil
        sections = [:]
        memory = Dictionary(columns.map { ($0.name, $0.column) }, uniquingKeysWith: { first, _ in first })
        memoryRuns = runs
    }

    /// The column `name` of this segment, nil when none of its runs logged it.
    func column(_ name: String) throws -> Column? {
        if let file {
            guard let section = sections[name] else { return nil }
            let column = try file.section(section).withUnsafeBytes { bytes in
                var reader = ByteReader(bytes)
                return try ColumnCodec.decode(&reader)
            }
            guard column.count == rows else { throw IndexCacheError("\(self.name): column \(name) has \(column.count) rows, not \(rows)") }
            return column
        }
        return memory[name]
    }

    /// The files and history keys of the segment's runs, in the order they were written.
    func runs() throws -> [SegmentRun] {
        guard let file else { return memoryRuns }
        return try file.section(1).withUnsafeBytes { bytes in
            var reader = ByteReader(bytes)
            return try (0..<runCount).map { _ in
                let metadataBytes = Array(try reader.blob())
                let configBytes = Array(try reader.blob())
                let summaryBytes = Array(try reader.blob())
                let keyCount = Int(try reader.u32())
                var keys: [(name: String, typeNames: Set<String>)] = []
                for _ in 0..<keyCount { keys.append((try reader.string(), Set(try reader.strings()))) }
                return SegmentRun(sources: RunSources(metadataBytes: metadataBytes, configBytes: configBytes, summaryBytes: summaryBytes, parsed: nil), historyKeys: keys)
            }
        }
    }

    static func write(columns: [(name: String, column: Column)], rows: Int, runs: [SegmentRun], to path: String) throws {
        var head = ByteWriter()
        head.int(rows)
        head.strings(columns.map(\.name))
        head.int(runs.count)
        try CacheContainer.write(count: columns.count + 2, kind: .segment, to: path) { index in
            switch index {
            case 0: return head.bytes
            case 1:
                var writer = ByteWriter()
                for run in runs {
                    writer.blob(run.sources.metadataBytes)
                    writer.blob(run.sources.configBytes)
                    writer.blob(run.sources.summaryBytes)
                    writer.u32(UInt32(run.historyKeys.count))
                    for key in run.historyKeys {
                        writer.string(key.name)
                        writer.strings(key.typeNames.sorted())
                    }
                }
                return writer.bytes
            default:
                var writer = ByteWriter()
                ColumnCodec.encode(columns[index - 2].column, into: &writer)
                return writer.bytes
            }
        }
    }
}

/// Puts one history column together from the segments: each run's range, in runs-table order.
struct HistoryAssembler: Sendable {
    let segments: [SegmentReader]
    /// Ranges of consecutive rows, runs with contiguous rows in one segment merged.
    let pieces: [(segment: Int, start: Int, rows: Int)]
    let total: Int

    init(segments: [SegmentReader], pieces runs: [(segment: Int, start: Int, rows: Int)], total: Int) {
        self.segments = segments
        var merged: [(segment: Int, start: Int, rows: Int)] = []
        for run in runs where run.rows > 0 {
            if let last = merged.last, last.segment == run.segment, last.start + last.rows == run.start {
                merged[merged.count - 1].rows += run.rows
            } else {
                merged.append(run)
            }
        }
        pieces = merged
        self.total = total
    }

    func column(_ name: String) throws -> Column {
        var loaded: [Int: Column?] = [:]
        for piece in pieces where loaded[piece.segment] == nil {
            guard piece.segment < segments.count else { throw IndexCacheError("a run's history is in a segment the manifest does not list") }
            let column = try segments[piece.segment].column(name)
            guard piece.start + piece.rows <= segments[piece.segment].rows else { throw IndexCacheError("a run's history is past its segment's end") }
            loaded[piece.segment] = .some(column)
        }
        if pieces.count == 1, let only = loaded[pieces[0].segment] ?? nil, pieces[0].start == 0, pieces[0].rows == only.count {
            return only
        }
        let parts = pieces.map { (column: loaded[$0.segment] ?? nil, range: $0.start..<($0.start + $0.rows)) }
        return Self.concatenate(parts, total: total)
    }

    /// The rows of `parts` one after another, as a build reading them in this order would store them:
    /// typed when every part with a value has the same typed storage, each value boxed otherwise.
    static func concatenate(_ parts: [(column: Column?, range: Range<Int>)], total: Int) -> Column {
        enum Kind: Equatable { case bool, int, double, string, timestamp, other }
        func kind(_ column: Column) -> Kind {
            switch column.storage {
            case .bool: return .bool
            case .int: return .int
            case .double: return .double
            case .string: return .string
            case .timestamp: return .timestamp
            case .dictionary, .values: return .other
            }
        }
        func hasValue(_ column: Column, _ range: Range<Int>) -> Bool {
            guard let validity = column.validity else { return !range.isEmpty }
            return range.contains { validity[$0] }
        }
        var common: Kind?
        var mixed = false
        for part in parts {
            guard let column = part.column, hasValue(column, part.range) else { continue }
            let partKind = kind(column)
            if partKind == .other || (common != nil && common != partKind) { mixed = true }
            common = partKind
        }
        guard let common, !mixed else {
            // Nothing logged, or several types: the general path, value by value.
            var builder = ColumnBuilder()
            for part in parts {
                for row in part.range { builder.append(part.column?.value(at: row) ?? .null) }
            }
            return builder.finish()
        }
        var validity = Bitmap(count: total, value: true)
        var anyNull = false
        var position = 0
        for part in parts {
            if let column = part.column, column.validity == nil {
                position += part.range.count
                continue
            }
            for row in part.range {
                if !(part.column?.isValid(row) ?? false) {
                    validity[position] = false
                    anyNull = true
                }
                position += 1
            }
        }
        func gather<Element>(_ zero: Element, _ array: (Column) -> ContiguousArray<Element>?) -> ContiguousArray<Element> {
            var result = ContiguousArray<Element>()
            result.reserveCapacity(total)
            for part in parts {
                if let column = part.column, let values = array(column) {
                    result.append(contentsOf: values[part.range])
                } else {
                    result.append(contentsOf: repeatElement(zero, count: part.range.count))
                }
            }
            return result
        }
        let storage: Column.Storage
        let type: DataType
        switch common {
        case .bool:
            storage = .bool(gather(false) { if case .bool(let values) = $0.storage { return values } else { return nil } })
            type = .boolean
        case .int:
            storage = .int(gather(0) { if case .int(let values) = $0.storage { return values } else { return nil } })
            type = .bigint
        case .double:
            storage = .double(gather(0) { if case .double(let values) = $0.storage { return values } else { return nil } })
            type = .double
        case .string:
            storage = .string(gather("") { if case .string(let values) = $0.storage { return values } else { return nil } })
            type = .varchar
        case .timestamp, .other:
            storage = .timestamp(gather(0) { if case .timestamp(let values) = $0.storage { return values } else { return nil } })
            type = .timestamp
        }
        return Column(storage: storage, validity: anyNull ? validity : nil, type: type)
    }
}
