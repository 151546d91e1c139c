import ColumnIndex
import QuerySyntax

/// The rows of a relation in a window's order: grouped by partition (PARTITION BY), each
/// partition sorted by the ORDER BY keys (ties keep input order), with the boundaries of the
/// partitions and of the peer groups (rows equal in every ORDER BY key).
///
/// Partitions are numbered by hashing (or by dictionary code) in first-appearance order, so rows
/// already grouped by partition (history: run by run) have non-decreasing numbers and need no
/// move; rows already in ORDER BY order within each partition (history by `_step`) need no sort.
/// Both are checked with one linear pass. ORDER BY keys become `UInt64`s that compare as
/// RunQL orders values (NaN after every number in both directions, NULLS LAST unless NULLS
/// FIRST) where the column's type allows, so sorting compares integers, not boxed values.
struct WindowOrder {
    /// Row indices in window order.
    private(set) var rows: [Int]
    /// The first position of each partition in `rows`, then `rows.count`.
    private(set) var partitionBounds: [Int]
    /// Whether the row at each position starts a peer group (every partition starts one).
    private(set) var peerStarts: [Bool]

    init(partitionBy: [Column], orderBy: [(column: Column, order: BoundOrder)], count: Int, isCancelled: () -> Bool) throws {
        (rows, partitionBounds) = Self.partitioned(partitionBy, count: count)
        peerStarts = [Bool](repeating: false, count: count)
        for start in partitionBounds.dropLast() { peerStarts[start] = true }
        guard !orderBy.isEmpty else { return }
        let keys = orderBy.map { SortKey($0.column, $0.order) }
        let normalized = keys.compactMap { key -> ContiguousArray<UInt64>? in
            if case .normalized(let values) = key { return values }
            return nil
        }
        if normalized.count == 1, keys.count == 1 {
            let first = normalized[0]
            try first.withUnsafeBufferPointer { first in
                try sortPartitions(isCancelled: isCancelled) { OneKey(key: first[$0], row: $0) }
            }
        } else if normalized.count == 2, keys.count == 2 {
            let (first, second) = (normalized[0], normalized[1])
            try first.withUnsafeBufferPointer { first in
                try second.withUnsafeBufferPointer { second in
                    try sortPartitions(isCancelled: isCancelled) { TwoKeys(first: first[$0], second: second[$0], row: $0) }
                }
            }
        } else if normalized.count == keys.count {
            try sortPartitions(byFlattened: normalized, isCancelled: isCancelled)
        } else {
            try sortPartitions(by: keys, isCancelled: isCancelled)
        }
    }

    /// The partitions' rows, partition by partition (stable), and where each partition starts.
    private static func partitioned(_ keys: [Column], count: Int) -> (rows: [Int], bounds: [Int]) {
        guard let ids = partitionIDs(keys, count: count) else { return (Array(0..<count), count == 0 ? [0] : [0, count]) }
        var contiguous = true
        ids.withUnsafeBufferPointer { ids in
            for rowIndex in ids.indices.dropFirst() where ids[rowIndex] < ids[rowIndex - 1] {
                contiguous = false
                break
            }
        }
        if contiguous {
            var bounds = [0]
            for rowIndex in ids.indices.dropFirst() where ids[rowIndex] != ids[rowIndex - 1] { bounds.append(rowIndex) }
            if count > 0 { bounds.append(count) }
            return (Array(0..<count), bounds)
        }
        // A counting sort by partition number: stable, linear.
        let partitionCount = ids.max().map { Int($0) + 1 } ?? 0
        var starts = [Int](repeating: 0, count: partitionCount + 1)
        for id in ids { starts[Int(id) + 1] += 1 }
        for partition in 0..<partitionCount { starts[partition + 1] += starts[partition] }
        var next = starts
        var rows = [Int](repeating: 0, count: count)
        for (rowIndex, id) in ids.enumerated() {
            rows[next[Int(id)]] = rowIndex
            next[Int(id)] += 1
        }
        return (rows, starts)
    }

    /// Each row's partition number, in first-appearance order; nil when there is one partition.
    private static func partitionIDs(_ keys: [Column], count: Int) -> GroupIDs? {
        var combined: GroupIDs?
        for key in keys {
            let ids = Executor.groupIDs(key, rowCount: count)?.groupOfRow ?? Executor.numberedByHash(count) { key.value(at: $0) }.groupOfRow
            if let previous = combined {
                combined = Executor.numberedByHash(count) { Int64(previous[$0]) << 32 | Int64(ids[$0]) }.groupOfRow
            } else {
                combined = ids
            }
        }
        return combined
    }

    /// One or two ORDER BY keys as normalized integers: each partition's rows become entries
    /// (keys and row, compared as such: stable), sorted unless already in order, which also
    /// finds the peers. Entries sit next to each other in memory, so sorting reads no key column.
    private mutating func sortPartitions<Entry: WindowSortEntry>(isCancelled: () -> Bool, entry: (Int) -> Entry) throws {
        var entries = ContiguousArray<Entry>()
        var scratch = ContiguousArray<Entry>()
        for partition in 0..<(partitionBounds.count - 1) {
            if partition % 4096 == 4095, isCancelled() { throw Diagnostic(.interrupted, "Interrupted!") }
            let start = partitionBounds[partition]
            let end = partitionBounds[partition + 1]
            guard end - start > 1 else { continue }
            entries.removeAll(keepingCapacity: true)
            for position in start..<end { entries.append(entry(rows[position])) }
            var sorted = true
            for index in 1..<entries.count where !(entries[index - 1] < entries[index]) {
                sorted = false
                break
            }
            if !sorted {
                Self.sortInBands(&entries, scratch: &scratch)
                for (offset, sortedEntry) in entries.enumerated() { rows[start + offset] = sortedEntry.row }
            }
            for index in 1..<entries.count where !entries[index - 1].hasSameKeys(as: entries[index]) {
                peerStarts[start + index] = true
            }
        }
    }

    /// Sorts entries whose first key is the lowest or the highest possible (NULL, NULLS FIRST or
    /// LAST) apart from the rest: for a sparsely logged metric they are most of the rows, and
    /// usually in order among themselves already (then they are not sorted at all).
    private static func sortInBands<Entry: WindowSortEntry>(_ entries: inout ContiguousArray<Entry>, scratch: inout ContiguousArray<Entry>) {
        let count = entries.count
        var low = 0
        var high = 0
        entries.withUnsafeBufferPointer { entries in
            for index in 0..<count {
                let band = entries[index].band
                if band == 0 { low += 1 } else if band == 2 { high += 1 }
            }
        }
        guard low + high > 0 else {
            entries.withUnsafeMutableBufferPointer { Self.sort($0) }
            return
        }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: entries)
        entries.withUnsafeBufferPointer { entries in
            scratch.withUnsafeMutableBufferPointer { target in
                var next = (low: 0, middle: low, high: count - high)
                for index in 0..<count {
                    let entry = entries[index]
                    switch entry.band {
                    case 0:
                        target[next.low] = entry
                        next.low += 1
                    case 2:
                        target[next.high] = entry
                        next.high += 1
                    default:
                        target[next.middle] = entry
                        next.middle += 1
                    }
                }
                for (from, to) in [(0, low), (low, count - high), (count - high, count)] where to - from > 1 {
                    var band = UnsafeMutableBufferPointer(rebasing: target[from..<to])
                    var sorted = true
                    for index in 1..<band.count where !(band[index - 1] < band[index]) {
                        sorted = false
                        break
                    }
                    if !sorted { Self.sort(band) }
                }
            }
        }
        swap(&entries, &scratch)
    }

    /// Sorts entries by keys, then row: by comparisons, or for a large partition (a window over
    /// the whole history) by radix.
    private static func sort<Entry: WindowSortEntry>(_ entries: UnsafeMutableBufferPointer<Entry>) {
        var entries = entries
        if entries.count < 1 << 15 {
            entries.sort()
        } else {
            radixSort(entries)
        }
    }

    /// LSD radix sort by the keys, 16 bits a pass, the last key first; a pass whose digit is the
    /// same in every entry is skipped. Stable, so entries in row order end up ordered by keys,
    /// then row.
    private static func radixSort<Entry: WindowSortEntry>(_ entries: UnsafeMutableBufferPointer<Entry>) {
        let count = entries.count
        var other = ContiguousArray(entries)
        var counts = [Int](repeating: 0, count: 1 << 16)
        var inEntries = true
        other.withUnsafeMutableBufferPointer { other in
            counts.withUnsafeMutableBufferPointer { counts in
                for keyIndex in stride(from: Entry.keyCount - 1, through: 0, by: -1) {
                    for shift in stride(from: UInt64(0), to: 64, by: 16) {
                        let source = inEntries ? entries : other
                        let target = inEntries ? other : entries
                        @inline(__always) func digit(_ entry: Entry) -> Int { Int(truncatingIfNeeded: (entry.key(keyIndex) >> shift) & 0xFFFF) }
                        for index in 0..<counts.count { counts[index] = 0 }
                        for index in 0..<count { counts[digit(source[index])] += 1 }
                        if counts[digit(source[0])] == count { continue }
                        var offset = 0
                        for index in 0..<counts.count {
                            let bucket = counts[index]
                            counts[index] = offset
                            offset += bucket
                        }
                        for index in 0..<count {
                            let entry = source[index]
                            let bucket = digit(entry)
                            target[counts[bucket]] = entry
                            counts[bucket] += 1
                        }
                        inEntries.toggle()
                    }
                }
                if !inEntries {
                    for index in 0..<count { entries[index] = other[index] }
                }
            }
        }
    }

    /// Three or more normalized keys: laid out row by row in one array, compared key by key.
    private mutating func sortPartitions(byFlattened keys: [ContiguousArray<UInt64>], isCancelled: () -> Bool) throws {
        let width = keys.count
        var flat = ContiguousArray<UInt64>(repeating: 0, count: rows.count * width)
        for (keyIndex, key) in keys.enumerated() {
            for rowIndex in key.indices { flat[rowIndex * width + keyIndex] = key[rowIndex] }
        }
        try flat.withUnsafeBufferPointer { flat in
            /// -1, 0 or 1 as row `a`'s keys sort before, with or after row `b`'s.
            func compare(_ a: Int, _ b: Int) -> Int {
                for keyIndex in 0..<width {
                    let x = flat[a * width + keyIndex]
                    let y = flat[b * width + keyIndex]
                    if x != y { return x < y ? -1 : 1 }
                }
                return 0
            }
            try sortPartitions(isCancelled: isCancelled, compare: compare)
        }
    }

    /// Several keys (or values no integer encoding covers): compared key by key.
    private mutating func sortPartitions(by keys: [SortKey], isCancelled: () -> Bool) throws {
        try sortPartitions(isCancelled: isCancelled) { a, b in
            for key in keys {
                let outcome = key.compare(a, b)
                if outcome != 0 { return outcome }
            }
            return 0
        }
    }

    /// Sorts each partition's rows by `compare` (-1, 0, 1; ties in row order) unless they
    /// already are in order, and marks where peer groups start.
    private mutating func sortPartitions(isCancelled: () -> Bool, compare: (Int, Int) -> Int) throws {
        for partition in 0..<(partitionBounds.count - 1) {
            if partition % 4096 == 4095, isCancelled() { throw Diagnostic(.interrupted, "Interrupted!") }
            let start = partitionBounds[partition]
            let end = partitionBounds[partition + 1]
            var sorted = true
            for position in (start + 1)..<max(start + 1, end) where compare(rows[position - 1], rows[position]) > 0 {
                sorted = false
                break
            }
            if !sorted {
                rows[start..<end].sort { let outcome = compare($0, $1); return outcome != 0 ? outcome < 0 : $0 < $1 }
            }
            for position in (start + 1)..<max(start + 1, end) where compare(rows[position - 1], rows[position]) != 0 {
                peerStarts[position] = true
            }
        }
    }

    /// For each position, the end (exclusive) of its peer group.
    func peerEnds() -> [Int] {
        var ends = [Int](repeating: 0, count: rows.count)
        var end = rows.count
        for position in stride(from: rows.count - 1, through: 0, by: -1) {
            ends[position] = end
            if peerStarts[position] { end = position }
        }
        return ends
    }

    /// For each position, the start of its peer group.
    func peerStartPositions() -> [Int] {
        var starts = [Int](repeating: 0, count: rows.count)
        var start = 0
        for position in rows.indices {
            if peerStarts[position] { start = position }
            starts[position] = start
        }
        return starts
    }
}

/// One ORDER BY key of a window, ready to compare rows.
private enum SortKey {
    /// Integers whose order is the key's order (direction, NaN and NULL placement included).
    case normalized(ContiguousArray<UInt64>)
    /// Values compared with `ValueOrder`.
    case values([Value], BoundOrder)

    init(_ column: Column, _ order: BoundOrder) {
        if let keys = Self.normalize(column, descending: order.descending, nullsFirst: order.nullsFirst) {
            self = .normalized(keys)
        } else {
            self = .values(column.values, order)
        }
    }

    func compare(_ a: Int, _ b: Int) -> Int {
        switch self {
        case .normalized(let keys):
            return keys[a] < keys[b] ? -1 : keys[a] == keys[b] ? 0 : 1
        case .values(let values, let order):
            if ValueOrder.sortsBefore(values[a], values[b], descending: order.descending, nullsFirst: order.nullsFirst) { return -1 }
            if ValueOrder.sortsBefore(values[b], values[a], descending: order.descending, nullsFirst: order.nullsFirst) { return 1 }
            return 0
        }
    }

    /// The column as order-preserving integers, or nil when its values do not fit one encoding
    /// (mixed types, integers beyond 2^53 among doubles). Strings become their rank in byte order.
    ///
    /// Numbers: the IEEE bits with the sign flipped (negatives inverted) order like the numbers,
    /// from 0x000F_FFFF_FFFF_FFFF (−∞) to 0xFFF0_0000_0000_0000 (+∞), inverted for DESC; NaN is
    /// UInt64.max − 1 in both directions and NULL UInt64.max (last) or 0 (first).
    private static func normalize(_ column: Column, descending: Bool, nullsFirst: Bool) -> ContiguousArray<UInt64>? {
        let count = column.count
        let nullKey: UInt64 = nullsFirst ? 0 : .max
        let nanKey: UInt64 = .max - 1
        let signBit: UInt64 = 1 << 63
        @inline(__always) func number(_ value: Double) -> UInt64 {
            if value.isNaN { return nanKey }
            let bits = (value == 0 ? 0.0 : value).bitPattern
            let ordered = bits & signBit != 0 ? ~bits : bits | signBit
            return descending ? ~ordered : ordered
        }
        /// Keys 1…`distinct` for values ranked 0…`distinct`-1.
        @inline(__always) func ranked(_ rank: Int, of distinct: Int) -> UInt64 {
            descending ? UInt64(distinct - rank) : UInt64(rank + 1)
        }
        var keys = ContiguousArray<UInt64>(repeating: nullKey, count: count)
        switch column.storage {
        case .double(let values):
            values.withUnsafeBufferPointer { values in
                for rowIndex in 0..<count where column.isValid(rowIndex) { keys[rowIndex] = number(values[rowIndex]) }
            }
        case .int(let values), .timestamp(let values):
            var clash = false
            values.withUnsafeBufferPointer { values in
                for rowIndex in 0..<count where column.isValid(rowIndex) {
                    let ordered = UInt64(bitPattern: values[rowIndex]) ^ signBit
                    let key = descending ? ~ordered : ordered
                    if key == nullKey { clash = true }
                    keys[rowIndex] = key
                }
            }
            if clash && column.validity != nil { return nil }
        case .bool(let values):
            for rowIndex in 0..<count where column.isValid(rowIndex) { keys[rowIndex] = ranked(values[rowIndex] ? 1 : 0, of: 2) }
        case .dictionary(let codes, let dictionary):
            let strings = dictionary.strings
            let byBytes = strings.indices.sorted { ValueOrder.compareBytes(strings[$0], strings[$1]) == .less }
            var rankOfCode = [Int](repeating: 0, count: strings.count)
            var rank = -1
            for (position, code) in byBytes.enumerated() {
                if position == 0 || ValueOrder.compareBytes(strings[byBytes[position - 1]], strings[code]) != .equal { rank += 1 }
                rankOfCode[code] = rank
            }
            let distinct = rank + 1
            for rowIndex in 0..<count where column.isValid(rowIndex) { keys[rowIndex] = ranked(rankOfCode[Int(codes[rowIndex])], of: distinct) }
        case .values(let values):
            for rowIndex in 0..<count where column.isValid(rowIndex) {
                switch values[rowIndex] {
                case .null: continue
                case .double(let value): keys[rowIndex] = number(value)
                case .int(let value):
                    guard value.magnitude <= 1 << 53 else { return nil }
                    keys[rowIndex] = number(Double(value))
                default: return nil
                }
            }
        case .string(let values):
            // Each distinct string's rank in byte order.
            var codeOf: [ByteString: Int] = [:]
            var distinct: [String] = []
            var codes = [Int](repeating: 0, count: count)
            for rowIndex in 0..<count where column.isValid(rowIndex) {
                let text = ByteString(values[rowIndex])
                if let code = codeOf[text] {
                    codes[rowIndex] = code
                } else {
                    codeOf[text] = distinct.count
                    codes[rowIndex] = distinct.count
                    distinct.append(text.text)
                }
            }
            let byBytes = distinct.indices.sorted { ValueOrder.compareBytes(distinct[$0], distinct[$1]) == .less }
            var rankOfCode = [Int](repeating: 0, count: distinct.count)
            for (rank, code) in byBytes.enumerated() { rankOfCode[code] = rank }
            for rowIndex in 0..<count where column.isValid(rowIndex) { keys[rowIndex] = ranked(rankOfCode[codes[rowIndex]], of: distinct.count) }
        }
        return keys
    }
}

/// A row with its normalized ORDER BY keys, ordered by the keys and then by row (a stable order).
private protocol WindowSortEntry: Comparable {
    var row: Int { get }
    /// 0 when the first key is the lowest possible, 2 when it is the highest, else 1.
    var band: Int { get }
    /// How many keys an entry has, and each of them.
    static var keyCount: Int { get }
    func key(_ index: Int) -> UInt64
    func hasSameKeys(as other: Self) -> Bool
}

/// The band of a first key: 0 for the lowest key, 2 for the highest, else 1.
@inline(__always) private func band(of key: UInt64) -> Int {
    key == 0 ? 0 : key == .max ? 2 : 1
}

private struct OneKey: WindowSortEntry {
    var key: UInt64
    var row: Int

    static func < (lhs: OneKey, rhs: OneKey) -> Bool {
        lhs.key != rhs.key ? lhs.key < rhs.key : lhs.row < rhs.row
    }

    var band: Int { QueryEngine.band(of: key) }
    static var keyCount: Int { 1 }

    func key(_ index: Int) -> UInt64 { key }

    func hasSameKeys(as other: OneKey) -> Bool { key == other.key }
}

private struct TwoKeys: WindowSortEntry {
    var first: UInt64
    var second: UInt64
    var row: Int

    static func < (lhs: TwoKeys, rhs: TwoKeys) -> Bool {
        if lhs.first != rhs.first { return lhs.first < rhs.first }
        if lhs.second != rhs.second { return lhs.second < rhs.second }
        return lhs.row < rhs.row
    }

    var band: Int { QueryEngine.band(of: first) }
    static var keyCount: Int { 2 }

    func key(_ index: Int) -> UInt64 { index == 0 ? first : second }

    func hasSameKeys(as other: TwoKeys) -> Bool { first == other.first && second == other.second }
}
