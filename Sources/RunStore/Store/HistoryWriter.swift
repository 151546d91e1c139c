#if canImport(Glibc)
import Glibc
#endif

/// Appends steps to one run's `history.jsonl`.
///
/// Each `append` takes the file's advisory lock, so writers in several processes never interleave
/// within a line; the batch goes out in one `write`. Before writing, a file that does not end in a
/// newline (a writer was killed mid-line) gets one, so the torn fragment stays a line of its own
/// that readers skip, and never swallows the next step.
public final class HistoryWriter {
    public let location: RunLocation
    private let path: String
    private let descriptor: Int32
    /// The file size after our last write, and the last `_step` in the file at that size.
    private var knownSize = -1
    private var lastStep: Int64?

    public init(store: RunStore, location: RunLocation) throws {
        guard store.exists(location) else { throw StoreError("no run \(location) in the store at \(store.root)") }
        self.location = location
        path = store.layout.runFile(location, .history)
        descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        if descriptor < 0 { throw StoreError("cannot open \(path): \(FileIO.errorText())") }
    }

    deinit {
        close(descriptor)
    }

    /// Appends the steps in order. A step without `_step` gets the last step in the file plus one
    /// (0 for the first); returns the steps written.
    @discardableResult
    public func append(_ steps: [JSONObject]) throws -> [Int64] {
        try locked { () throws -> [Int64] in
            var text = ""
            var written: [Int64] = []
            for var step in steps {
                let number: Int64
                if let explicit = step["_step"] {
                    guard let value = explicit.integerValue, value >= 0 else {
                        throw StoreError("_step must be a non-negative integer, not \(JSONWriter.compact(explicit))")
                    }
                    number = value
                    step["_step"] = .int(value)
                } else {
                    number = (lastStep ?? -1) + 1
                    step.updateValue(.int(number), forKey: "_step", insertingAt: 0)
                }
                try RunStore.checkNesting(.object(step), of: "step \(number) of run \(location)")
                lastStep = number
                written.append(number)
                JSONWriter.write(.object(step), into: &text, indent: nil, level: 0)
                text.append("\n")
            }
            try write(Array(text.utf8))
            return written
        }
    }

    /// Appends lines that are already encoded (each ending in a newline); the caller vouches
    /// that each is one JSON object with an integer `_step`, the last of which is `lastStep`.
    public func appendEncoded(_ lines: [UInt8], lastStep: Int64?) throws {
        guard !lines.isEmpty else { return }
        try locked { () throws in
            try write(lines)
            if let lastStep { self.lastStep = lastStep }
        }
    }

    /// The last `_step` in the file (nil when it has none).
    public func currentLastStep() throws -> Int64? {
        try locked { () throws -> Int64? in lastStep }
    }

    private func locked<Result>(_ body: () throws -> Result) throws -> Result {
        while flock(descriptor, LOCK_EX) != 0 {
            if errno != EINTR { throw StoreError("cannot lock \(path): \(FileIO.errorText())") }
        }
        defer { flock(descriptor, LOCK_UN) }
        try catchUp()
        return try body()
    }

    /// After taking the lock: if another writer changed the file since we last wrote, find the
    /// last step again, and end a torn last line.
    private func catchUp() throws {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw StoreError("cannot stat \(path): \(FileIO.errorText())") }
        let size = Int(info.st_size)
        guard size != knownSize else { return }
        lastStep = nil
        knownSize = size
        guard size > 0 else { return }
        let reader = open(path, O_RDONLY | O_CLOEXEC)
        guard reader >= 0 else { throw StoreError("cannot open \(path): \(FileIO.errorText())") }
        defer { close(reader) }
        var lastByte: UInt8 = 0
        if pread(reader, &lastByte, 1, off_t(size - 1)) == 1, lastByte != UInt8(ascii: "\n") {
            try write([UInt8(ascii: "\n")])
        }
        lastStep = Self.findLastStep(reader, size: size)
    }

    /// Reads backwards from the end, in growing blocks, to the last whole line that has a `_step`.
    static func findLastStep(_ reader: Int32, size: Int) -> Int64? {
        var blockSize = 64 * 1024
        while true {
            let start = max(0, size - blockSize)
            var block = [UInt8](repeating: 0, count: size - start)
            let got = block.withUnsafeMutableBytes { pread(reader, $0.baseAddress!, $0.count, off_t(start)) }
            guard got == block.count else { return nil }
            let found: Int64?? = block.withUnsafeBufferPointer { buffer in
                var lineEnd = buffer.count
                while lineEnd > 0 {
                    var lineStart = lineEnd - 1
                    while lineStart > 0, buffer[lineStart - 1] != UInt8(ascii: "\n") { lineStart -= 1 }
                    // A line cut by the block's start is not whole: read a larger block.
                    if lineStart == 0, start > 0 { return .none }
                    let line = UnsafeBufferPointer(rebasing: buffer[lineStart..<lineEnd])
                    if let members = try? JSONLineScanner.members(of: line),
                        let stepMember = members.last(where: { $0.keyIs("_step", in: line) }),
                        let step = try? JSONLineScanner.value(stepMember, in: line).integerValue
                    {
                        return .some(step)
                    }
                    lineEnd = lineStart - 1
                }
                return .some(nil)
            }
            if let found { return found }
            if start == 0 { return nil }
            blockSize *= 4
        }
    }

    private func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { buffer throws in try FileIO.writeAll(descriptor, buffer, path: path) }
        knownSize += bytes.count
    }
}
