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
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 { throw StoreError("cannot open \(path): \(FileIO.errorText())") }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: blockSize)
        var filled = 0
        var lineNumber = 0
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
            let consumed = try buffer.withUnsafeBufferPointer { bytes -> Int in
                var lineStart = 0
                var searchFrom = 0
                while searchFrom < filled {
                    guard let found = memchr(bytes.baseAddress! + searchFrom, 0x0A, filled - searchFrom) else { break }
                    let lineEnd = UnsafeRawPointer(found) - UnsafeRawPointer(bytes.baseAddress!)
                    lineNumber += 1
                    try body(UnsafeBufferPointer(rebasing: bytes[lineStart..<lineEnd]), lineNumber, true)
                    lineStart = lineEnd + 1
                    searchFrom = lineStart
                }
                if atEnd, lineStart < filled {
                    lineNumber += 1
                    try body(UnsafeBufferPointer(rebasing: bytes[lineStart..<filled]), lineNumber, false)
                    lineStart = filled
                }
                return lineStart
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
