import ArgumentParser
import Foundation
import RunStore

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Write runs: start one, log history, set summary values, finish it, or wrap a command.",
        discussion: """
            RUN is a run id, or entity/project/id when the id alone is ambiguous.

            KEY=VALUE: KEY is a path of nested keys separated by '.' (write '\\.' for a literal dot); \
            VALUE is read as JSON when it is valid JSON (1, 0.5, true, null, [1,2], {"a":1}, "text", \
            NaN) and kept as a string otherwise.
            """,
        subcommands: [
            StartRun.self, LogRun.self, SummaryRun.self, FinishRun.self, ExecRun.self, ListRuns.self, ShowRun.self,
        ]
    )
}

/// The options that describe a new run (`run start` and `run exec`).
struct NewRunOptions: ParsableArguments {
    @Option(help: "The project the run belongs to.")
    var project: String

    @Option(help: "The entity (team or user) that owns the project (default: $RUNQL_ENTITY, else your login name).")
    var entity: String?

    @Option(help: "A human-readable name.")
    var name: String?

    @Option(help: "A group, e.g. a sweep or an experiment.")
    var group: String?

    @Option(name: .customLong("job-type"), help: "What kind of job this is, e.g. train or eval.")
    var jobType: String?

    @Option(name: .customLong("tag"), help: "A tag (repeatable).")
    var tags: [String] = []

    @Option(help: "Free-form notes.")
    var notes: String?

    @Option(name: .customLong("config"), help: ArgumentHelp("A config value (repeatable).", valueName: "key=value"))
    var configValues: [String] = []

    @Option(name: .customLong("config-file"), help: ArgumentHelp("A JSON object of config values, applied before --config.", valueName: "file.json"))
    var configFile: String?

    func config() throws -> JSONObject {
        var config = JSONObject()
        if let configFile {
            guard let data = FileManager.default.contents(atPath: configFile) else {
                throw StoreError("cannot read the config file \(configFile)")
            }
            let value: JSONValue
            do {
                value = try JSONParser.parse([UInt8](data))
            } catch {
                throw StoreError("\(configFile): \(error)")
            }
            guard case .object(let object) = value else { throw StoreError("\(configFile): expected a JSON object") }
            config = object
        }
        for argument in configValues {
            let assignment = try KeyAssignment(parsing: argument)
            config.setValue(assignment.value, at: assignment.path)
        }
        return config
    }

    /// The new run's metadata, recorded without being asked: user, host, time, directory, git commit.
    func metadata(command: [String]? = nil) -> RunMetadata {
        var metadata = RunMetadata(id: "", entity: entity ?? Environment.defaultEntity, project: project)
        metadata.name = name
        metadata.group = group
        metadata.jobType = jobType
        metadata.tags = tags
        metadata.notes = notes
        metadata.state = .running
        metadata.user = Environment.userName
        metadata.host = Environment.hostName
        metadata.createdAt = Timestamp.now()
        metadata.updatedAt = metadata.createdAt
        metadata.workingDirectory = Environment.workingDirectory
        metadata.gitCommit = Environment.gitCommit(in: Environment.workingDirectory)
        metadata.command = command
        return metadata
    }
}

struct StartRun: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start a run and print its id.")

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var newRun: NewRunOptions

    func run() throws {
        let store = try storeOptions.open()
        let started = try store.startRun(newRun.metadata(), config: newRun.config())
        Console.output(started.id + "\n")
    }
}

struct LogRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Append a step to a run's history.",
        discussion: """
            With KEY=VALUE arguments, appends one step. With '-', reads one JSON object per line from \
            stdin, each a step. A step without _step gets the run's last step plus one; steps without \
            _timestamp get the current time.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "The step number (default: the last step plus one).")
    var step: Int64?

    @Argument(help: ArgumentHelp("The run.", valueName: "run"))
    var runReference: String

    @Argument(help: ArgumentHelp("Values to log, or '-' to read JSON lines from stdin.", valueName: "key=value"))
    var values: [String] = []

    func validate() throws {
        if values.isEmpty { throw ValidationError("give KEY=VALUE arguments, or '-' to read steps from stdin") }
        if values.contains("-"), values.count > 1 { throw ValidationError("'-' reads steps from stdin; do not mix it with KEY=VALUE") }
        if values == ["-"], step != nil { throw ValidationError("--step applies to KEY=VALUE steps; put _step in the JSON lines instead") }
    }

    func run() throws {
        let store = try storeOptions.open()
        let location = try store.resolveRun(runReference)
        let writer = try HistoryWriter(store: store, location: location)
        let createdAt = try store.readMetadata(location).createdAt
        func stamped(_ step: JSONObject) -> JSONObject {
            var step = step
            let now = Timestamp.now()
            if step["_timestamp"] == nil { step["_timestamp"] = .double(now) }
            if step["_runtime"] == nil, let createdAt { step["_runtime"] = .double(max(0, now - createdAt)) }
            return step
        }
        if values == ["-"] {
            let rejected = try StdinSteps.forEachBatch { batch in try writer.append(batch.map(stamped)) }
            if rejected > 0 { throw ExitCode(1) }
            return
        }
        var entry = KeyAssignment.object(try values.map { try KeyAssignment(parsing: $0) })
        if let step { entry.updateValue(.int(step), forKey: "_step", insertingAt: 0) }
        try writer.append([stamped(entry)])
    }
}

/// Reads JSON lines from stdin and hands them over in batches: whatever one `read` brought,
/// so a live stream is written as it arrives and a file is written in large appends.
enum StdinSteps {
    /// Returns how many lines were rejected (each reported as `<stdin>:LINE: reason`).
    static func forEachBatch(_ body: ([JSONObject]) throws -> Void) throws -> Int {
        var pending: [UInt8] = []
        var lineNumber = 0
        var rejected = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        func take(_ line: ArraySlice<UInt8>, into batch: inout [JSONObject]) {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }
            do {
                guard case .object(let step) = try JSONParser.parse(Array(line)) else {
                    throw StoreError("expected a JSON object")
                }
                batch.append(step)
            } catch {
                rejected += 1
                Console.warn("<stdin>:\(lineNumber): \(error); line skipped")
            }
        }
        while true {
            let got = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress!, $0.count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw StoreError("cannot read stdin: \(String(cString: strerror(errno)))")
            }
            var batch: [JSONObject] = []
            if got == 0 {
                if !pending.isEmpty { take(pending[...], into: &batch) }
                if !batch.isEmpty { try body(batch) }
                return rejected
            }
            pending.append(contentsOf: chunk[0..<got])
            var lineStart = 0
            while let newline = pending[lineStart...].firstIndex(of: 0x0A) {
                take(pending[lineStart..<newline], into: &batch)
                lineStart = newline + 1
            }
            pending.removeSubrange(0..<lineStart)
            if !batch.isEmpty { try body(batch) }
        }
    }
}

struct SummaryRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary",
        abstract: "Set summary values of a run (they override the last logged values).",
        discussion: "runql run summary RUN val/best_f1=0.91 test.acc=0.88"
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: ArgumentHelp("The run.", valueName: "run"))
    var runReference: String

    @Argument(help: ArgumentHelp("Values to set.", valueName: "key=value"))
    var values: [String]

    func validate() throws {
        if values.isEmpty { throw ValidationError("give at least one KEY=VALUE") }
    }

    func run() throws {
        let store = try storeOptions.open()
        let location = try store.resolveRun(runReference)
        try store.setValues(location, .summary, values.map { try KeyAssignment(parsing: $0) })
    }
}

struct FinishRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finish",
        abstract: "Mark a run as ended.",
        discussion: "Without --state: finished, or failed when --exit-code is not 0."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: ArgumentHelp("The run.", valueName: "run"))
    var runReference: String

    @Option(help: "finished, failed, crashed or killed.")
    var state: String?

    @Option(name: .customLong("exit-code"), help: "The exit code of the run's process.")
    var exitCode: Int64?

    func run() throws {
        let finalState: RunState
        if let state {
            guard let parsed = RunState(rawValue: state), parsed != .running else {
                throw ValidationError("--state must be finished, failed, crashed or killed, not '\(state)'")
            }
            finalState = parsed
        } else {
            finalState = (exitCode ?? 0) == 0 ? .finished : .failed
        }
        let store = try storeOptions.open()
        let location = try store.resolveRun(runReference)
        try store.finishRun(location, state: finalState, exitCode: exitCode)
    }
}
