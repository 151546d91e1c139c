/// A column of values: typed, unboxed storage plus a validity bitmap (nil when every row is valid).
///
/// Kernels switch on `storage` once per column and loop over the typed array; `value(at:)` is
/// the row-at-a-time path for everything else.
public struct Column: Sendable {
    public enum Storage: Sendable {
        case bool(ContiguousArray<Bool>)
        case int(ContiguousArray<Int64>)
        case double(ContiguousArray<Double>)
        case string(ContiguousArray<String>)
        /// Dictionary-encoded strings: each row a code into `dictionary`.
        case dictionary(codes: ContiguousArray<UInt32>, dictionary: StringDictionary)
        /// Microseconds since the epoch.
        case timestamp(ContiguousArray<Int64>)
        /// Anything else, each value with its own type: mixed-type keys, lists, objects, intervals.
        case values(ContiguousArray<Value>)
    }

    public var storage: Storage
    /// Which rows hold a value; nil means all of them.
    public var validity: Bitmap?
    public var type: DataType

    public init(storage: Storage, validity: Bitmap? = nil, type: DataType) {
        self.storage = storage
        self.validity = validity
        self.type = type
    }

    public var count: Int {
        switch storage {
        case .bool(let values): return values.count
        case .int(let values): return values.count
        case .double(let values): return values.count
        case .string(let values): return values.count
        case .dictionary(let codes, _): return codes.count
        case .timestamp(let values): return values.count
        case .values(let values): return values.count
        }
    }

    @inline(__always)
    @inlinable
    public func isValid(_ rowIndex: Int) -> Bool {
        validity?[rowIndex] ?? true
    }

    public func value(at rowIndex: Int) -> Value {
        guard isValid(rowIndex) else { return .null }
        switch storage {
        case .bool(let values): return .bool(values[rowIndex])
        case .int(let values): return .int(values[rowIndex])
        case .double(let values): return .double(values[rowIndex])
        case .string(let values): return .string(values[rowIndex])
        case .dictionary(let codes, let dictionary): return .string(dictionary.strings[Int(codes[rowIndex])])
        case .timestamp(let values): return .timestamp(values[rowIndex])
        case .values(let values): return values[rowIndex]
        }
    }

    /// A column holding `values`, stored in the narrowest form that keeps every value's type.
    public static func from(_ values: some Collection<Value>, type declared: DataType? = nil) -> Column {
        var builder = ColumnBuilder()
        for value in values { builder.append(value) }
        var column = builder.finish()
        if let declared, declared != .null, column.type == .null { column.type = declared }
        return column
    }

    /// A column of `count` copies of `value` (a string is stored once, as a one-entry dictionary).
    public static func constant(_ value: Value, count: Int) -> Column {
        if case .string(let text) = value {
            return Column(storage: .dictionary(codes: ContiguousArray(repeating: 0, count: count), dictionary: StringDictionary([text])), type: .varchar)
        }
        switch value {
        case .int(let number): return Column(storage: .int(ContiguousArray(repeating: number, count: count)), type: .bigint)
        case .double(let number): return Column(storage: .double(ContiguousArray(repeating: number, count: count)), type: .double)
        case .bool(let flag): return Column(storage: .bool(ContiguousArray(repeating: flag, count: count)), type: .boolean)
        case .timestamp(let micros): return Column(storage: .timestamp(ContiguousArray(repeating: micros, count: count)), type: .timestamp)
        default: return from(repeatElement(value, count: count))
        }
    }

    /// The rows at `indices`, in that order (a gather).
    public func gather(_ indices: some Collection<Int>) -> Column {
        if let rows = indices as? [Int] { return rows.withUnsafeBufferPointer(gather(rows:)) }
        return Array(indices).withUnsafeBufferPointer(gather(rows:))
    }

    /// `gather` over an array of rows: plain loops, no generic iteration.
    private func gather(rows: UnsafeBufferPointer<Int>) -> Column {
        var newValidity: Bitmap?
        if let validity {
            var gathered = Bitmap(count: rows.count, value: true)
            for position in 0..<rows.count where !validity[rows[position]] { gathered[position] = false }
            newValidity = gathered
        }
        struct Take: StorageTransform {
            let rows: UnsafeBufferPointer<Int>
            func callAsFunction<Element>(_ array: ContiguousArray<Element>) -> ContiguousArray<Element> {
                array.withUnsafeBufferPointer { source in
                    ContiguousArray(unsafeUninitializedCapacity: rows.count) { target, initialized in
                        for position in 0..<rows.count { (target.baseAddress! + position).initialize(to: source[rows[position]]) }
                        initialized = rows.count
                    }
                }
            }
        }
        return Column(storage: storage.map(Take(rows: rows)), validity: newValidity, type: type)
    }

    /// The rows of `ranges`, one range after another: each range copied whole, not row by row.
    public func slices(_ ranges: [Range<Int>]) -> Column {
        let total = ranges.reduce(0) { $0 + $1.count }
        var newValidity: Bitmap?
        if let validity {
            var copied = Bitmap(count: total, value: true)
            var position = 0
            for range in ranges {
                for row in range {
                    if !validity[row] { copied[position] = false }
                    position += 1
                }
            }
            newValidity = copied
        }
        struct Take: StorageTransform {
            let ranges: [Range<Int>]
            let total: Int
            func callAsFunction<Element>(_ array: ContiguousArray<Element>) -> ContiguousArray<Element> {
                var taken = ContiguousArray<Element>()
                taken.reserveCapacity(total)
                for range in ranges { taken.append(contentsOf: array[range]) }
                return taken
            }
        }
        return Column(storage: storage.map(Take(ranges: ranges, total: total)), validity: newValidity, type: type)
    }

    /// Rows of `indices` where nil stands for a NULL row (the unmatched side of a LEFT JOIN).
    public func gather(optional indices: [Int?]) -> Column {
        Column.from(indices.map { $0.map(value(at:)) ?? .null }, type: type)
    }

    /// All rows as values.
    public var values: [Value] { (0..<count).map(value(at:)) }
}

/// A change of a column's rows that is the same whatever their type (a gather, a slice).
private protocol StorageTransform {
    func callAsFunction<Element>(_ array: ContiguousArray<Element>) -> ContiguousArray<Element>
}

extension Column.Storage {
    /// The storage with `transform` applied to its array (to the codes of a dictionary).
    fileprivate func map(_ transform: some StorageTransform) -> Column.Storage {
        switch self {
        case .bool(let values): return .bool(transform(values))
        case .int(let values): return .int(transform(values))
        case .double(let values): return .double(transform(values))
        case .string(let values): return .string(transform(values))
        case .dictionary(let codes, let dictionary): return .dictionary(codes: transform(codes), dictionary: dictionary)
        case .timestamp(let values): return .timestamp(transform(values))
        case .values(let values): return .values(transform(values))
        }
    }
}

/// Strings by code, for dictionary-encoded columns.
public final class StringDictionary: Sendable {
    public let strings: [String]

    public init(_ strings: [String]) {
        self.strings = strings
    }
}

/// One bit per row.
public struct Bitmap: Sendable, Equatable {
    /// Bit `i` is bit `i % 64` of word `i / 64`; bits past `count` are unspecified.
    @usableFromInline var words: ContiguousArray<UInt64>
    public private(set) var count: Int

    /// A bitmap over `count` rows from its words (as the index cache stores them).
    init(words: ContiguousArray<UInt64>, count: Int) {
        self.words = words
        self.count = count
    }

    public init(count: Int, value: Bool) {
        self.count = count
        words = ContiguousArray(repeating: value ? ~0 : 0, count: (count + 63) / 64)
        // Bits past `count` clear, as appending leaves them: equal bitmaps have equal words.
        if value, count % 64 != 0 { words[words.count - 1] = (1 << UInt64(count % 64)) - 1 }
    }

    public subscript(index: Int) -> Bool {
        @inlinable get { words[index >> 6] & (1 << UInt64(index & 63)) != 0 }
        set {
            if newValue {
                words[index >> 6] |= 1 << UInt64(index & 63)
            } else {
                words[index >> 6] &= ~(1 << UInt64(index & 63))
            }
        }
    }

    /// The bits as 64-bit words, row `i` at bit `i % 64` of word `i / 64`; bits past `count` are unspecified.
    public func withUnsafeWords<Result>(_ body: (UnsafeBufferPointer<UInt64>) throws -> Result) rethrows -> Result {
        try words.withUnsafeBufferPointer(body)
    }

    public mutating func append(_ value: Bool) {
        if count % 64 == 0 { words.append(0) }
        count += 1
        self[count - 1] = value
    }
}

/// Builds a column value by value, keeping a typed array while all values share a type and
/// falling back to `Value`s (each keeping its type) when they do not.
public struct ColumnBuilder {
    private enum Kind { case empty, bool, int, double, string, timestamp, values }

    private var kind = Kind.empty
    private var bools = ContiguousArray<Bool>()
    private var ints = ContiguousArray<Int64>()
    private var doubles = ContiguousArray<Double>()
    private var strings = ContiguousArray<String>()
    private var others = ContiguousArray<Value>()
    private var validity = Bitmap(count: 0, value: true)
    private var hasNull = false
    private var listElementType: DataType = .null
    private var onlyLists = true
    private var onlyObjects = true
    private var onlyIntervals = true

    public init() {}

    public var count: Int { validity.count }

    public mutating func append(_ value: Value) {
        let rowIndex = validity.count
        validity.append(!value.isNull)
        if value.isNull { hasNull = true }
        switch (kind, value) {
        case (.empty, .null): return
        case (.empty, _): start(with: value, nulls: rowIndex)
        case (.bool, .bool(let flag)): bools.append(flag)
        case (.bool, .null): bools.append(false)
        case (.int, .int(let integer)), (.timestamp, .timestamp(let integer)): ints.append(integer)
        case (.int, .null), (.timestamp, .null): ints.append(0)
        case (.double, .double(let number)): doubles.append(number)
        case (.double, .null): doubles.append(0)
        case (.string, .string(let text)): strings.append(text)
        case (.string, .null): strings.append("")
        case (.values, _):
            track(value)
            others.append(value)
        default:
            // A second type: keep every value as itself from now on.
            var all = ContiguousArray<Value>()
            all.reserveCapacity(rowIndex + 1)
            for earlier in 0..<rowIndex { all.append(existing(earlier)) }
            all.append(value)
            others = all
            bools = []
            ints = []
            doubles = []
            strings = []
            kind = .values
            onlyLists = false
            onlyObjects = false
            onlyIntervals = false
        }
    }

    /// Replaces the last value appended (a key written twice in one history line).
    public mutating func replaceLast(_ value: Value) {
        let rowIndex = validity.count - 1
        guard rowIndex >= 0 else { return }
        var all = (0...rowIndex).map(existing)
        all[rowIndex] = value
        self = ColumnBuilder()
        for item in all { append(item) }
    }

    private mutating func track(_ value: Value) {
        switch value {
        case .null: break
        case .list(let elements):
            onlyObjects = false
            onlyIntervals = false
            listElementType = elements.reduce(listElementType) { $0.unified(with: .of($1)) }
        case .object:
            onlyLists = false
            onlyIntervals = false
        case .interval:
            onlyLists = false
            onlyObjects = false
        default:
            onlyLists = false
            onlyObjects = false
            onlyIntervals = false
        }
    }

    private mutating func start(with value: Value, nulls: Int) {
        switch value {
        case .bool(let flag):
            kind = .bool
            bools = ContiguousArray(repeating: false, count: nulls)
            bools.append(flag)
        case .int(let integer), .timestamp(let integer):
            if case .int = value { kind = .int } else { kind = .timestamp }
            ints = ContiguousArray(repeating: 0, count: nulls)
            ints.append(integer)
        case .double(let number):
            kind = .double
            doubles = ContiguousArray(repeating: 0, count: nulls)
            doubles.append(number)
        case .string(let text):
            kind = .string
            strings = ContiguousArray(repeating: "", count: nulls)
            strings.append(text)
        default:
            kind = .values
            track(value)
            others = ContiguousArray(repeating: .null, count: nulls)
            others.append(value)
        }
    }

    private func existing(_ rowIndex: Int) -> Value {
        guard validity[rowIndex] else { return .null }
        switch kind {
        case .empty: return .null
        case .bool: return .bool(bools[rowIndex])
        case .int: return .int(ints[rowIndex])
        case .timestamp: return .timestamp(ints[rowIndex])
        case .double: return .double(doubles[rowIndex])
        case .string: return .string(strings[rowIndex])
        case .values: return others[rowIndex]
        }
    }

    public func finish() -> Column {
        let finalValidity = hasNull ? validity : nil
        switch kind {
        case .empty:
            let count = validity.count
            return Column(storage: .values(ContiguousArray(repeating: .null, count: count)), validity: count > 0 ? Bitmap(count: count, value: false) : nil, type: .null)
        case .bool: return Column(storage: .bool(bools), validity: finalValidity, type: .boolean)
        case .int: return Column(storage: .int(ints), validity: finalValidity, type: .bigint)
        case .timestamp: return Column(storage: .timestamp(ints), validity: finalValidity, type: .timestamp)
        case .double: return Column(storage: .double(doubles), validity: finalValidity, type: .double)
        case .string: return Column(storage: .string(strings), validity: finalValidity, type: .varchar)
        case .values:
            let type: DataType = onlyLists ? .list(listElementType) : onlyObjects ? .object : onlyIntervals ? .interval : .any
            return Column(storage: .values(others), validity: finalValidity, type: type)
        }
    }
}
