#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@inline(__always) private func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }

/// The few POSIX file operations the store's guarantees rest on: atomic replacement, whole
/// appends under an advisory lock, and reads that tell "missing" from "unreadable".
package enum FileIO {
    static func errorText(_ code: Int32 = errno) -> String {
        String(cString: strerror(code))
    }

    /// A text file's content, or nil when it cannot be read.
    package static func readText(_ path: String) -> String? {
        guard let bytes = try? read(path) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The whole file, or nil when it does not exist.
    package static func read(_ path: String) throws -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            if errno == ENOENT { return nil }
            throw StoreError("cannot open \(path): \(errorText())")
        }
        defer { close(descriptor) }
        return try readAll(descriptor, path: path)
    }

    static func readAll(_ descriptor: Int32, path: String) throws -> [UInt8] {
        var info = stat()
        let sizeHint = fstat(descriptor, &info) == 0 ? Int(info.st_size) : 0
        var bytes = [UInt8](repeating: 0, count: max(sizeHint, 4096))
        var count = 0
        while true {
            if count == bytes.count { bytes.append(contentsOf: repeatElement(0, count: bytes.count)) }
            let got = bytes.withUnsafeMutableBytes { buffer in
                posixRead(descriptor, buffer.baseAddress! + count, buffer.count - count)
            }
            if got < 0 {
                if errno == EINTR { continue }
                throw StoreError("cannot read \(path): \(errorText())")
            }
            if got == 0 { break }
            count += got
        }
        bytes.removeSubrange(count...)
        return bytes
    }

    /// Writes all of `bytes` to `descriptor`, retrying short writes.
    package static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var written = 0
        while written < bytes.count {
            let result = write(descriptor, bytes.baseAddress! + written, bytes.count - written)
            if result < 0 {
                if errno == EINTR { continue }
                throw StoreError("cannot write \(path): \(errorText())")
            }
            written += result
        }
    }

    /// Replaces `path` with `bytes` so that a reader sees either the old file or the new one,
    /// whole: write a temporary file beside it, fsync, rename over, fsync the directory.
    /// With `sync: false` the fsyncs are left to the caller (`RunStore.syncToDisk`), for bulk writers.
    static func writeAtomically(_ bytes: [UInt8], to path: String, sync: Bool = true) throws {
        let directory = parentDirectory(of: path)
        let temporary = "\(directory)/.\(baseName(of: path)).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try writeNew(bytes, to: temporary, sync: sync)
        if rename(temporary, path) != 0 {
            let message = errorText()
            unlink(temporary)
            throw StoreError("cannot replace \(path): \(message)")
        }
        if sync { syncDirectory(directory) }
    }

    /// Creates `path`, which must not exist, with `bytes` (and fsyncs it when `sync`).
    /// A failed write leaves no file behind.
    static func writeNew(_ bytes: [UInt8], to path: String, sync: Bool) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if descriptor < 0 { throw StoreError("cannot create \(path): \(errorText())") }
        do {
            try bytes.withUnsafeBytes { buffer in try writeAll(descriptor, buffer, path: path) }
            if sync, fsync(descriptor) != 0 { throw StoreError("cannot sync \(path): \(errorText())") }
        } catch {
            close(descriptor)
            unlink(path)
            throw error
        }
        close(descriptor)
    }

    static func writeAtomically(_ text: String, to path: String, sync: Bool = true) throws {
        try writeAtomically(Array(text.utf8), to: path, sync: sync)
    }

    /// Makes a rename or a new entry in `directory` durable.
    static func syncDirectory(_ directory: String) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }

    /// `mkdir -p`.
    package static func makeDirectories(_ path: String) throws {
        if isDirectory(path) { return }
        let parent = parentDirectory(of: path)
        if parent != path, !parent.isEmpty { try makeDirectories(parent) }
        if mkdir(path, 0o755) != 0, errno != EEXIST {
            throw StoreError("cannot create directory \(path): \(errorText())")
        }
    }

    /// The names in a directory, without `.`/`..` and without hidden (temporary or lock) files;
    /// empty when the directory does not exist.
    static func list(_ path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name.hasPrefix(".") { continue }
            names.append(name)
        }
        return names.sorted()
    }

    static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    package static func baseName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    package static func size(of path: String) -> Int? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Int(info.st_size)
    }
}

/// An exclusive advisory lock (`flock`) held on a file for the lifetime of a `withLock` call.
/// Processes that write the same run serialise on it; readers never take it.
struct FileLock {
    let path: String

    /// Holds the lock exclusively, or `shared` with other shared holders (excluding exclusive ones).
    func withLock<Result>(shared: Bool = false, _ body: (Int32) throws -> Result) throws -> Result {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if descriptor < 0 { throw StoreError("cannot open lock \(path): \(FileIO.errorText())") }
        defer { close(descriptor) }
        while flock(descriptor, shared ? LOCK_SH : LOCK_EX) != 0 {
            if errno != EINTR { throw StoreError("cannot lock \(path): \(FileIO.errorText())") }
        }
        defer { flock(descriptor, LOCK_UN) }
        return try body(descriptor)
    }
}
