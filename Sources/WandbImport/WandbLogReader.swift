/// Reads the framing of a W&B transaction log (`run-<id>.wandb`): the records, whole, with the
/// file offset each starts at.
///
/// ```
/// file   := header block…           header ":W&B" | magic u16 LE 0xBEE1 | version u8 (0 or 1)
/// block  := chunk… [zero padding]   32 KiB from file offset 0 (the header sits in block 0)
/// chunk  := crc u32 LE | length u16 LE | type u8 | payload   (type 1 FULL, 2 FIRST, 3 MIDDLE, 4 LAST)
/// ```
/// The checksum is zlib's CRC-32 over the type byte and the payload. A record is the payload of a
/// FULL chunk, or of FIRST, MIDDLE…, LAST joined; chunks never cross a block boundary.
///
/// A crashed or cut writer leaves a damaged tail: a short chunk, or an unfinished FIRST. The reader
/// keeps every record before the damage. Damage inside the file (a bad checksum, a garbled chunk
/// header) loses the records it touches: reading goes on at the next block's first whole record, as
/// LevelDB's log reader does. `damage` describes every stretch that was not read.
struct WandbLogReader {
    static let blockSize = 32768
    static let headerSize = 7
    private static let chunkHeaderSize = 7

    /// A stretch of the file that could not be read.
    struct Damage: Sendable, Equatable, CustomStringConvertible {
        /// The file offset of the first byte not imported (the start of the record it broke).
        var offset: Int
        var reason: String
        /// Bytes from `offset` that were not imported.
        var bytesLost: Int
        /// Where reading went on; nil when the damage runs to the end of the file.
        var resumedAt: Int?

        var description: String {
            guard let resumedAt else { return "at offset \(offset): \(reason); the last \(bytesLost) bytes were not imported" }
            return "at offset \(offset): \(reason); the \(bytesLost) bytes up to offset \(resumedAt) were not imported, reading went on there"
        }
    }

    private let bytes: [UInt8]
    let path: String
    /// What could not be read, in file order; empty for a clean log.
    private(set) var damage: [Damage] = []

    /// Opens the bytes of a log; throws when they do not start with a W&B log header.
    init(bytes: [UInt8], path: String) throws {
        self.bytes = bytes
        self.path = path
        guard bytes.count >= Self.headerSize else {
            throw WandbImportError(path: path, offset: 0, "file is \(bytes.count) bytes, shorter than the 7-byte W&B log header")
        }
        guard bytes[0] == 0x3A, bytes[1] == 0x57, bytes[2] == 0x26, bytes[3] == 0x42, bytes[4] == 0xE1, bytes[5] == 0xBE else {
            throw WandbImportError(path: path, offset: 0, "not a W&B transaction log (expected the header \":W&B\" 0xBEE1)")
        }
        guard bytes[6] <= 1 else {
            throw WandbImportError(path: path, offset: 6, "unsupported W&B log version \(bytes[6]) (this runql reads versions 0 and 1)")
        }
    }

    /// Calls `body` with each whole record's starting offset and payload, in file order.
    mutating func forEachRecord(_ body: (_ offset: Int, _ payload: ArraySlice<UInt8>) throws -> Void) rethrows {
        let size = bytes.count
        var found: [Damage] = []
        defer { damage = found }
        var position = Self.headerSize
        var pending: [UInt8]? = nil
        var pendingOffset = 0
        // While skipping after damage: where the lost bytes begin, and why.
        var lostFrom: Int? = nil
        var lostReason = ""
        func lose(_ offset: Int, _ reason: String) {
            if lostFrom == nil {
                lostFrom = pending == nil ? offset : pendingOffset
                lostReason = reason
            }
            pending = nil
        }
        func recover(at offset: Int) {
            guard let from = lostFrom else { return }
            found.append(Damage(offset: from, reason: lostReason, bytesLost: offset - from, resumedAt: offset))
            lostFrom = nil
        }
        func nextBlock(after offset: Int) -> Int { (offset / Self.blockSize + 1) * Self.blockSize }

        while position < size {
            let leftInBlock = Self.blockSize - position % Self.blockSize
            if leftInBlock < Self.chunkHeaderSize {
                position += leftInBlock
                continue
            }
            if position + Self.chunkHeaderSize > size {
                lose(position, "the file ends inside a chunk header")
                break
            }
            let crc = UInt32(bytes[position]) | UInt32(bytes[position + 1]) << 8 | UInt32(bytes[position + 2]) << 16
                | UInt32(bytes[position + 3]) << 24
            let length = Int(bytes[position + 4]) | Int(bytes[position + 5]) << 8
            let type = bytes[position + 6]
            if crc == 0 && length == 0 && type == 0 {
                // The zeroed rest of a block.
                position += leftInBlock
                continue
            }
            let start = position + Self.chunkHeaderSize
            let end = start + length
            if length > leftInBlock - Self.chunkHeaderSize {
                lose(position, "a chunk of \(length) bytes at offset \(position) overruns its 32 KiB block")
                position = nextBlock(after: position)
                continue
            }
            if end > size {
                lose(position, "the file ends inside a chunk (\(length) bytes announced at offset \(position), \(size - start) present)")
                break
            }
            let actual = bytes.withUnsafeBufferPointer { CRC32.checksum(prefix: type, UnsafeBufferPointer(rebasing: $0[start..<end])) }
            if actual != crc {
                lose(position, "checksum mismatch in the chunk at offset \(position)")
                position = nextBlock(after: position)
                continue
            }
            switch type {
            case 1, 2:
                recover(at: position)
                if pending != nil {
                    lose(pendingOffset, "a record begun at offset \(pendingOffset) is not finished before the next one")
                    recover(at: position)
                }
                if type == 1 {
                    try body(position, Array(bytes[start..<end])[...])
                } else {
                    pending = Array(bytes[start..<end])
                    pendingOffset = position
                }
            case 3, 4:
                // The rest of a record lost to damage: skipped with it.
                if lostFrom != nil { break }
                guard var record = pending else {
                    lose(position, "a continuation chunk at offset \(position) has no first chunk")
                    break
                }
                pending = nil
                record.append(contentsOf: bytes[start..<end])
                if type == 4 {
                    try body(pendingOffset, record[...])
                } else {
                    pending = record
                }
            default:
                lose(position, "unknown chunk type \(type) at offset \(position)")
                position = nextBlock(after: position)
                continue
            }
            position = end
        }
        if pending != nil {
            lose(pendingOffset, "the file ends inside a record that spans several chunks (begun at offset \(pendingOffset))")
        }
        if let from = lostFrom {
            found.append(Damage(offset: from, reason: lostReason, bytesLost: size - from, resumedAt: nil))
        }
    }
}

/// A problem reading W&B data, naming the file and, for the transaction log, the byte offset.
public struct WandbImportError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var offset: Int?
    public var message: String

    init(path: String, offset: Int? = nil, _ message: String) {
        self.path = path
        self.offset = offset
        self.message = message
    }

    public var description: String {
        if let offset { return "\(path): offset \(offset): \(message)" }
        return "\(path): \(message)"
    }
}
