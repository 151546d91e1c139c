import ColumnIndex
import QuerySyntax

/// Window functions: the rows are put in each window's order once (`WindowOrder`, shared by the
/// functions over the same PARTITION BY and ORDER BY), then every function makes one pass per
/// partition and writes its result at each row's input position.
extension Executor {
    /// The input's columns, then one column per window function.
    func window(_ relation: Relation, _ windows: [BoundWindow]) throws -> Relation {
        var columns = relation.columns
        var names = relation.names
        var orders: [String: WindowOrder] = [:]
        for window in windows {
            let order: WindowOrder
            if let known = orders[window.sortKey] {
                order = known
            } else {
                let partitionColumns = try window.partitionBy.map { try evaluator.evaluate($0, relation) }
                let orderColumns = try window.orderBy.map { (column: try evaluator.evaluate($0.expression, relation), order: $0) }
                order = try WindowOrder(partitionBy: partitionColumns, orderBy: orderColumns, count: relation.count, isCancelled: isCancelled)
                orders[window.sortKey] = order
            }
            columns.append(try compute(window, order, relation))
            names.append(window.function.name)
        }
        return Relation(columns: columns, names: names, count: relation.count)
    }

    private func compute(_ window: BoundWindow, _ order: WindowOrder, _ relation: Relation) throws -> Column {
        switch window.function {
        case .rowNumber:
            return try ranks(.rowNumber, order)
        case .rank:
            return try ranks(.rank, order)
        case .denseRank:
            return try ranks(.denseRank, order)
        case .percentRank, .cumeDist:
            return try relativeRanks(window.function, order)
        case .ntile:
            return try ntile(window, order, try evaluator.evaluate(window.arguments[0], relation))
        case .lag, .lead:
            return try shifted(window, order, relation)
        case .firstValue:
            return try frameValue(window, .first, order, relation)
        case .lastValue:
            return try frameValue(window, .last, order, relation)
        case .nthValue:
            return try frameValue(window, .nth, order, relation)
        case .aggregate(let function):
            return try frameAggregate(window, function, order, relation)
        }
    }

    /// Calls `body(start, end)` for each partition's positions, checking for cancellation.
    private func forEachPartition(_ order: WindowOrder, _ body: (Int, Int) throws -> Void) throws {
        let bounds = order.partitionBounds
        for partition in 0..<(bounds.count - 1) {
            if partition % 4096 == 4095, isCancelled() { throw Diagnostic(.interrupted, "Interrupted!") }
            try body(bounds[partition], bounds[partition + 1])
        }
    }

    /// Throws when the query was cancelled, checked every 1,024 positions (`every` 1: each one)
    /// of a per-row loop: one partition can be every row, and a frame can be most of them.
    @inline(__always)
    private func checkCancellation(_ position: Int, every mask: Int = 1023) throws {
        if position & mask == mask, isCancelled() { throw Diagnostic(.interrupted, "Interrupted!") }
    }

    // MARK: Ranking

    private enum Ranking { case rowNumber, rank, denseRank }

    /// row_number, rank, dense_rank.
    private func ranks(_ ranking: Ranking, _ order: WindowOrder) throws -> Column {
        let rows = order.rows
        let peerStarts = order.peerStarts
        var output = ContiguousArray<Int64>(repeating: 0, count: rows.count)
        try forEachPartition(order) { start, end in
            var rank = 0
            var dense = 0
            for position in start..<end {
                if peerStarts[position] {
                    rank = position - start + 1
                    dense += 1
                }
                switch ranking {
                case .rowNumber: output[rows[position]] = Int64(position - start + 1)
                case .rank: output[rows[position]] = Int64(rank)
                case .denseRank: output[rows[position]] = Int64(dense)
                }
            }
        }
        return Column(storage: .int(output), type: .bigint)
    }

    /// percent_rank and cume_dist.
    private func relativeRanks(_ function: WindowFunction, _ order: WindowOrder) throws -> Column {
        let rows = order.rows
        let peerStarts = order.peerStartPositions()
        let peerEnds = order.peerEnds()
        var output = ContiguousArray<Double>(repeating: 0, count: rows.count)
        try forEachPartition(order) { start, end in
            let size = Double(end - start)
            for position in start..<end {
                if case .cumeDist = function {
                    output[rows[position]] = Double(peerEnds[position] - start) / size
                } else {
                    output[rows[position]] = size > 1 ? Double(peerStarts[position] - start) / (size - 1) : 0
                }
            }
        }
        return Column(storage: .double(output), type: .double)
    }

    /// ntile(n): buckets 1…n of sizes differing by at most one, the larger ones first.
    private func ntile(_ window: BoundWindow, _ order: WindowOrder, _ buckets: Column) throws -> Column {
        let rows = order.rows
        var output = ContiguousArray<Int64>(repeating: 0, count: rows.count)
        var validity = Bitmap(count: rows.count, value: true)
        var sawNull = false
        try forEachPartition(order) { start, end in
            let size = end - start
            for position in start..<end {
                let row = rows[position]
                let requested: Int64
                switch buckets.value(at: row) {
                case .null:
                    validity[row] = false
                    sawNull = true
                    continue
                case .int(let count) where count > 0: requested = count
                case let other:
                    throw Diagnostic(.invalidInput, "Argument for ntile must be a positive integer, not \(Render.text(other))", at: window.span)
                }
                let bucketCount = Int(min(requested, Int64(size)))
                let small = size / bucketCount
                let large = size - bucketCount * small
                let largeRows = large * (small + 1)
                let index = position - start
                output[row] = Int64(index < largeRows ? 1 + index / (small + 1) : 1 + large + (index - largeRows) / small)
            }
        }
        return Column(storage: .int(output), validity: sawNull ? validity : nil, type: .bigint)
    }

    // MARK: Navigation

    /// lag and lead: the value `offset` rows before or after within the partition, else the default.
    private func shifted(_ window: BoundWindow, _ order: WindowOrder, _ relation: Relation) throws -> Column {
        let values = try evaluator.evaluate(window.arguments[0], relation)
        let offsets = try window.arguments.count > 1 ? evaluator.evaluate(window.arguments[1], relation) : nil
        let defaults = try window.arguments.count > 2 ? evaluator.evaluate(window.arguments[2], relation) : nil
        let rows = order.rows
        let backwards: Bool
        if case .lag = window.function { backwards = true } else { backwards = false }
        /// The source row of each row; -1: outside the partition (the default), -2: NULL offset.
        var sources = [Int](repeating: -1, count: rows.count)
        try forEachPartition(order) { start, end in
            // IGNORE NULLS: count offsets over the positions whose value is not NULL.
            let present = window.ignoreNulls ? Self.nonNullPositions(values, rows, start, end) : []
            for position in start..<end {
                var offset = 1
                if let offsets {
                    switch offsets.value(at: rows[position]) {
                    case .null:
                        sources[rows[position]] = -2
                        continue
                    case .int(let given): offset = Int(max(-(1 << 40), min(1 << 40, given)))
                    case let other:
                        throw Diagnostic(.invalidInput, "\(window.function.name): the offset must be an integer, not \(Render.text(other))", at: window.span)
                    }
                }
                if window.ignoreNulls {
                    let steps = backwards ? -offset : offset
                    let index: Int
                    if steps > 0 {
                        index = Self.firstIndex(in: present, atLeast: position + 1) + steps - 1
                    } else if steps < 0 {
                        index = Self.firstIndex(in: present, atLeast: position) + steps
                    } else {
                        sources[rows[position]] = rows[position]
                        continue
                    }
                    if index >= 0, index < present.count { sources[rows[position]] = rows[present[index]] }
                    continue
                }
                let target = backwards ? position - offset : position + offset
                if target >= start, target < end { sources[rows[position]] = rows[target] }
            }
        }
        guard let defaults else { return Self.gather(values, sources) }
        var builder = ColumnBuilder()
        for (row, source) in sources.enumerated() {
            builder.append(source >= 0 ? values.value(at: source) : source == -1 ? defaults.value(at: row) : .null)
        }
        return builder.finish()
    }

    /// The positions `start..<end` whose row's value is not NULL, in order.
    private static func nonNullPositions(_ values: Column, _ rows: [Int], _ start: Int, _ end: Int) -> [Int] {
        (start..<end).filter { values.isValid(rows[$0]) && !values.value(at: rows[$0]).isNull }
    }

    /// The index of the first element of the ascending `positions` that is at least `target`
    /// (`positions.count` when none is).
    private static func firstIndex(in positions: [Int], atLeast target: Int) -> Int {
        var low = 0
        var high = positions.count
        while low < high {
            let middle = (low + high) / 2
            if positions[middle] < target { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The rows of `column` at `sources`, NULL where a source is negative.
    private static func gather(_ column: Column, _ sources: [Int]) -> Column {
        guard sources.contains(where: { $0 < 0 }) else { return column.gather(sources) }
        var result = column.gather(sources.map { max($0, 0) })
        var validity = result.validity ?? Bitmap(count: sources.count, value: true)
        for (row, source) in sources.enumerated() where source < 0 { validity[row] = false }
        result.validity = validity
        return result
    }

    // MARK: Frames

    /// Where each row's frame starts and ends (positions, end exclusive), partition by partition.
    private struct Frames {
        let frame: BoundFrame
        let peerStarts: [Int]
        let peerEnds: [Int]
        /// RANGE frames with offsets: each position's bounds, found by the ORDER BY key's value.
        private var rangeStarts: [Int] = []
        private var rangeEnds: [Int] = []

        init(_ frame: BoundFrame, _ order: WindowOrder, key: (column: Column, descending: Bool)?) throws {
            self.frame = frame
            let needsPeers = frame.unit == .range
            peerStarts = needsPeers ? order.peerStartPositions() : []
            peerEnds = needsPeers ? order.peerEnds() : []
            if frame.hasRangeOffset, let key { try findRangeBounds(order, key.column, descending: key.descending) }
        }

        /// The frame of the row at `position` of the partition `start..<end`.
        func bounds(_ position: Int, _ start: Int, _ end: Int) -> (start: Int, end: Int) {
            if !rangeStarts.isEmpty { return (rangeStarts[position], max(rangeStarts[position], rangeEnds[position])) }
            let rows = frame.unit == .rows
            let from: Int
            switch frame.start {
            case .unboundedPreceding: from = start
            case .preceding(let offset): from = max(start, position - Self.rowCount(offset))
            case .currentRow: from = rows ? position : peerStarts[position]
            case .following(let offset): from = min(end, position + Self.rowCount(offset))
            case .unboundedFollowing: from = end
            }
            let to: Int
            switch frame.end {
            case .unboundedFollowing: to = end
            case .following(let offset): to = min(end, position + Self.rowCount(offset) + 1)
            case .currentRow: to = rows ? position + 1 : peerEnds[position]
            case .preceding(let offset): to = max(start, position - Self.rowCount(offset) + 1)
            case .unboundedPreceding: to = start
            }
            return (from, max(from, to))
        }

        /// A ROWS offset as a row count, capped at 2^40 (more rows than any partition has) so
        /// that `9223372036854775807 PRECEDING` neither traps in the conversion nor overflows.
        private static func rowCount(_ offset: Double) -> Int {
            offset < 0x1p40 ? Int(offset) : 1 << 40
        }

        /// RANGE `n PRECEDING`/`n FOLLOWING`: the rows whose key is within n of the row's key (by
        /// binary search over the partition's numbers, which are sorted). A row whose key is NULL
        /// or NaN has its peers for an offset bound.
        private mutating func findRangeBounds(_ order: WindowOrder, _ key: Column, descending: Bool) throws {
            let rows = order.rows
            var values = [Double](repeating: .nan, count: key.count)
            let intervals = frame.intervalOffsets
            for rowIndex in 0..<key.count {
                switch key.value(at: rowIndex) {
                case .int(let integer) where !intervals: values[rowIndex] = Double(integer)
                case .double(let number) where !intervals: values[rowIndex] = number
                case .timestamp(let micros) where intervals: values[rowIndex] = Double(micros)
                case .null: break
                case .timestamp:
                    throw Diagnostic(.binder, "RANGE frames over a TIMESTAMP key need INTERVAL offsets (RANGE BETWEEN INTERVAL 7 DAY PRECEDING AND CURRENT ROW)")
                case let other:
                    throw Diagnostic(.binder, intervals
                        ? "RANGE frames with INTERVAL offsets need a TIMESTAMP ORDER BY key, not \(DataType.of(other))"
                        : "RANGE frames with an offset need a numeric ORDER BY key, not \(DataType.of(other))")
                }
            }
            rangeStarts = [Int](repeating: 0, count: rows.count)
            rangeEnds = [Int](repeating: 0, count: rows.count)
            let bounds = order.partitionBounds
            for partition in 0..<(bounds.count - 1) {
                let start = bounds[partition]
                let end = bounds[partition + 1]
                // The numbers are contiguous: NULLs come first or last, NaN after every number.
                var numbersStart = start
                while numbersStart < end, values[rows[numbersStart]].isNaN { numbersStart += 1 }
                var numbersEnd = numbersStart
                while numbersEnd < end, !values[rows[numbersEnd]].isNaN { numbersEnd += 1 }
                /// The first position of the numbers at or after which `past(value)` holds.
                func first(_ past: (Double) -> Bool) -> Int {
                    var low = numbersStart
                    var high = numbersEnd
                    while low < high {
                        let middle = (low + high) / 2
                        if past(values[rows[middle]]) { high = middle } else { low = middle + 1 }
                    }
                    return low
                }
                for position in start..<end {
                    let value = values[rows[position]]
                    let isNumber = !value.isNaN
                    // Ascending: the frame is the keys in [value − before, value + after]; descending, mirrored.
                    func from(_ target: Double) -> Int { descending ? first { $0 <= target } : first { $0 >= target } }
                    func to(_ target: Double) -> Int { descending ? first { $0 < target } : first { $0 > target } }
                    let sign: Double = descending ? -1 : 1
                    switch frame.start {
                    case .unboundedPreceding: rangeStarts[position] = start
                    case .currentRow: rangeStarts[position] = peerStarts[position]
                    case .preceding(let offset): rangeStarts[position] = isNumber ? from(value - sign * offset) : peerStarts[position]
                    case .following(let offset): rangeStarts[position] = isNumber ? from(value + sign * offset) : peerStarts[position]
                    case .unboundedFollowing: rangeStarts[position] = end
                    }
                    switch frame.end {
                    case .unboundedFollowing: rangeEnds[position] = end
                    case .currentRow: rangeEnds[position] = peerEnds[position]
                    case .following(let offset): rangeEnds[position] = isNumber ? to(value + sign * offset) : peerEnds[position]
                    case .preceding(let offset): rangeEnds[position] = isNumber ? to(value - sign * offset) : peerEnds[position]
                    case .unboundedPreceding: rangeEnds[position] = start
                    }
                }
            }
        }
    }

    /// The frames of `window`, with its ORDER BY key for RANGE offsets.
    private func frames(_ window: BoundWindow, _ order: WindowOrder, _ relation: Relation) throws -> Frames {
        guard window.frame.hasRangeOffset, let key = window.orderBy.first else { return try Frames(window.frame, order, key: nil) }
        do {
            return try Frames(window.frame, order, key: (try evaluator.evaluate(key.expression, relation), key.descending))
        } catch let error as Diagnostic where error.span == nil {
            throw Diagnostic(error.phase, error.message, at: window.span)
        }
    }

    /// Which row of the frame a value function takes.
    private enum FramePick { case first, last, nth }

    /// first_value, last_value, nth_value over each row's frame.
    private func frameValue(_ window: BoundWindow, _ pick: FramePick, _ order: WindowOrder, _ relation: Relation) throws -> Column {
        let values = try evaluator.evaluate(window.arguments[0], relation)
        let positions = try window.arguments.count > 1 ? evaluator.evaluate(window.arguments[1], relation) : nil
        let frames = try frames(window, order, relation)
        let rows = order.rows
        var sources = [Int](repeating: -1, count: rows.count)
        try forEachPartition(order) { start, end in
            let present = window.ignoreNulls ? Self.nonNullPositions(values, rows, start, end) : []
            for position in start..<end {
                let (from, to) = frames.bounds(position, start, end)
                // The frame as a range of indices: into the positions, or (IGNORE NULLS) into the
                // positions whose value is not NULL.
                let first = window.ignoreNulls ? Self.firstIndex(in: present, atLeast: from) : from
                let last = window.ignoreNulls ? Self.firstIndex(in: present, atLeast: to) : to
                let chosen: Int?
                switch pick {
                case .first: chosen = first < last ? first : nil
                case .last: chosen = first < last ? last - 1 : nil
                case .nth:
                    switch positions?.value(at: rows[position]) {
                    case .int(let nth)? where nth > 0:
                        chosen = nth <= Int64(last - first) ? first + Int(nth) - 1 : nil
                    case .null?, nil:
                        chosen = nil
                    case let other?:
                        throw Diagnostic(.invalidInput, "Argument for nth_value must be a positive integer, not \(Render.text(other))", at: window.span)
                    }
                }
                if let chosen { sources[rows[position]] = rows[window.ignoreNulls ? present[chosen] : chosen] }
            }
        }
        return Self.gather(values, sources)
    }

    /// An aggregate over each row's frame. Frames from the partition's first row grow with the
    /// row: one accumulator per partition, read at each row. Frames to the partition's last row
    /// shrink: the same backwards, for aggregates that ignore input order. Other frames (a moving
    /// window) are aggregated row by row.
    private func frameAggregate(_ window: BoundWindow, _ function: AggregateFunction, _ order: WindowOrder, _ relation: Relation) throws -> Column {
        let arguments = try window.arguments.map { try evaluator.evaluate($0, relation) }
        if function.numericOnly, case .column? = window.arguments.first, let first = arguments.first,
            first.type == .varchar || first.type == .boolean || first.type == .timestamp
        {
            throw Diagnostic(.binder, "\(function.name)(\(first.type)) is not defined: it takes numbers (cast with TRY_CAST(x AS DOUBLE))", at: window.span)
        }
        let filter = try window.filter.map { try evaluator.evaluate($0, relation) }
        let frames = try frames(window, order, relation)
        if filter == nil, !window.distinct, let typed = try numericFrameAggregate(function.name, arguments.first, order, frames) { return typed }
        let rows = order.rows
        var output = [Value](repeating: .null, count: rows.count)
        /// Adds a row's arguments, unless FILTER drops them or (DISTINCT) they are NULL or `seen`.
        func add(_ row: Int, to accumulator: Accumulator, seen: inout Set<[Value]>) throws {
            if let filter, filter.value(at: row) != .bool(true) { return }
            let values = arguments.map { $0.value(at: row) }
            if window.distinct, values.contains(where: \.isNull) || !seen.insert(values).inserted { return }
            do {
                try accumulator.add(values)
            } catch {
                throw Diagnostic(error.phase, error.message, at: window.span)
            }
        }
        if filter == nil, !window.distinct, window.frame.isMoving, case .double(let values)? = arguments.first?.storage,
            let (fraction, discrete) = Self.fixedQuantile(window, function)
        {
            return try slidingQuantile(values, arguments[0], fraction: fraction, discrete: discrete, order, frames)
        }
        if window.distinct, function.name == "count", window.frame.isMoving {
            return try slidingDistinctCount(window, arguments, filter: filter, order, frames)
        }
        let orderFree = ["count", "sum", "avg", "min", "max", "stddev", "stddev_pop", "variance", "var_pop", "bool_and", "bool_or"].contains(function.name)
        try forEachPartition(order) { start, end in
            if window.frame.start == .unboundedPreceding {
                let accumulator = function.makeAccumulator()
                var seen: Set<[Value]> = []
                var added = start
                var last: (end: Int, value: Value)?
                for position in start..<end {
                    let to = frames.bounds(position, start, end).end
                    if let last, last.end == to {
                        try checkCancellation(position)
                        output[rows[position]] = last.value
                        continue
                    }
                    while added < to {
                        try add(rows[added], to: accumulator, seen: &seen)
                        added += 1
                    }
                    // A result can cost the whole frame (median sorts it): check each one.
                    try checkCancellation(position, every: 0)
                    let value = accumulator.result()
                    output[rows[position]] = value
                    last = (to, value)
                }
            } else if window.frame.end == .unboundedFollowing, orderFree {
                let accumulator = function.makeAccumulator()
                var seen: Set<[Value]> = []
                var added = end
                var last: (start: Int, value: Value)?
                for position in stride(from: end - 1, through: start, by: -1) {
                    let from = frames.bounds(position, start, end).start
                    if let last, last.start == from {
                        try checkCancellation(position)
                        output[rows[position]] = last.value
                        continue
                    }
                    while added > from {
                        added -= 1
                        try add(rows[added], to: accumulator, seen: &seen)
                    }
                    try checkCancellation(position, every: 0)
                    let value = accumulator.result()
                    output[rows[position]] = value
                    last = (from, value)
                }
            } else {
                for position in start..<end {
                    try checkCancellation(position, every: 0)
                    let (from, to) = frames.bounds(position, start, end)
                    let accumulator = function.makeAccumulator()
                    var seen: Set<[Value]> = []
                    for framePosition in from..<to { try add(rows[framePosition], to: accumulator, seen: &seen) }
                    output[rows[position]] = accumulator.result()
                }
            }
        }
        return Column.from(output)
    }

    // MARK: Typed frame aggregates

    /// count, sum, avg, min and max over a plain numeric column (or count(*)) without FILTER:
    /// typed loops over the frames, no boxed values. The answers are those of the accumulators
    /// (NULLs skipped, NaN skipped by min and max unless there is nothing else); nil for other
    /// aggregates and columns, or when an integer sum overflows.
    private func numericFrameAggregate(_ name: String, _ argument: Column?, _ order: WindowOrder, _ frames: Frames) throws -> Column? {
        let count = order.rows.count
        guard let argument else {
            guard name == "count" else { return nil }
            if frames.frame.isMoving { return try slidingCount(order, frames) { _ in true } }
            var counted = 0
            var output = ContiguousArray<Int64>(repeating: 0, count: count)
            try driveFrames(order, frames, reset: { counted = 0 }, add: { _ in counted += 1 }, emit: { output[$0] = Int64(counted) })
            return Column(storage: .int(output), type: .bigint)
        }
        var validity = Bitmap(count: count, value: true)
        var sawNull = false
        func finish(_ storage: Column.Storage, _ type: DataType) -> Column {
            Column(storage: storage, validity: sawNull ? validity : nil, type: type)
        }
        switch (name, argument.storage) {
        case ("count", .double), ("count", .int):
            if frames.frame.isMoving { return try slidingCount(order, frames) { argument.isValid($0) } }
            var counted = 0
            var output = ContiguousArray<Int64>(repeating: 0, count: count)
            try driveFrames(order, frames, reset: { counted = 0 }, add: { if argument.isValid($0) { counted += 1 } }, emit: { output[$0] = Int64(counted) })
            return Column(storage: .int(output), type: .bigint)
        case ("sum", .double(let values)), ("avg", .double(let values)):
            let average = name == "avg"
            var sum = 0.0
            var counted = 0
            var output = ContiguousArray<Double>(repeating: 0, count: count)
            if frames.frame.isMoving {
                try values.withUnsafeBufferPointer { values in
                    try slidingSums(values, argument, order, frames) { row, sum, counted in
                        if counted == 0 {
                            validity[row] = false
                            sawNull = true
                        } else {
                            output[row] = average ? sum / Double(counted) : sum
                        }
                    }
                }
                return finish(.double(output), .double)
            }
            try values.withUnsafeBufferPointer { values in
                try driveFrames(order, frames, reset: { sum = 0; counted = 0 }, add: { row in
                    if argument.isValid(row) {
                        sum += values[row]
                        counted += 1
                    }
                }, emit: { row in
                    if counted == 0 {
                        validity[row] = false
                        sawNull = true
                    } else {
                        output[row] = average ? sum / Double(counted) : sum
                    }
                })
            }
            return finish(.double(output), .double)
        case ("avg", .int(let values)):
            var sum = 0.0
            var counted = 0
            var output = ContiguousArray<Double>(repeating: 0, count: count)
            try values.withUnsafeBufferPointer { values in
                try driveFrames(order, frames, reset: { sum = 0; counted = 0 }, add: { row in
                    if argument.isValid(row) {
                        sum += Double(values[row])
                        counted += 1
                    }
                }, emit: { row in
                    if counted == 0 {
                        validity[row] = false
                        sawNull = true
                    } else {
                        output[row] = sum / Double(counted)
                    }
                })
            }
            return finish(.double(output), .double)
        case ("sum", .int(let values)):
            var sum: Int64 = 0
            var counted = 0
            var overflowed = false
            var output = ContiguousArray<Int64>(repeating: 0, count: count)
            try values.withUnsafeBufferPointer { values in
                try driveFrames(order, frames, reset: { sum = 0; counted = 0 }, add: { row in
                    if argument.isValid(row) {
                        let (total, overflow) = sum.addingReportingOverflow(values[row])
                        if overflow { overflowed = true }
                        sum = total
                        counted += 1
                    }
                }, emit: { row in
                    if counted == 0 {
                        validity[row] = false
                        sawNull = true
                    } else {
                        output[row] = sum
                    }
                })
            }
            return overflowed ? nil : finish(.int(output), .bigint)
        case ("min", .double(let values)), ("max", .double(let values)):
            var output = ContiguousArray<Double>(repeating: 0, count: count)
            try frameExtremes(values, argument, maximum: name == "max", isNaN: \.isNaN, order, frames) { row, best, sawNaN in
                if let best {
                    output[row] = best
                } else if sawNaN {
                    output[row] = .nan
                } else {
                    validity[row] = false
                    sawNull = true
                }
            }
            return finish(.double(output), .double)
        case ("min", .int(let values)), ("max", .int(let values)):
            var output = ContiguousArray<Int64>(repeating: 0, count: count)
            try frameExtremes(values, argument, maximum: name == "max", isNaN: { _ in false }, order, frames) { row, best, _ in
                if let best {
                    output[row] = best
                } else {
                    validity[row] = false
                    sawNull = true
                }
            }
            return finish(.int(output), .bigint)
        default:
            return nil
        }
    }

    /// min or max over each row's frame, NULL and NaN skipped: moving frames through a sliding
    /// deque, others accumulated as `driveFrames` feeds them. `emit` gets the best number, or nil
    /// and whether the frame held a NaN.
    private func frameExtremes<Number: Comparable>(
        _ values: ContiguousArray<Number>, _ argument: Column, maximum: Bool, isNaN: (Number) -> Bool,
        _ order: WindowOrder, _ frames: Frames, emit: (_ row: Int, _ best: Number?, _ sawNaN: Bool) -> Void
    ) throws {
        try values.withUnsafeBufferPointer { values in
            if frames.frame.isMoving {
                try slidingExtremes(values, argument, maximum: maximum, isNaN: isNaN, order, frames, emit: emit)
                return
            }
            var best: Number?
            var sawNaN = false
            try driveFrames(order, frames, reset: { best = nil; sawNaN = false }, add: { row in
                guard argument.isValid(row) else { return }
                let value = values[row]
                if isNaN(value) {
                    sawNaN = true
                } else if let current = best, maximum ? !(value > current) : !(value < current) {
                    return
                } else {
                    best = value
                }
            }, emit: { row in emit(row, best, sawNaN) })
        }
    }

    /// sum and avg of a DOUBLE over moving frames without a pass over each large frame. A frame
    /// of up to 64 rows is summed in order, row by row. A larger one is split at `middle`: the
    /// older part's sums from each of its positions to `middle` are kept (built when the frame's
    /// start passes `middle`, each row once), the newer part is summed as rows enter, and the
    /// frame's sum is the two added, which can differ from the in-order sum in the last bits
    /// (NaN and infinities come out as in order: nothing is subtracted).
    private func slidingSums(_ values: UnsafeBufferPointer<Double>, _ argument: Column, _ order: WindowOrder, _ frames: Frames, emit: (_ row: Int, _ sum: Double, _ counted: Int) -> Void) throws {
        let rows = order.rows
        /// From each older position (less the partition's start) to `middle`: the sum and count.
        var olderSums: [Double] = []
        var olderCounts: [Int] = []
        try forEachPartition(order) { start, end in
            olderSums.removeAll(keepingCapacity: true)
            olderSums.append(contentsOf: repeatElement(0, count: end - start + 1))
            olderCounts.removeAll(keepingCapacity: true)
            olderCounts.append(contentsOf: repeatElement(0, count: end - start + 1))
            var middle = start
            var added = start
            var newerSum = 0.0
            var newerCount = 0
            var previousFrom = start
            for position in start..<end {
                try checkCancellation(position, every: 0xFFFF)
                let (from, to) = frames.bounds(position, start, end)
                if to - from <= 64 {
                    var sum = 0.0
                    var counted = 0
                    for framePosition in from..<to where argument.isValid(rows[framePosition]) {
                        sum += values[rows[framePosition]]
                        counted += 1
                    }
                    emit(rows[position], sum, counted)
                    continue
                }
                if from >= middle || from < previousFrom || to < added {
                    // The older part is used up (or the frame moved back): rebuild it from the frame.
                    olderSums[to - start] = 0
                    olderCounts[to - start] = 0
                    for framePosition in stride(from: to - 1, through: from, by: -1) {
                        let row = rows[framePosition]
                        let valid = argument.isValid(row)
                        olderSums[framePosition - start] = (valid ? values[row] : 0) + olderSums[framePosition + 1 - start]
                        olderCounts[framePosition - start] = (valid ? 1 : 0) + olderCounts[framePosition + 1 - start]
                    }
                    middle = to
                    added = to
                    newerSum = 0
                    newerCount = 0
                }
                previousFrom = from
                while added < to {
                    let row = rows[added]
                    if argument.isValid(row) {
                        newerSum += values[row]
                        newerCount += 1
                    }
                    added += 1
                }
                emit(rows[position], olderSums[from - start] + newerSum, olderCounts[from - start] + newerCount)
            }
        }
    }

    /// count over moving frames in linear time: a frame's count is the partition's running count
    /// at its end less that at its start (`counts(row)`: whether the row counts).
    private func slidingCount(_ order: WindowOrder, _ frames: Frames, counts: (Int) -> Bool) throws -> Column {
        let rows = order.rows
        var output = ContiguousArray<Int64>(repeating: 0, count: rows.count)
        /// How many rows count before each position of the partition.
        var before: [Int] = []
        try forEachPartition(order) { start, end in
            before.removeAll(keepingCapacity: true)
            before.append(0)
            for position in start..<end { before.append(before[before.count - 1] + (counts(rows[position]) ? 1 : 0)) }
            for position in start..<end {
                try checkCancellation(position, every: 0xFFFF)
                let (from, to) = frames.bounds(position, start, end)
                output[rows[position]] = Int64(before[to - start] - before[from - start])
            }
        }
        return Column(storage: .int(output), type: .bigint)
    }

    /// count(DISTINCT …) over moving frames in linear time: how many times each distinct
    /// argument list is in the frame, rows added at its end and removed at its start as the
    /// frame moves forward (FILTER and NULLs as in a pass over the frame).
    private func slidingDistinctCount(_ window: BoundWindow, _ arguments: [Column], filter: Column?, _ order: WindowOrder, _ frames: Frames) throws -> Column {
        let rows = order.rows
        var output = ContiguousArray<Int64>(repeating: 0, count: rows.count)
        var inFrame: [[Value]: Int] = [:]
        /// The row's arguments when it counts: FILTER keeps it and none is NULL.
        func key(_ row: Int) -> [Value]? {
            if let filter, filter.value(at: row) != .bool(true) { return nil }
            let values = arguments.map { $0.value(at: row) }
            return values.contains(where: \.isNull) ? nil : values
        }
        try slideFrames(
            order, frames, reset: { inFrame.removeAll(keepingCapacity: true) },
            enter: { row in
                if let values = key(row) { inFrame[values, default: 0] += 1 }
            },
            leave: { row in
                if let values = key(row), let times = inFrame[values] { inFrame[values] = times > 1 ? times - 1 : nil }
            },
            emit: { row in output[row] = Int64(inFrame.count) })
        return Column(storage: .int(output), type: .bigint)
    }

    /// median, or quantile_cont/quantile_disc with a constant fraction in 0…1: the fraction and
    /// whether it is discrete; nil for other aggregates (and fractions the accumulator rejects).
    private static func fixedQuantile(_ window: BoundWindow, _ function: AggregateFunction) -> (Double, Bool)? {
        switch function.name {
        case "median": return (0.5, false)
        case "quantile", "quantile_disc":
            guard window.arguments.count == 2, case .literal(let value) = window.arguments[1], let fraction = value.numeric,
                fraction >= 0, fraction <= 1 else { return nil }
            return (fraction, function.name == "quantile_disc")
        default: return nil
        }
    }

    /// median and quantiles of a DOUBLE column over moving frames: the frame's numbers kept
    /// sorted (NaN last, equal values in row order, as the accumulator's stable sort leaves them)
    /// as rows enter at its end and leave at its start, rather than each frame gathered and sorted.
    private func slidingQuantile(_ values: ContiguousArray<Double>, _ argument: Column, fraction: Double, discrete: Bool, _ order: WindowOrder, _ frames: Frames) throws -> Column {
        let rows = order.rows
        var output = ContiguousArray<Double>(repeating: 0, count: rows.count)
        var validity = Bitmap(count: rows.count, value: true)
        var sawNull = false
        var sorted: [Double] = []
        /// Whether `a` sorts before `b`: by value, NaN after every number.
        @inline(__always) func before(_ a: Double, _ b: Double) -> Bool { a.isNaN ? false : b.isNaN || a < b }
        /// The first index whose value `a` sorts before (after all values equal to `a`).
        func upperBound(_ a: Double) -> Int {
            var low = 0
            var high = sorted.count
            while low < high {
                let middle = (low + high) / 2
                if before(a, sorted[middle]) { high = middle } else { low = middle + 1 }
            }
            return low
        }
        /// The first index whose value does not sort before `a`.
        func lowerBound(_ a: Double) -> Int {
            var low = 0
            var high = sorted.count
            while low < high {
                let middle = (low + high) / 2
                if before(sorted[middle], a) { low = middle + 1 } else { high = middle }
            }
            return low
        }
        func enter(_ row: Int) {
            guard argument.isValid(row) else { return }
            let value = values[row]
            sorted.insert(value, at: upperBound(value))
        }
        /// Removes the oldest copy of the row's value (the same bits: -0.0 and 0.0 are equal
        /// but not the same), which is the first among its equals.
        func leave(_ row: Int) {
            guard argument.isValid(row) else { return }
            let value = values[row]
            var index = lowerBound(value)
            while index < sorted.count, !before(value, sorted[index]) {
                if sorted[index].bitPattern == value.bitPattern || sorted[index].isNaN && value.isNaN {
                    sorted.remove(at: index)
                    return
                }
                index += 1
            }
        }
        try slideFrames(order, frames, reset: { sorted.removeAll(keepingCapacity: true) }, enter: enter, leave: leave) { row in
            let count = sorted.count
            guard count > 0 else {
                validity[row] = false
                sawNull = true
                return
            }
            if discrete {
                let index = Int((Double(count) * fraction).rounded(.up)) - 1
                output[row] = sorted[max(0, min(count - 1, index))]
                return
            }
            let place = fraction * Double(count - 1)
            let lower = Int(place.rounded(.down))
            let upper = Int(place.rounded(.up))
            let weight = place - Double(lower)
            output[row] = lower == upper ? sorted[lower] : sorted[lower] * (1 - weight) + sorted[upper] * weight
        }
        return Column(storage: .double(output), validity: sawNull ? validity : nil, type: .double)
    }

    /// min or max over moving frames (neither end unbounded) in linear time rather than a pass
    /// over each row's frame: a deque holds the frame's positions that may still be the answer
    /// (each strictly better than every later one, so the earliest of equals wins as in a pass),
    /// and frames only move forward with the row. NULL and NaN are skipped; `emit` gets the best
    /// number, or nil and whether the frame held a NaN.
    private func slidingExtremes<Number: Comparable>(
        _ values: UnsafeBufferPointer<Number>, _ argument: Column, maximum: Bool, isNaN: (Number) -> Bool,
        _ order: WindowOrder, _ frames: Frames, emit: (_ row: Int, _ best: Number?, _ sawNaN: Bool) -> Void
    ) throws {
        let rows = order.rows
        var deque: [Int] = []
        /// NaNs before each position of the partition, for whether a frame holds one.
        var nanCounts: [Int] = []
        try forEachPartition(order) { start, end in
            deque.removeAll(keepingCapacity: true)
            nanCounts.removeAll(keepingCapacity: true)
            nanCounts.append(0)
            for position in start..<end {
                let row = rows[position]
                nanCounts.append(nanCounts[nanCounts.count - 1] + (argument.isValid(row) && isNaN(values[row]) ? 1 : 0))
            }
            var head = 0
            var added = start
            var previousFrom = start
            for position in start..<end {
                try checkCancellation(position, every: 0xFFFF)
                let (from, to) = frames.bounds(position, start, end)
                if from < previousFrom || to < added {
                    // Frames move forward; should one not, start the deque over.
                    deque.removeAll(keepingCapacity: true)
                    head = 0
                    added = from
                }
                previousFrom = from
                added = max(added, from)
                while added < to {
                    let row = rows[added]
                    if argument.isValid(row), !isNaN(values[row]) {
                        let value = values[row]
                        while deque.count > head {
                            let last = values[rows[deque[deque.count - 1]]]
                            guard maximum ? last < value : last > value else { break }
                            deque.removeLast()
                        }
                        deque.append(added)
                    }
                    added += 1
                }
                while head < deque.count, deque[head] < from { head += 1 }
                let best = head < deque.count ? values[rows[deque[head]]] : nil
                emit(rows[position], best, from < to && nanCounts[to - start] > nanCounts[from - start])
            }
        }
    }

    /// Moves a frame forward through each partition, row by row: the rows leaving it go to
    /// `leave`, those entering to `enter`, then `emit(row)` sees the row's frame. Frames move
    /// forward with the row; should one move back, the partition starts over after `reset`.
    private func slideFrames(
        _ order: WindowOrder, _ frames: Frames, reset: () -> Void, enter: (Int) -> Void, leave: (Int) -> Void, emit: (Int) -> Void
    ) throws {
        let rows = order.rows
        try forEachPartition(order) { start, end in
            reset()
            var added = start
            var removed = start
            var previousFrom = start
            for position in start..<end {
                try checkCancellation(position)
                let (from, to) = frames.bounds(position, start, end)
                if from < previousFrom || to < added {
                    reset()
                    added = from
                    removed = from
                }
                previousFrom = from
                while removed < min(from, added) {
                    leave(rows[removed])
                    removed += 1
                }
                if added < from {
                    added = from
                    removed = from
                }
                while added < to {
                    enter(rows[added])
                    added += 1
                }
                emit(rows[position])
            }
        }
    }

    /// Feeds each row's frame to `add` and calls `emit(row)` with it complete: growing frames
    /// (from the partition's first row) accumulate forwards, shrinking ones (to its last row)
    /// backwards, and moving frames are added row by row after a `reset`.
    @inline(__always)
    private func driveFrames(_ order: WindowOrder, _ frames: Frames, reset: () -> Void, add: (Int) -> Void, emit: (Int) -> Void) throws {
        let rows = order.rows
        try forEachPartition(order) { start, end in
            if frames.frame.start == .unboundedPreceding {
                reset()
                var added = start
                for position in start..<end {
                    try checkCancellation(position, every: 0xFFFF)
                    let to = frames.bounds(position, start, end).end
                    while added < to {
                        add(rows[added])
                        added += 1
                    }
                    emit(rows[position])
                }
            } else if frames.frame.end == .unboundedFollowing {
                reset()
                var added = end
                for position in stride(from: end - 1, through: start, by: -1) {
                    try checkCancellation(position, every: 0xFFFF)
                    let from = frames.bounds(position, start, end).start
                    while added > from {
                        added -= 1
                        add(rows[added])
                    }
                    emit(rows[position])
                }
            } else {
                for position in start..<end {
                    try checkCancellation(position, every: 63)
                    reset()
                    let (from, to) = frames.bounds(position, start, end)
                    for framePosition in from..<to { add(rows[framePosition]) }
                    emit(rows[position])
                }
            }
        }
    }
}
