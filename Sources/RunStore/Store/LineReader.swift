#if canImport(Glibc)
import Glibc
#endif

/// Streams a file's lines in large blocks, without copying each line: memory stays bounded by the
/// block size (or the longest line), whatever the file's size.
public struct LineReader {
    public let path: String
    private let blockSize: Int

    public init(path: String, blockSize: Int = 4 << 20) {
        self.path = path
        self.blockSize = blockSize
    }

    /// Calls `body` with each line (without its newline), its 1-based number, and whether it ended
    /// in a newline (false only for a last line cut short). `progress` gets the bytes read so far.
    public func forEachLine(
        progress: ((Int) -> Void)? = nil,
        _ body: (UnsafeBufferPointer<UInt8>, Int, Bool) throws -> Void
    ) throws {
        var lineNumber = 0
        try forEachBlock(progress: progress) { block in
            guard let base = block.baseAddress else { return }
            var lineStart = 0
            while lineStart < block.count {
                lineNumber += 1
                guard let found = memchr(base + lineStart, 0x0A, block.count - lineStart) else {
                    try body(UnsafeBufferPointer(rebasing: block[lineStart...]), lineNumber, false)
                    return
                }
                let lineEnd = UnsafeRawPointer(found) - UnsafeRawPointer(base)
                try body(UnsafeBufferPointer(rebasing: block[lineStart..<lineEnd]), lineNumber, true)
                lineStart = lineEnd + 1
            }
        }
    }

    /// Calls `body` with the file in blocks of whole lines, each what has been read so far up to its
    /// last newline (the buffer grows for a longer line); only the last block may end without one.
    /// With `fill`, a block waits for a full buffer (fewer, larger blocks); without, lines are passed
    /// on as soon as they are read (a pipe's lines as they come). `progress` gets the bytes read so far.
    public func forEachBlock(
        fill: Bool = false, progress: ((Int) -> Void)? = nil,
        _ body: (UnsafeBufferPointer<UInt8>) throws -> Void
    ) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 { throw StoreError("cannot open \(path): \(FileIO.errorText())") }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: max(blockSize, 1))
        var filled = 0
        var totalRead = 0
        var atEnd = false
        while !atEnd {
            if filled == buffer.count { buffer.append(contentsOf: repeatElement(0, count: buffer.count)) }
            let got = buffer.withUnsafeMutableBytes { raw in
                read(descriptor, raw.baseAddress! + filled, raw.count - filled)
            }
            if got < 0 {
                if errno == EINTR { continue }
                throw StoreError("cannot read \(path): \(FileIO.errorText())")
            }
            atEnd = got == 0
            filled += got
            totalRead += got
            if fill, !atEnd, filled < buffer.count { continue }
            let consumed = try buffer.withUnsafeBufferPointer { bytes -> Int in
                var end = filled
                if !atEnd {
                    while end > 0, bytes[end - 1] != UInt8(ascii: "\n") { end -= 1 }
                }
                guard end > 0 else { return 0 }
                try body(UnsafeBufferPointer(rebasing: bytes[..<end]))
                return end
            }
            if consumed > 0 {
                buffer.withUnsafeMutableBytes { raw in
                    let base = raw.baseAddress!
                    memmove(base, base + consumed, filled - consumed)
                }
                filled -= consumed
            }
            progress?(totalRead)
        }
    }
}
