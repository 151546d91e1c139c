import Testing
@testable import ColumnIndex
@testable import QueryEngine
import QuerySyntax

/// Typed aggregation over inputs large enough to be split over the cores: the parts merge to the
/// answers of one sequential pass (NULLs skipped, NaN only when a group has nothing else, ties to
/// the first row), on groups and ties that straddle the parts.
@Suite struct ParallelAggregateTests {
    static let rowCount = 3 * Parallel.minimumRowsPerPart + 77

    /// Values with NULLs, many ties, and NaN in group 5 only; integer arguments; 37 groups spread
    /// over every part.
    static let values: Column = {
        var doubles = ContiguousArray<Double>()
        var validity = Bitmap(count: rowCount, value: true)
        for row in 0..<rowCount {
            doubles.append(row % 97 == 0 && row / 1000 % 37 == 5 ? .nan : Double((row &* 7919) % 1000))
            if row % 13 == 0 { validity[row] = false }
        }
        return Column(storage: .double(doubles), validity: validity, type: .double)
    }()
    static let steps = Column(storage: .int(ContiguousArray((0..<rowCount).map { Int64($0 % 5000) - 2500 })), type: .bigint)
    static let groups = Column(storage: .int(ContiguousArray((0..<rowCount).map { Int64($0 / 1000 % 37) })), type: .bigint)

    static func aggregate(_ name: String, _ arguments: [Column], grouped: Bool) throws -> [Value] {
        let executor = Executor(index: RunIndex(
            runs: RunsTable(metadata: [], configs: [], summaries: []),
            history: HistoryTable(count: 0, keys: KeyCatalog(), columnNames: [], storage: HistoryColumns(runRows: [], ids: [], columns: [])),
            warnings: []))
        let function = try #require(AggregateFunction.lookup(name))
        let bound = BoundAggregate(function: function, arguments: [], distinct: false, filter: nil, orderBy: [], span: SourceSpan(start: 0, end: 0))
        let relation = try #require(executor.fastAggregate(grouped ? [groups] : [], [arguments], [bound], rowCount: rowCount, names: grouped ? ["g", name] : [name]))
        return relation.columns.last!.values
    }

    /// The sequential answer per group (one group when not grouped).
    static func reference(_ name: String, grouped: Bool) -> [Value] {
        let groupCount = grouped ? 37 : 1
        func group(_ row: Int) -> Int { grouped ? row / 1000 % 37 : 0 }
        var counts = [Int](repeating: 0, count: groupCount)
        var sums = [Double](repeating: 0, count: groupCount)
        var best = [Int](repeating: -1, count: groupCount)
        var nan = [Int](repeating: -1, count: groupCount)
        guard case .double(let doubles) = values.storage else { return [] }
        for row in 0..<rowCount where values.isValid(row) {
            let g = group(row)
            counts[g] += 1
            sums[g] += doubles[row]
            if doubles[row].isNaN {
                if nan[g] < 0 { nan[g] = row }
                continue
            }
            let isMax = name == "max" || name == "arg_max"
            if best[g] < 0 || (isMax ? doubles[row] > doubles[best[g]] : doubles[row] < doubles[best[g]]) { best[g] = row }
        }
        return (0..<groupCount).map { g -> Value in
            switch name {
            case "count": return .int(Int64(counts[g]))
            case "sum": return .double(sums[g])
            case "avg": return .double(sums[g] / Double(counts[g]))
            default:
                let row = best[g] >= 0 ? best[g] : nan[g]
                return name.hasPrefix("arg") ? steps.value(at: row) : values.value(at: row)
            }
        }
    }

    @Test func integerTotalsAreExact() throws {
        let expectedSum = (0..<Self.rowCount).reduce(Int64(0)) { $0 + Int64($1 % 5000) - 2500 }
        #expect(try Self.aggregate("sum", [Self.steps], grouped: false) == [.int(expectedSum)])
        #expect(try Self.aggregate("count", [Self.steps], grouped: false) == [.int(Int64(Self.rowCount))])
        #expect(try Self.aggregate("avg", [Self.steps], grouped: false) == [.double(Double(expectedSum) / Double(Self.rowCount))])
    }

    @Test(arguments: [true, false])
    func partsMergeToTheSequentialAnswer(grouped: Bool) throws {
        #expect(Parallel.ranges(Self.rowCount).count == min(Parallel.cores, 3))
        for name in ["count", "sum", "avg", "min", "max", "arg_max", "arg_min"] {
            if !grouped, !["count", "sum", "avg"].contains(name) { continue }
            let arguments = name.hasPrefix("arg") ? [Self.steps, Self.values] : [Self.values]
            let actual = try Self.aggregate(name, arguments, grouped: grouped)
            let expected = Self.reference(name, grouped: grouped)
            #expect(actual.count == expected.count, "\(name)")
            for (got, want) in zip(actual, expected) {
                switch (got, want) {
                case let (.double(a), .double(b)) where name == "sum" || name == "avg":
                    // Parts are summed separately: equal up to rounding (NaN where a NaN was summed).
                    #expect(a.isNaN == b.isNaN && (a.isNaN || abs(a - b) <= 1e-9 * max(1, abs(b))), "\(name): \(a) vs \(b)")
                default:
                    #expect(got == want, "\(name): \(got) vs \(want)")
                }
            }
        }
    }
}
