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
        var groupOfRow = [Int32](repeating: 0, count: rowCount)
        var firstRows = [0]
        if let first = groupColumns.first {
            guard let ids = Self.groupIDs(first, rowCount: rowCount) else { return nil }
            (groupOfRow, firstRows) = ids
            for key in groupColumns.dropFirst() {
                guard let next = Self.groupIDs(key, rowCount: rowCount) else { return nil }
                var groupOfPair: [Int64: Int32] = [:]
                firstRows = []
                for rowIndex in 0..<rowCount {
                    let pair = Int64(groupOfRow[rowIndex]) << 32 | Int64(next.groupOfRow[rowIndex])
                    if let group = groupOfPair[pair] {
                        groupOfRow[rowIndex] = group
                    } else {
                        let group = Int32(firstRows.count)
                        groupOfPair[pair] = group
                        firstRows.append(rowIndex)
                        groupOfRow[rowIndex] = group
                    }
                }
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
    private static func groupIDs(_ key: Column, rowCount: Int) -> (groupOfRow: [Int32], firstRows: [Int])? {
        var groupOfRow = [Int32](repeating: 0, count: rowCount)
        var firstRows: [Int] = []
        /// Keys that map to small integers (`slot`, below `slotCount`): a group id per slot.
        @inline(__always) func numberBySlot(_ slotCount: Int, _ slot: (Int) -> Int) {
            var groupOfSlot = [Int32](repeating: -1, count: slotCount)
            for rowIndex in 0..<rowCount {
                let slot = slot(rowIndex)
                if groupOfSlot[slot] < 0 {
                    groupOfSlot[slot] = Int32(firstRows.count)
                    firstRows.append(rowIndex)
                }
                groupOfRow[rowIndex] = groupOfSlot[slot]
            }
        }
        /// Other keys (nil for NULL): a group id per key, by hashing.
        @inline(__always) func numberByHash<Key: Hashable>(_ keyOf: (Int) -> Key?) {
            var groupOfKey: [Key?: Int32] = [:]
            for rowIndex in 0..<rowCount {
                let key = keyOf(rowIndex)
                if let known = groupOfKey[key] {
                    groupOfRow[rowIndex] = known
                } else {
                    let group = Int32(firstRows.count)
                    groupOfKey[key] = group
                    firstRows.append(rowIndex)
                    groupOfRow[rowIndex] = group
                }
            }
        }
        switch key.storage {
        case .dictionary(let codes, let dictionary):
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
                numberByHash { key.isValid($0) ? values[$0] : nil }
            }
        case .string(let strings):
            // Hashed as values are: byte-wise, as the row path groups them.
            numberByHash { key.isValid($0) ? Value.string(strings[$0]) : nil }
        default:
            return nil
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

    /// count, sum and avg without GROUP BY: one tight pass per aggregate, no group ids; nil when
    /// another aggregate is asked for.
    private static func wholeTotals(_ aggregates: [BoundAggregate], _ argumentColumns: [[Column]], rowCount: Int) -> [Value]? {
        var totals: [Value] = []
        for (aggregate, columns) in zip(aggregates, argumentColumns) {
            switch aggregate.function.name {
            case "count":
                guard let column = columns.first else {
                    totals.append(.int(Int64(rowCount)))
                    continue
                }
                var valid = 0
                forEachValidRow(column, rowCount: rowCount) { _ in valid += 1 }
                totals.append(.int(Int64(valid)))
            case "sum", "avg":
                let column = columns[0]
                var count = 0
                var doubleSum = 0.0
                var integerSum: Int64 = 0
                var overflowed = false
                var isInteger = false
                switch column.storage {
                case .double(let values):
                    values.withUnsafeBufferPointer { values in
                        forEachValidRow(column, rowCount: rowCount) { rowIndex in
                            doubleSum += values[rowIndex]
                            count += 1
                        }
                    }
                case .int(let values):
                    isInteger = true
                    values.withUnsafeBufferPointer { values in
                        forEachValidRow(column, rowCount: rowCount) { rowIndex in
                            let (sum, overflow) = integerSum.addingReportingOverflow(values[rowIndex])
                            overflowed = overflowed || overflow
                            integerSum = sum
                            doubleSum += Double(values[rowIndex])
                            count += 1
                        }
                    }
                default: return nil
                }
                if count == 0 {
                    totals.append(.null)
                } else if aggregate.function.name == "avg" {
                    totals.append(.double(doubleSum / Double(count)))
                } else {
                    totals.append(isInteger && !overflowed ? .int(integerSum) : .double(doubleSum))
                }
            default:
                return nil
            }
        }
        return totals
    }

    /// Calls `body` with each valid row in order, a word of the validity bitmap at a time.
    @inline(__always)
    private static func forEachValidRow(_ column: Column, rowCount: Int, _ body: (Int) -> Void) {
        guard let validity = column.validity else {
            for rowIndex in 0..<rowCount { body(rowIndex) }
            return
        }
        validity.withUnsafeWords { words in
            for wordIndex in 0..<words.count {
                let base = wordIndex << 6
                let end = min(base + 64, rowCount)
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

    private static func accumulate(_ function: String, _ columns: [Column], groupOfRow: [Int32], groupCount: Int, rowCount: Int) -> Column {
        switch function {
        case "count":
            var counts = [Int64](repeating: 0, count: groupCount)
            if let column = columns.first, column.validity != nil {
                forEachValidRow(column, rowCount: rowCount) { counts[Int(groupOfRow[$0])] += 1 }
            } else {
                for rowIndex in 0..<rowCount { counts[Int(groupOfRow[rowIndex])] += 1 }
            }
            return Column.from(counts.map(Value.int))
        case "sum", "avg":
            let column = columns[0]
            var doubleSums = [Double](repeating: 0, count: groupCount)
            var integerSums = [Int64](repeating: 0, count: groupCount)
            var overflowed = [Bool](repeating: false, count: groupCount)
            var counts = [Int](repeating: 0, count: groupCount)
            switch column.storage {
            case .double(let values):
                forEachValidRow(column, rowCount: rowCount) { rowIndex in
                    let group = Int(groupOfRow[rowIndex])
                    doubleSums[group] += values[rowIndex]
                    counts[group] += 1
                }
            case .int(let values):
                forEachValidRow(column, rowCount: rowCount) { rowIndex in
                    let group = Int(groupOfRow[rowIndex])
                    let (sum, overflow) = integerSums[group].addingReportingOverflow(values[rowIndex])
                    if overflow { overflowed[group] = true }
                    integerSums[group] = sum
                    doubleSums[group] += Double(values[rowIndex])
                    counts[group] += 1
                }
            default: break
            }
            let isInteger: Bool
            if case .int = column.storage { isInteger = true } else { isInteger = false }
            return Column.from((0..<groupCount).map { group -> Value in
                guard counts[group] > 0 else { return .null }
                if function == "avg" { return .double(doubleSums[group] / Double(counts[group])) }
                return isInteger && !overflowed[group] ? .int(integerSums[group]) : .double(doubleSums[group])
            })
        case "min", "max":
            return extremes(columns[0], argument: nil, maximum: function == "max", groupOfRow: groupOfRow, groupCount: groupCount, rowCount: rowCount)
        default:
            return extremes(columns[1], argument: columns[0], maximum: function == "arg_max", groupOfRow: groupOfRow, groupCount: groupCount, rowCount: rowCount)
        }
    }

    /// min/max (or arg_max/arg_min with `argument`): NaN counts only when a group has nothing
    /// else; ties keep the first row.
    private static func extremes(_ keys: Column, argument: Column?, maximum: Bool, groupOfRow: [Int32], groupCount: Int, rowCount: Int) -> Column {
        var bestRow = [Int](repeating: -1, count: groupCount)
        var nanRow = [Int](repeating: -1, count: groupCount)
        switch keys.storage {
        case .double(let values):
            forEachValidRow(keys, rowCount: rowCount) { rowIndex in
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
            forEachValidRow(keys, rowCount: rowCount) { rowIndex in
                let group = Int(groupOfRow[rowIndex])
                let best = bestRow[group]
                if best < 0 || (maximum ? values[rowIndex] > values[best] : values[rowIndex] < values[best]) { bestRow[group] = rowIndex }
            }
        default: break
        }
        let source = argument ?? keys
        return Column.from((0..<groupCount).map { group -> Value in
            let row = bestRow[group] >= 0 ? bestRow[group] : nanRow[group]
            return row >= 0 ? source.value(at: row) : .null
        })
    }
}

extension Column {
    /// A numeric column without mixed types (doubles or integers).
    var isPlainNumber: Bool {
        switch storage {
        case .double, .int: return true
        default: return false
        }
    }
}
