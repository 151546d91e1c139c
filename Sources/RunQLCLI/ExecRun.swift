import ArgumentParser
import RunStore

#if canImport(Glibc)
import Glibc
#endif

/// The child `run exec` waits for; read by the signal handler that forwards SIGTERM and SIGHUP.
nonisolated(unsafe) private var runningChild: pid_t = 0

struct ExecRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command as a run, recording its command line, host, user, directory, git commit, runtime and exit code.",
        discussion: """
            The command gets RUNQL_STORE, RUNQL_RUN_ID and RUNQL_RUN (entity/project/id) in its environment, \
            so it can log to the same run: runql run log "$RUNQL_RUN" loss=0.1

            The run ends finished on exit status 0, failed on another, killed when a signal ended it; \
            runql exits with the command's status (128 + the signal's number after a signal).
            """
    )

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var newRun: NewRunOptions

    @Argument(parsing: .postTerminator, help: ArgumentHelp("The command and its arguments, after --.", valueName: "command"))
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("give the command to run after --, e.g. runql run exec --project P -- python train.py") }
    }

    func run() throws {
        let store = try storeOptions.open()
        let started = try store.startRun(newRun.metadata(command: command), config: newRun.config())
        let location = started.location
        Console.info("runql: run \(location) started")

        var environment = Environment.variables
        environment["RUNQL_STORE"] = Environment.absolutePath(store.root)
        environment["RUNQL_RUN_ID"] = started.id
        environment["RUNQL_RUN"] = location.description

        let clockStart = Self.monotonicSeconds()
        let outcome: Outcome
        do {
            outcome = try Self.spawnAndWait(command, environment: environment)
        } catch {
            try store.finishRun(location, state: .failed, exitCode: 127, runtime: Self.monotonicSeconds() - clockStart)
            Console.error("Error: \(error)")
            Console.info("runql: run \(location) failed")
            throw ExitCode(127)
        }
        let runtime = Self.monotonicSeconds() - clockStart
        switch outcome {
        case .exited(let status):
            try store.finishRun(location, state: status == 0 ? .finished : .failed, exitCode: Int64(status), runtime: runtime)
            Console.info("runql: run \(location) \(status == 0 ? "finished" : "failed with exit code \(status)")")
            if status != 0 { throw ExitCode(status) }
        case .signaled(let signal):
            try store.finishRun(location, state: .killed, exitCode: Int64(128 + signal), runtime: runtime)
            Console.info("runql: run \(location) killed by signal \(signal)")
            throw ExitCode(128 + signal)
        }
    }

    enum Outcome {
        case exited(Int32)
        case signaled(Int32)
    }

    static func monotonicSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    /// Starts `command` (looked up in PATH) and waits for it. Ctrl-C reaches the child from the
    /// terminal and runql outlives it to record the outcome; SIGTERM and SIGHUP sent to runql are
    /// passed on to the child.
    static func spawnAndWait(_ command: [String], environment: [String: String]) throws -> Outcome {
        let arguments = command.map { strdup($0) } + [nil]
        let environmentStrings = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            arguments.forEach { free($0) }
            environmentStrings.forEach { free($0) }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF))

        var pid: pid_t = 0
        let result = posix_spawnp(&pid, command[0], nil, &attributes, arguments, environmentStrings)
        guard result == 0 else {
            if result == ENOENT { throw StoreError("command not found: \(command[0])") }
            throw StoreError("cannot run \(command[0]): \(String(cString: strerror(result)))")
        }
        runningChild = pid
        signal(SIGINT, { _ in })
        signal(SIGQUIT, { _ in })
        signal(SIGTERM, { received in if runningChild > 0 { kill(runningChild, received) } })
        signal(SIGHUP, { received in if runningChild > 0 { kill(runningChild, received) } })
        defer {
            runningChild = 0
            for restored in [SIGINT, SIGQUIT, SIGTERM, SIGHUP] { signal(restored, SIG_DFL) }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { throw StoreError("cannot wait for \(command[0]): \(String(cString: strerror(errno)))") }
        }
        let terminatingSignal = status & 0x7F
        if terminatingSignal == 0 { return .exited((status >> 8) & 0xFF) }
        return .signaled(terminatingSignal)
    }
}
