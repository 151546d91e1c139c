import Foundation
@_exported import TestSupport
@testable import RunStore

/// Runs the built `runql` binary, as a user's shell would.
enum CLI {
    /// The `runql` executable beside the test bundle (swift test builds it), or `$RUNQL_BINARY`.
    static let binary: String = {
        if let explicit = ProcessInfo.processInfo.environment["RUNQL_BINARY"] { return explicit }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("runql").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        return ".build/debug/runql"
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `runql ARGUMENTS` to completion in `directory`, with `input` on stdin.
    @discardableResult
    static func run(_ arguments: [String], in directory: String? = nil, input: String? = nil, environment: [String: String] = [:]) throws -> Result {
        let process = start(arguments, in: directory, environment: environment)
        let stdinPipe = Pipe()
        let stdoutPipe = Pipe()
        let stderrPipe = Pipe()
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        try process.run()
        let writer = Thread {
            if let input { stdinPipe.fileHandleForWriting.write(Data(input.utf8)) }
            try? stdinPipe.fileHandleForWriting.close()
        }
        writer.start()
        let errorData = LockedData()
        let errorReader = Thread { errorData.set(stderrPipe.fileHandleForReading.readDataToEndOfFile()) }
        errorReader.start()
        let output = stdoutPipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errorData.isSet { usleep(1000) }
        return Result(
            status: process.terminationStatus, stdout: String(decoding: output, as: UTF8.self),
            stderr: String(decoding: errorData.value, as: UTF8.self))
    }

    /// A `runql` process set up but not started.
    static func start(_ arguments: [String], in directory: String? = nil, environment: [String: String] = [:]) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        var merged = ProcessInfo.processInfo.environment
        merged["RUNQL_STORE"] = nil
        merged["RUNQL_ENTITY"] = nil
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        return process
    }
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?

    func set(_ newValue: Data) { lock.withLock { data = newValue } }
    var isSet: Bool { lock.withLock { data != nil } }
    var value: Data { lock.withLock { data ?? Data() } }
}
