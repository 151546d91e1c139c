#if canImport(Glibc)
import Glibc
#endif

/// The content-addressed file store: `blobs/sha256/XX/DIGEST`, each blob written once however often
/// its content is logged.
struct BlobStore {
    let layout: StoreLayout
    let sync: Bool

    static let chunkSize = 1 << 20

    /// Streams the file at `path` into the store (constant memory): copy to a temporary file while
    /// hashing, fsync, rename into place. Returns the hex digest and the size.
    func put(fileAt path: String) throws -> (digest: String, size: Int64) {
        let source = open(path, O_RDONLY | O_CLOEXEC)
        if source < 0 { throw StoreError("cannot open \(path): \(FileIO.errorText())") }
        defer { close(source) }
        try FileIO.makeDirectories(layout.temporary)
        let temporary = "\(layout.temporary)/blob-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let target = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o444)
        if target < 0 { throw StoreError("cannot create \(temporary): \(FileIO.errorText())") }
        var keepTemporary = false
        defer { if !keepTemporary { unlink(temporary) } }
        let hasher = try SHA256Hasher()
        var size: Int64 = 0
        do {
            defer { close(target) }
            try Self.forEachChunk(of: source, path: path) { chunk in
                hasher.update(chunk)
                try FileIO.writeAll(target, chunk, path: temporary)
                size += Int64(chunk.count)
            }
            if sync, fsync(target) != 0 { throw StoreError("cannot sync \(temporary): \(FileIO.errorText())") }
        }
        let digest = hasher.finish()
        let final = layout.blob(digest)
        if FileIO.exists(final) {
            // Stored before: keep the old copy, and mark it as wanted now (gc spares recent blobs).
            utime(final, nil)
            return (digest, size)
        }
        let directory = FileIO.parentDirectory(of: final)
        try FileIO.makeDirectories(directory)
        if rename(temporary, final) != 0 { throw StoreError("cannot store blob \(final): \(FileIO.errorText())") }
        keepTemporary = true
        if sync { FileIO.syncDirectory(directory) }
        return (digest, size)
    }

    /// Reads `descriptor` to the end in 1 MiB chunks.
    static func forEachChunk(of descriptor: Int32, path: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let got = read(descriptor, buffer.baseAddress!, buffer.count)
            if got < 0 {
                if errno == EINTR { continue }
                throw StoreError("cannot read \(path): \(FileIO.errorText())")
            }
            if got == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
        }
    }

    /// The hex SHA-256 and size of a file's content (nil when it does not exist).
    static func digest(ofFileAt path: String) throws -> (digest: String, size: Int64)? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            if errno == ENOENT { return nil }
            throw StoreError("cannot open \(path): \(FileIO.errorText())")
        }
        defer { close(descriptor) }
        let hasher = try SHA256Hasher()
        var size: Int64 = 0
        try forEachChunk(of: descriptor, path: path) { chunk in
            hasher.update(chunk)
            size += Int64(chunk.count)
        }
        return (hasher.finish(), size)
    }

    /// Every blob's hex digest.
    func allDigests() -> [String] {
        let root = "\(layout.blobs)/sha256"
        return FileIO.list(root).flatMap { fan in FileIO.list("\(root)/\(fan)") }
    }
}
