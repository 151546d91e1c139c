import RunStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The binary form of the index cache (`docs/STORE.md`, "The index cache", is the reference):
// a container of checksummed sections, and the encodings of columns and values inside them.

/// Why a cache file cannot be used: missing, truncated, corrupt, of another format version, or unreadable.
struct IndexCacheError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// A 64-bit checksum over 8-byte little-endian words in four lanes (multiply, rotate, xor), then
/// the tail bytes and the length. Every lane step is a bijection of its state for a fixed input and
/// of its input for a fixed state, so a change confined to one word always changes the result.
enum CacheChecksum {
    private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let prime3: UInt64 = 0x1656_67B1_9E37_79F9

    @inline(__always)
    private static func round(_ lane: UInt64, _ word: UInt64) -> UInt64 {
        let mixed = (lane ^ word) &* prime1
        return ((mixed << 31) | (mixed >> 33)) &* prime2
    }

    static func of(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var lanes: (UInt64, UInt64, UInt64, UInt64) = (prime1, prime2, prime3, prime1 ^ prime2)
        let wordCount = bytes.count / 8
        var word = 0
        if let base = bytes.baseAddress {
            while word + 4 <= wordCount {
                let at = base + word * 8
                lanes.0 = round(lanes.0, UInt64(littleEndian: at.loadUnaligned(as: UInt64.self)))
                lanes.1 = round(lanes.1, UInt64(littleEndian: at.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
                lanes.2 = round(lanes.2, UInt64(littleEndian: at.loadUnaligned(fromByteOffset: 16, as: UInt64.self)))
                lanes.3 = round(lanes.3, UInt64(littleEndian: at.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
                word += 4
            }
            while word < wordCount {
                lanes.0 = round(lanes.0, UInt64(littleEndian: (base + word * 8).loadUnaligned(as: UInt64.self)))
                word += 1
            }
        }
        var tail: UInt64 = 0
        for index in (wordCount * 8)..<bytes.count { tail |= UInt64(bytes[index]) << UInt64(8 * (index - wordCount * 8)) }
        var result = round(lanes.0, tail)
        result = round(result ^ lanes.1, UInt64(bytes.count))
        result = round(result ^ lanes.2, lanes.3)
        return result ^ (result >> 29)
    }

    static func of(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { of($0) }
    }
}

/// Bytes being encoded: little-endian integers, length-prefixed strings, and raw arrays aligned to 8 bytes.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    mutating func u8(_ value: UInt8) { bytes.append(value) }

    mutating func u32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func u64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func int(_ value: Int) { u64(UInt64(bitPattern: Int64(value))) }
    mutating func i64(_ value: Int64) { u64(UInt64(bitPattern: value)) }

    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            u32(UInt32(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    mutating func strings(_ values: [String]) {
        u32(UInt32(values.count))
        for value in values { string(value) }
    }

    mutating func blob(_ value: [UInt8]) {
        u32(UInt32(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func align() {
        while bytes.count % 8 != 0 { bytes.append(0) }
    }

    /// The elements' bytes as they are in memory (the cache is written and read on little-endian machines).
    mutating func raw<Element: BitwiseCopyable>(_ values: ContiguousArray<Element>) {
        align()
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }
}

/// Reads what `ByteWriter` wrote; every read is bounds-checked and throws on a short or malformed section.
struct ByteReader {
    let base: UnsafeRawBufferPointer
    private(set) var offset = 0

    init(_ base: UnsafeRawBufferPointer) {
        self.base = base
    }

    var isAtEnd: Bool { offset == base.count }

    private mutating func take(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard count >= 0, count <= base.count - offset else { throw IndexCacheError("a section ends early") }
        let slice = UnsafeRawBufferPointer(rebasing: base[offset..<(offset + count)])
        offset += count
        return slice
    }

    mutating func u8() throws -> UInt8 { try take(1)[0] }
    mutating func u32() throws -> UInt32 { UInt32(littleEndian: try take(4).loadUnaligned(as: UInt32.self)) }
    mutating func u64() throws -> UInt64 { UInt64(littleEndian: try take(8).loadUnaligned(as: UInt64.self)) }
    mutating func i64() throws -> Int64 { Int64(bitPattern: try u64()) }

    /// A non-negative count or offset that fits the section (a guard against a corrupt length).
    mutating func int() throws -> Int {
        let value = try i64()
        guard value >= 0, value <= Int64(Int32.max) * 64 else { throw IndexCacheError("a count is out of range") }
        return Int(value)
    }

    mutating func string() throws -> String {
        let count = Int(try u32())
        return String(decoding: try take(count), as: UTF8.self)
    }

    mutating func strings() throws -> [String] {
        let count = Int(try u32())
        guard count <= base.count - offset else { throw IndexCacheError("a list is longer than its section") }
        return try (0..<count).map { _ in try string() }
    }

    mutating func blob() throws -> UnsafeRawBufferPointer {
        try take(Int(try u32()))
    }

    mutating func align() throws {
        let padding = (8 - offset % 8) % 8
        _ = try take(padding)
    }

    mutating func raw<Element: BitwiseCopyable>(_ type: Element.Type, count: Int) throws -> ContiguousArray<Element> {
        try align()
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<Element>.stride)
        guard !overflow else { throw IndexCacheError("an array is too long") }
        let source = try take(byteCount)
        return ContiguousArray(unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: source) }
            initialized = count
        }
    }
}

// MARK: Container files

/// The container of every cache file:
///
/// ```
/// 0   magic "runqlidx"                       8 bytes
/// 8   format version (UInt32), file kind (UInt32: 1 manifest, 2 history segment)
/// 16  section count n (UInt64)
/// 24  n × (offset, length, checksum)         UInt64 each
///     checksum of bytes 0 ..< 24 + 24n        UInt64
///     sections, each starting at a multiple of 8
/// ```
enum CacheContainer {
    static let magic: [UInt8] = Array("runqlidx".utf8)
    /// Bumped whenever anything in a cache file changes meaning; another version is rebuilt, never read.
    static let formatVersion: UInt32 = 1

    enum Kind: UInt32 {
        case manifest = 1
        case segment = 2
    }

    /// Writes `count` sections, made one at a time by `section`, to a new file at `path` (which must
    /// not exist) and fsyncs it. A failed write leaves no file.
    static func write(count: Int, kind: Kind, to path: String, section makeSection: (Int) throws -> [UInt8]) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw IndexCacheError("cannot create \(path): \(String(cString: strerror(errno)))") }
        do {
            let headerSize = 24 + 24 * count + 8
            var offset = (headerSize + 7) / 8 * 8
            var directory: [(offset: Int, length: Int, checksum: UInt64)] = []
            for index in 0..<count {
                let section = try makeSection(index)
                try section.withUnsafeBytes { bytes in try writeAll(descriptor, bytes, at: offset, path: path) }
                directory.append((offset, section.count, CacheChecksum.of(section)))
                offset = (offset + section.count + 7) / 8 * 8
            }
            var header = ByteWriter()
            for byte in magic { header.u8(byte) }
            header.u32(formatVersion)
            header.u32(kind.rawValue)
            header.int(count)
            for entry in directory {
                header.int(entry.offset)
                header.int(entry.length)
                header.u64(entry.checksum)
            }
            header.u64(CacheChecksum.of(header.bytes))
            try header.bytes.withUnsafeBytes { try writeAll(descriptor, $0, at: 0, path: path) }
            if ftruncate(descriptor, off_t(offset)) != 0 || fsync(descriptor) != 0 {
                throw IndexCacheError("cannot write \(path): \(String(cString: strerror(errno)))")
            }
        } catch {
            close(descriptor)
            unlink(path)
            throw error
        }
        close(descriptor)
    }

    private static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String) throws {
        var written = 0
        while written < bytes.count {
            let result = pwrite(descriptor, bytes.baseAddress! + written, bytes.count - written, off_t(offset + written))
            if result < 0 {
                if errno == EINTR { continue }
                throw IndexCacheError("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            written += result
        }
    }
}

/// An open cache file: its directory checked at open, each section checked when it is read.
///
/// The descriptor stays open for the file's lifetime, so a writer replacing or deleting the file
/// meanwhile does not disturb lazy reads (cache files are never modified after their rename).
final class CacheFile: Sendable {
    let path: String
    private let descriptor: Int32
    private let directory: [(offset: Int, length: Int, checksum: UInt64)]

    var sectionCount: Int { directory.count }

    init(path: String, kind: CacheContainer.Kind) throws {
        self.path = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw IndexCacheError("cannot open \(path): \(String(cString: strerror(errno)))") }
        do {
            var info = stat()
            guard fstat(descriptor, &info) == 0 else { throw IndexCacheError("cannot stat \(path)") }
            let fileSize = Int(info.st_size)
            let fixed = try Self.read(descriptor, at: 0, count: 24, path: path)
            guard Array(fixed[0..<8]) == CacheContainer.magic else { throw IndexCacheError("\(path) is not a runql index cache file") }
            let (sectionCount, formatVersion, kindValue): (UInt64, UInt32, UInt32) = fixed.withUnsafeBytes { bytes in
                (UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
                 UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)),
                 UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self)))
            }
            guard formatVersion == CacheContainer.formatVersion else {
                throw IndexCacheError("\(path) is format version \(formatVersion); this runql reads version \(CacheContainer.formatVersion)")
            }
            guard kindValue == kind.rawValue else { throw IndexCacheError("\(path) is not a \(kind) file") }
            guard sectionCount < 1 << 20, 24 + 24 * Int(sectionCount) + 8 <= fileSize else { throw IndexCacheError("\(path) is truncated") }
            let headerSize = 24 + 24 * Int(sectionCount)
            let header = try Self.read(descriptor, at: 0, count: headerSize + 8, path: path)
            directory = try header.withUnsafeBytes { bytes in
                let stored = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: headerSize, as: UInt64.self))
                guard CacheChecksum.of(UnsafeRawBufferPointer(rebasing: bytes[0..<headerSize])) == stored else {
                    throw IndexCacheError("\(path): its directory is corrupt")
                }
                var reader = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[24..<headerSize]))
                return try (0..<Int(sectionCount)).map { _ in
                    let entry = (offset: Int(try reader.u64()), length: Int(try reader.u64()), checksum: try reader.u64())
                    guard entry.offset >= 0, entry.length >= 0, entry.offset <= fileSize, entry.length <= fileSize - entry.offset else {
                        throw IndexCacheError("\(path) is truncated")
                    }
                    return entry
                }
            }
        } catch {
            close(descriptor)
            throw error
        }
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    /// The bytes of section `index`, after checking its checksum.
    func section(_ index: Int) throws -> [UInt8] {
        guard index >= 0, index < directory.count else { throw IndexCacheError("\(path) has no section \(index)") }
        let entry = directory[index]
        let bytes = try Self.read(descriptor, at: entry.offset, count: entry.length, path: path)
        guard CacheChecksum.of(bytes) == entry.checksum else { throw IndexCacheError("\(path): section \(index) is corrupt") }
        return bytes
    }

    private static func read(_ descriptor: Int32, at offset: Int, count: Int, path: String) throws -> [UInt8] {
        var bytes = [UInt8](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
        var done = 0
        try bytes.withUnsafeMutableBytes { buffer in
            while done < count {
                let got = pread(descriptor, buffer.baseAddress! + done, count - done, off_t(offset + done))
                if got < 0 {
                    if errno == EINTR { continue }
                    throw IndexCacheError("cannot read \(path): \(String(cString: strerror(errno)))")
                }
                if got == 0 { throw IndexCacheError("\(path) is truncated") }
                done += got
            }
        }
        return bytes
    }
}

// MARK: Columns and values

/// The encoding of a `Column`: storage kind, type, row count, validity words, then the storage.
enum ColumnCodec {
    private enum StorageKind: UInt8 {
        case bool = 0, int, double, string, dictionary, timestamp, values
    }

    static func encode(_ column: Column, into writer: inout ByteWriter) {
        let kind: StorageKind
        switch column.storage {
        case .bool: kind = .bool
        case .int: kind = .int
        case .double: kind = .double
        case .string: kind = .string
        case .dictionary: kind = .dictionary
        case .timestamp: kind = .timestamp
        case .values: kind = .values
        }
        writer.u8(kind.rawValue)
        encode(column.type, into: &writer)
        writer.int(column.count)
        if let validity = column.validity {
            writer.u8(1)
            writer.raw(validity.words)
        } else {
            writer.u8(0)
        }
        switch column.storage {
        case .bool(let values): writer.raw(ContiguousArray(values.lazy.map { $0 ? UInt8(1) : 0 }))
        case .int(let values), .timestamp(let values): writer.raw(values)
        case .double(let values): writer.raw(values)
        case .string(let values): encodeStrings(values, into: &writer)
        case .dictionary(let codes, let dictionary):
            writer.raw(codes)
            encodeStrings(ContiguousArray(dictionary.strings), into: &writer)
        case .values(let values):
            for value in values { encode(value, into: &writer) }
        }
    }

    static func decode(_ reader: inout ByteReader) throws -> Column {
        guard let kind = StorageKind(rawValue: try reader.u8()) else { throw IndexCacheError("unknown column storage") }
        let type = try decodeType(&reader)
        let count = try reader.int()
        var validity: Bitmap?
        if try reader.u8() == 1 {
            validity = Bitmap(words: try reader.raw(UInt64.self, count: (count + 63) / 64), count: count)
        }
        let storage: Column.Storage
        switch kind {
        case .bool: storage = .bool(ContiguousArray(try reader.raw(UInt8.self, count: count).lazy.map { $0 != 0 }))
        case .int: storage = .int(try reader.raw(Int64.self, count: count))
        case .timestamp: storage = .timestamp(try reader.raw(Int64.self, count: count))
        case .double: storage = .double(try reader.raw(Double.self, count: count))
        case .string: storage = .string(try decodeStrings(&reader))
        case .dictionary:
            let codes = try reader.raw(UInt32.self, count: count)
            let strings = try decodeStrings(&reader)
            guard codes.allSatisfy({ Int($0) < strings.count }) else { throw IndexCacheError("a dictionary code is out of range") }
            storage = .dictionary(codes: codes, dictionary: StringDictionary(Array(strings)))
        case .values:
            var values = ContiguousArray<Value>()
            values.reserveCapacity(count)
            for _ in 0..<count { values.append(try decodeValue(&reader, depth: 0)) }
            storage = .values(values)
        }
        let column = Column(storage: storage, validity: validity, type: type)
        guard column.count == count else { throw IndexCacheError("a column's length does not match its rows") }
        return column
    }

    /// Strings as one offsets array and one byte array (offsets[i] ..< offsets[i + 1] is string i).
    private static func encodeStrings(_ values: ContiguousArray<String>, into writer: inout ByteWriter) {
        var offsets = ContiguousArray<UInt64>()
        offsets.reserveCapacity(values.count + 1)
        var text = ContiguousArray<UInt8>()
        offsets.append(0)
        for var value in values {
            value.withUTF8 { text.append(contentsOf: $0) }
            offsets.append(UInt64(text.count))
        }
        writer.int(values.count)
        writer.raw(offsets)
        writer.raw(text)
    }

    private static func decodeStrings(_ reader: inout ByteReader) throws -> ContiguousArray<String> {
        let count = try reader.int()
        let offsets = try reader.raw(UInt64.self, count: count + 1)
        let total = Int(offsets[count])
        let text = try reader.raw(UInt8.self, count: total)
        var strings = ContiguousArray<String>()
        strings.reserveCapacity(count)
        try text.withUnsafeBufferPointer { buffer in
            for index in 0..<count {
                let start = Int(offsets[index])
                let end = Int(offsets[index + 1])
                guard start <= end, end <= total else { throw IndexCacheError("a string offset is out of range") }
                strings.append(String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<end]), as: UTF8.self))
            }
        }
        return strings
    }

    static func encode(_ type: DataType, into writer: inout ByteWriter) {
        switch type {
        case .boolean: writer.u8(0)
        case .bigint: writer.u8(1)
        case .double: writer.u8(2)
        case .varchar: writer.u8(3)
        case .timestamp: writer.u8(4)
        case .interval: writer.u8(5)
        case .list(let element):
            writer.u8(6)
            encode(element, into: &writer)
        case .object: writer.u8(7)
        case .any: writer.u8(8)
        case .null: writer.u8(9)
        }
    }

    static func decodeType(_ reader: inout ByteReader, depth: Int = 0) throws -> DataType {
        guard depth < 64 else { throw IndexCacheError("a type is nested too deeply") }
        switch try reader.u8() {
        case 0: return .boolean
        case 1: return .bigint
        case 2: return .double
        case 3: return .varchar
        case 4: return .timestamp
        case 5: return .interval
        case 6: return .list(try decodeType(&reader, depth: depth + 1))
        case 7: return .object
        case 8: return .any
        case 9: return .null
        default: throw IndexCacheError("unknown column type")
        }
    }

    /// One value: a tag byte, then its payload (objects as compact JSON text).
    static func encode(_ value: Value, into writer: inout ByteWriter) {
        switch value {
        case .null: writer.u8(0)
        case .bool(let flag):
            writer.u8(1)
            writer.u8(flag ? 1 : 0)
        case .int(let integer):
            writer.u8(2)
            writer.i64(integer)
        case .double(let number):
            writer.u8(3)
            writer.u64(number.bitPattern)
        case .string(let text):
            writer.u8(4)
            writer.string(text)
        case .timestamp(let micros):
            writer.u8(5)
            writer.i64(micros)
        case .interval(let interval):
            writer.u8(6)
            writer.i64(interval.months)
            writer.i64(interval.days)
            writer.i64(interval.micros)
        case .list(let elements):
            writer.u8(7)
            writer.u32(UInt32(elements.count))
            for element in elements { encode(element, into: &writer) }
        case .object(let object):
            writer.u8(8)
            writer.string(JSONWriter.compact(.object(object)))
        }
    }

    static func decodeValue(_ reader: inout ByteReader, depth: Int) throws -> Value {
        guard depth < 512 else { throw IndexCacheError("a value is nested too deeply") }
        switch try reader.u8() {
        case 0: return .null
        case 1: return .bool(try reader.u8() != 0)
        case 2: return .int(try reader.i64())
        case 3: return .double(Double(bitPattern: try reader.u64()))
        case 4: return .string(try reader.string())
        case 5: return .timestamp(try reader.i64())
        case 6: return .interval(Interval(months: try reader.i64(), days: try reader.i64(), micros: try reader.i64()))
        case 7:
            let count = Int(try reader.u32())
            var elements: [Value] = []
            for _ in 0..<count { elements.append(try decodeValue(&reader, depth: depth + 1)) }
            return .list(elements)
        case 8:
            guard case .object(let object) = try? JSONParser.parse(try reader.string()) else { throw IndexCacheError("a stored object is not JSON") }
            return .object(object)
        default: throw IndexCacheError("unknown value tag")
        }
    }
}
