import Foundation
import RunStore

#if canImport(Glibc)
import Glibc
#endif

/// What runql learns about the machine and the user it runs for.
enum Environment {
    static var variables: [String: String] { ProcessInfo.processInfo.environment }

    /// The user's login name: `$USER`-independent when the password database knows the user.
    static var userName: String {
        if let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name {
            return String(cString: name)
        }
        return variables["USER"] ?? variables["LOGNAME"] ?? "unknown"
    }

    /// The default entity of new runs: `$RUNQL_ENTITY`, else the login name.
    static var defaultEntity: String {
        if let entity = variables["RUNQL_ENTITY"], !entity.isEmpty { return entity }
        return userName
    }

    /// The time to record as "now" in new artifact versions and lineage: `$SOURCE_DATE_EPOCH` when
    /// set (the reproducible-builds convention, for stores rebuilt byte for byte), else the clock.
    static var recordedNow: Double {
        if let epoch = variables["SOURCE_DATE_EPOCH"].flatMap(Double.init) { return epoch }
        return Timestamp.now()
    }

    static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "unknown" }
        return String(cString: buffer)
    }

    static var workingDirectory: String {
        FileManager.default.currentDirectoryPath
    }

    /// The commit checked out in the git work tree around `directory`, or nil outside one
    /// (or when git is not installed).
    static func gitCommit(in directory: String) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", directory, "rev-parse", "--verify", "--quiet", "HEAD"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return nil
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        let commit = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return commit.isEmpty ? nil : commit
    }

    /// An absolute form of `path` (so that a child process in another directory finds it).
    static func absolutePath(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: workingDirectory)).standardizedFileURL.path
    }
}
