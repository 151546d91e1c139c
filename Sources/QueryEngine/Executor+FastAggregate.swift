import ColumnIndex

/// Aggregation over typed columns without boxing: group ids from dictionary codes or integer keys,
/// accumulators as arrays indexed by group. Used when every aggregate is count, sum, avg, min,
/// max, arg_max or arg_min over plain numeric columns (no DISTINCT, ORDER BY or FILTER) and every
/// group key is a string or an integer column. The answers are
/// those of the row-at-a-time accumulators (AggregateFunction.swift), which handle everything else.
extension Executor {
    func fastAggregate(_ groupColumns: [Column], _ argumentColumns: [[Column]], _ aggregates: [BoundAggregate], rowCount: Int, names: [String]) -> Relation? {
        for (aggregate, columns) in zip(aggregates, argumentColumns) {
            guard !aggregate.distinct, aggregate.orderBy.isEmpty, aggregate.filter == nil else { return nil }
            switch aggregate.function.name {
            case "count": break
            case "sum", "avg":
                guard let column = columns.first, column.isPlainNumber else { return nil }
            case "min", "max":
                guard let column = columns.first, column.isPlainNumber || column.type == .timestamp else { return nil }
            case "arg_max", "arg_min":
                guard columns.count == 2, columns[1].isPlainNumber else { return nil }
            default: return nil
            }
        }
        if groupColumns.isEmpty, let totals = Self.wholeTotals(aggregates, argumentColumns, rowCount: rowCount) {
            return Relation(columns: totals.map { Column.from([$0]) }, names: names, count: 1)
        }
        // Group ids, in first-appearance order (as the row path numbers groups): per key, then
        // combined key by key.
        var groupOfRow = GroupIDs()
        var firstRows = [0]
        if groupColumns.isEmpty { groupOfRow = GroupIDs(repeating: 0, count: rowCount) }
        if let first = groupColumns.first {
            guard let ids = Self.groupIDs(first, rowCount: rowCount) else { return nil }
            (groupOfRow, firstRows) = ids
            for key in groupColumns.dropFirst() {
                guard let next = Self.groupIDs(key, rowCount: rowCount) else { return nil }
                let combined = groupOfRow
                (groupOfRow, firstRows) = Self.numberedByHash(rowCount) { Int64(combined[$0]) << 32 | Int64(next.groupOfRow[$0]) }
            }
        }
        let groupCount = firstRows.count
        var outputs: [Column] = []
        for key in groupColumns { outputs.append(key.gather(firstRows)) }
        for (aggregate, columns) in zip(aggregates, argumentColumns) {
            outputs.append(Self.accumulate(aggregate.function.name, columns, groupOfRow: groupOfRow, groupCount: groupCount, rowCount: rowCount))
        }
        return Relation(columns: outputs, names: names, count: groupCount)
    }

    /// Group ids of one key column (strings, dictionary-encoded or not, or integers), numbered in
    /// first-appearance order, with the first row of each group; nil for other columns.
    static func groupIDs(_ key: Column, rowCount: Int) -> (groupOfRow: GroupIDs, firstRows: [Int])? {
        var groupOfRow = GroupIDs()
        var firstRows: [Int] = []
        /// Keys that map to small integers (`slot`, below `slotCount`): a group id per slot.
        @inline(__always) func numberBySlot(_ slotCount: Int, _ slot: (Int) -> Int) {
            var groupOfSlot = GroupIDs(repeating: .max, count: slotCount)
            groupOfRow = GroupIDs(unsafeUninitializedCapacity: rowCount) { groups, initialized in
                for rowIndex in 0..<rowCount {
                    let slot = slot(rowIndex)
                    if groupOfSlot[slot] == .max {
                        groupOfSlot[slot] = UInt32(firstRows.count)
                        firstRows.append(rowIndex)
                    }
                    groups[rowIndex] = groupOfSlot[slot]
                }
                initialized = rowCount
            }
        }
        switch key.storage {
        case .dictionary(let codes, let dictionary):
            if key.validity == nil, codes.count == rowCount, let numbered = numberedAlready(codes) { return numbered }
            let nullCode = dictionary.strings.count
            numberBySlot(nullCode + 1) { key.isValid($0) ? Int(codes[$0]) : nullCode }
        case .int(let values):
            if let (low, high) = denseRange(values, key: key, rowCount: rowCount) {
                // Keys in a small range (steps, buckets, epochs): no hashing.
                let nullSlot = Int(high - low) + 1
                values.withUnsafeBufferPointer { values in
                    numberBySlot(nullSlot + 1) { key.isValid($0) ? Int(values[$0] - low) : nullSlot }
                }
            } else {
                return numberedByHash(rowCount) { key.isValid($0) ? values[$0] : nil }
            }
        case .string(let strings):
            // Hashed as values are: byte-wise, as the row path groups them.
            return numberedByHash(rowCount) { key.isValid($0) ? Value.string(strings[$0]) : nil }
        default:
            return nil
        }
        return (groupOfRow, firstRows)
    }

    /// Group ids of dictionary codes that run 0, 1, 2, … each in one stretch of rows, as the
    /// history's `run_id` does: the codes themselves, shared, not copied. Nil for other codes.
    private static func numberedAlready(_ codes: ContiguousArray<UInt32>) -> (groupOfRow: GroupIDs, firstRows: [Int])? {
        var firstRows: [Int] = []
        let inStretches = codes.withUnsafeBufferPointer { codes -> Bool in
            guard let first = codes.first, first == 0 else { return codes.isEmpty }
            firstRows.append(0)
            var current: UInt32 = 0
            for rowIndex in 1..<codes.count where codes[rowIndex] != current {
                guard codes[rowIndex] == current &+ 1 else { return false }
                current += 1
                firstRows.append(rowIndex)
            }
            return true
        }
        return inStretches ? (codes, firstRows) : nil
    }

    /// Group ids by hashing each row's key (NULL a key like any other), in first-appearance order.
    @inline(__always)
    static func numberedByHash<Key: Hashable>(_ rowCount: Int, _ keyOf: (Int) -> Key) -> (groupOfRow: GroupIDs, firstRows: [Int]) {
        var groupOfRow = GroupIDs(repeating: 0, count: rowCount)
        var firstRows: [Int] = []
        var groupOfKey: [Key: UInt32] = [:]
        for rowIndex in 0..<rowCount {
            let key = keyOf(rowIndex)
            if let known = groupOfKey[key] {
                groupOfRow[rowIndex] = known
            } else {
                let group = UInt32(firstRows.count)
                groupOfKey[key] = group
                firstRows.append(rowIndex)
                groupOfRow[rowIndex] = group
            }
        }
        return (groupOfRow, firstRows)
    }

    /// The smallest and largest valid key when they are at most a million apart (and the column
    /// has rows), else nil.
    private static func denseRange(_ values: ContiguousArray<Int64>, key: Column, rowCount: Int) -> (Int64, Int64)? {
        var low = Int64.max
        var high = Int64.min
        values.withUnsafeBufferPointer { values in
            for rowIndex in 0..<rowCount where key.isValid(rowIndex) {
                low = min(low, values[rowIndex])
                high = max(high, values[rowIndex])
            }
        }
        guard low <= high else { return nil }
        let (span, overflow) = high.subtractingReportingOverflow(low)
        return !overflow && span < 1 << 20 ? (low, high) : nil
    }

    /// count, sum and avg without GROUP BY: tight passes over the rows, one part per core for a
    /// large input; nil when another aggregate is asked for.
    private static func wholeTotals(_ aggregates: [BoundAggregate], _ argumentColumns: [[Column]], rowCount: Int) -> [Value]? {
        var totals: [Value] = []
        for (aggregate, columns) in zip(aggregates, argumentColumns) {
            let name = aggregate.function.name
            guard ["count", "sum", "avg"].contains(name) else { return nil }
            guard let column = columns.first else {
                totals.append(.int(Int64(rowCount)))  // count(*)
                continue
            }
            let sums = wholeSums(column, rowCount: rowCount)
            totals.append(name == "count" ? .int(Int64(sums.counts[0])) : sums.value(0, average: name == "avg", isInteger: column.isInteger))
        }
        return totals
    }

    /// Per-group partial results of count, sum and avg: merged part by part in row order.
    private struct Sums {
        var counts: [Int]
        var doubleSums: [Double]
        var integerSums: [Int64]
        var overflowed: [Bool]

        init(groupCount: Int) {
            counts = [Int](repeating: 0, count: groupCount)
            doubleSums = [Double](repeating: 0, count: groupCount)
            integerSums = [Int64](repeating: 0, count: groupCount)
            overflowed = [Bool](repeating: false, count: groupCount)
        }

        mutating func merge(_ later: Sums) {
            for group in counts.indices {
                counts[group] += later.counts[group]
                doubleSums[group] += later.doubleSums[group]
                let (sum, overflow) = integerSums[group].addingReportingOverflow(later.integerSums[group])
                integerSums[group] = sum
                overflowed[group] = overflowed[group] || later.overflowed[group] || overflow
            }
        }

        /// sum or avg of a group: NULL over no rows; an integer sum stays an integer unless it overflowed.
        func value(_ group: Int, average: Bool, isInteger: Bool) -> Value {
            guard counts[group] > 0 else { return .null }
            if average { return .double(doubleSums[group] / Double(counts[group])) }
            return isInteger && !overflowed[group] ? .int(integerSums[group]) : .double(doubleSums[group])
        }
    }

    /// `Sums` of one group, the whole column: the running totals stay in registers.
    private static func wholeSums(_ column: Column, rowCount: Int) -> Sums {
        let parts: [Sums] = Parallel.map(Parallel.ranges(rowCount)) { rows in
            var count = 0
            var doubleSum = 0.0
            var integerSum: Int64 = 0
            var overflowed = false
            switch column.storage {
            case .double(let values):
                values.withUnsafeBufferPointer { values in
                    forEachValidRow(column, rows) { rowIndex in
                        doubleSum += values[rowIndex]
                        count += 1
                    }
                }
            case .int(let values):
                values.withUnsafeBufferPointer { values in
                    forEachValidRow(column, rows) { rowIndex in
                        let (sum, overflow) = integerSum.addingReportingOverflow(values[rowIndex])
                        overflowed = overflowed || overflow
                        integerSum = sum
                        doubleSum += Double(values[rowIndex])
                        count += 1
                    }
                }
            default:
                forEachValidRow(column, rows) { _ in count += 1 }
            }
            var sums = Sums(groupCount: 1)
            (sums.counts[0], sums.doubleSums[0], sums.integerSums[0], sums.overflowed[0]) = (count, doubleSum, integerSum, overflowed)
            return sums
        }
        var total = parts[0]
        for part in parts.dropFirst() { total.merge(part) }
        return total
    }

    /// Valid rows counted and summed per group (`group` of a row), over the parts of the rows.
    @inline(__always)
    private static func sums(_ column: Column, rowCount: Int, groupCount: Int, group: (Int) -> Int) -> Sums {
        let parts: [Sums] = Parallel.map(Parallel.ranges(rowCount)) { rows in
            var sums = Sums(groupCount: groupCount)
            sums.counts.withUnsafeMutableBufferPointer { counts in
                sums.doubleSums.withUnsafeMutableBufferPointer { doubleSums in
                    switch column.storage {
                    case .double(let values):
                        values.withUnsafeBufferPointer { values in
                            forEachValidRow(column, rows) { rowIndex in
                                let group = group(rowIndex)
                                doubleSums[group] += values[rowIndex]
                                counts[group] += 1
                            }
                        }
                    case .int(let values):
                        sums.integerSums.withUnsafeMutableBufferPointer { integerSums in
                            sums.overflowed.withUnsafeMutableBufferPointer { overflowed in
                                values.withUnsafeBufferPointer { values in
                                    forEachValidRow(column, rows) { rowIndex in
                                        let group = group(rowIndex)
                                        let (sum, overflow) = integerSums[group].addingReportingOverflow(values[rowIndex])
                                        if overflow { overflowed[group] = true }
                                        integerSums[group] = sum
                                        doubleSums[group] += Double(values[rowIndex])
                                        counts[group] += 1
                                    }
                                }
                            }
                        }
                    default:
                        // count of any other column: its valid rows.
                        forEachValidRow(column, rows) { counts[group($0)] += 1 }
                    }
                }
            }
            return sums
        }
        var total = parts[0]
        for part in parts.dropFirst() { total.merge(part) }
        return total
    }

    /// Calls `body` with each valid row of `rows` in order, a word of the validity bitmap at a time
    /// (`rows` starts at 0 or on a multiple of 64).
    @inline(__always)
    private static func forEachValidRow(_ column: Column, _ rows: Range<Int>, _ body: (Int) -> Void) {
        guard let validity = column.validity else {
            for rowIndex in rows { body(rowIndex) }
            return
        }
        validity.withUnsafeWords { words in
            for wordIndex in (rows.lowerBound >> 6)..<((rows.upperBound + 63) >> 6) {
                let base = wordIndex << 6
                let end = min(base + 64, rows.upperBound)
                if end - base == 64, words[wordIndex] == ~0 {
                    for rowIndex in base..<end { body(rowIndex) }
                    continue
                }
                var bits = words[wordIndex]
                while bits != 0 {
                    let rowIndex = base + bits.trailingZeroBitCount
                    if rowIndex >= end { break }
                    body(rowIndex)
                    bits &= bits &- 1
                }
            }
        }
    }

    private static func accumulate(_ function: String, _ columns: [Column], groupOfRow: GroupIDs, groupCount: Int, rowCount: Int) -> Column {
        groupOfRow.withUnsafeBufferPointer { groupOfRow in
            switch function {
            case "count", "sum", "avg":
                guard let column = columns.first else {  // count(*)
                    let parts = Parallel.map(Parallel.ranges(rowCount)) { rows in
                        var counts = [Int64](repeating: 0, count: groupCount)
                        for rowIndex in rows { counts[Int(groupOfRow[rowIndex])] += 1 }
                        return counts
                    }
                    return Column.from((0..<groupCount).map { group in .int(parts.reduce(0) { $0 + $1[group] }) })
                }
                let sums = sums(column, rowCount: rowCount, groupCount: groupCount, group: { Int(groupOfRow[$0]) })
                if function == "count" { return Column.from(sums.counts.map { .int(Int64($0)) }) }
                return Column.from((0..<groupCount).map { sums.value($0, average: function == "avg", isInteger: column.isInteger) })
            case "min", "max":
                return extremes(columns[0], argument: nil, maximum: function == "max", groupOfRow: groupOfRow, groupCount: groupCount, rowCount: rowCount)
            default:
                return extremes(columns[1], argument: columns[0], maximum: function == "arg_max", groupOfRow: groupOfRow, groupCount: groupCount, rowCount: rowCount)
            }
        }
    }

    /// min/max (or arg_max/arg_min with `argument`): NaN counts only when a group has nothing
    /// else; ties keep the first row. Parts of the rows are scanned concurrently and merged in
    /// row order, so a later part wins only with a strictly better value.
    private static func extremes(_ keys: Column, argument: Column?, maximum: Bool, groupOfRow: UnsafeBufferPointer<UInt32>, groupCount: Int, rowCount: Int) -> Column {
        func better(_ candidate: Int, than best: Int) -> Bool {
            switch keys.storage {
            case .double(let values): return maximum ? values[candidate] > values[best] : values[candidate] < values[best]
            case .int(let values), .timestamp(let values): return maximum ? values[candidate] > values[best] : values[candidate] < values[best]
            default: return false
            }
        }
        let parts = Parallel.map(Parallel.ranges(rowCount)) { rows -> (best: [Int], nan: [Int]) in
            var bestRow = [Int](repeating: -1, count: groupCount)
            var nanRow = [Int](repeating: -1, count: groupCount)
            switch keys.storage {
            case .double(let values):
                forEachValidRow(keys, rows) { rowIndex in
                    let group = Int(groupOfRow[rowIndex])
                    let value = values[rowIndex]
                    if value.isNaN {
                        if nanRow[group] < 0 { nanRow[group] = rowIndex }
                        return
                    }
                    let best = bestRow[group]
                    if best < 0 || (maximum ? value > values[best] : value < values[best]) { bestRow[group] = rowIndex }
                }
            case .int(let values), .timestamp(let values):
                forEachValidRow(keys, rows) { rowIndex in
                    let group = Int(groupOfRow[rowIndex])
                    let best = bestRow[group]
                    if best < 0 || (maximum ? values[rowIndex] > values[best] : values[rowIndex] < values[best]) { bestRow[group] = rowIndex }
                }
            default: break
            }
            return (bestRow, nanRow)
        }
        var (bestRow, nanRow) = parts[0]
        for part in parts.dropFirst() {
            for group in 0..<groupCount {
                let candidate = part.best[group]
                if candidate >= 0, bestRow[group] < 0 || better(candidate, than: bestRow[group]) { bestRow[group] = candidate }
                if nanRow[group] < 0 { nanRow[group] = part.nan[group] }
            }
        }
        let source = argument ?? keys
        return Column.from((0..<groupCount).map { group -> Value in
            let row = bestRow[group] >= 0 ? bestRow[group] : nanRow[group]
            return row >= 0 ? source.value(at: row) : .null
        })
    }
}

extension Column {
    var isInteger: Bool {
        if case .int = storage { return true }
        return false
    }

    /// A numeric column without mixed types (doubles or integers).
    var isPlainNumber: Bool {
        switch storage {
        case .double, .int: return true
        default: return false
        }
    }
}

/// For each row, the number of its group (groups numbered from 0 in first-appearance order).
typealias GroupIDs = ContiguousArray<UInt32>
