import ArgumentParser
import RunStore

#if canImport(Glibc)
import Glibc
#endif

/// The `runql` command line.
///
/// ```
/// runql init | run start|log|summary|finish|exec|ls|show | import jsonl | generate
///        └─ RunStore (the store on disk) ─┘
/// ```
public struct RunQL: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "runql",
        abstract: "Experiment runs and artifacts in a local store, and the tools to write and read them.",
        discussion: """
            Ask questions in RunQL (SQL with the domain built in):
              runql "SELECT name, val_f1 FROM runs ORDER BY val_f1 DESC LIMIT 10"
              runql -f queries.sql --format csv -o out.csv
              runql                       (on a terminal: the interactive shell)
            Query options: -c QUERY (repeatable), -f FILE, --format table|csv|tsv|markdown|json|ndjson, \
            -o FILE, --nullvalue TEXT, --no-header, --precision N, --bail. See docs/QUERY.md for the language.

            The store is found by --store PATH, else $RUNQL_STORE, else ./.runql. Create one with `runql init`.
            """,
        subcommands: [InitCommand.self, RunCommand.self, ArtifactCommand.self, ImportCommand.self, GenerateCommand.self]
    )

    public init() {}

    /// Parses the arguments and runs the command; usage errors exit with status 2.
    public static func main(arguments: [String]? = nil) -> Never {
        do {
            let arguments = try hoistGlobalOptions(arguments ?? Array(CommandLine.arguments.dropFirst()))
            let subcommands = configuration.subcommands.map { $0._commandName } + ["help", "-h", "--help", "--version"]
            if let first = arguments.first, subcommands.contains(first) {
                var command = try parseAsRoot(arguments)
                try command.run()
            } else {
                var command = try QueryCommand.parseAsRoot(arguments)
                try command.run()
            }
            Glibc.exit(0)
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                Console.error(fullMessage(for: error))
                Glibc.exit(2)
            }
            if let storeError = error as? StoreError {
                Console.error("Error: \(storeError.message)")
                Glibc.exit(1)
            }
            exit(withError: error)
        }
    }
}

extension RunQL {
    /// `runql --store PATH run ls`: a `--store` before the subcommand applies to it, passed on
    /// through `$RUNQL_STORE` (which a `run exec` child inherits anyway).
    static func hoistGlobalOptions(_ arguments: [String]) throws -> [String] {
        var remaining = arguments
        var index = 0
        while index < remaining.count, remaining[index].hasPrefix("-"), remaining[index] != "--" {
            let argument = remaining[index]
            if argument == "--store" {
                guard index + 1 < remaining.count else { throw ValidationError("--store needs a path") }
                setenv("RUNQL_STORE", remaining[index + 1], 1)
                remaining.removeSubrange(index...(index + 1))
            } else if argument.hasPrefix("--store=") {
                setenv("RUNQL_STORE", String(argument.dropFirst("--store=".count)), 1)
                remaining.remove(at: index)
            } else {
                index += 1
            }
        }
        return remaining
    }
}

/// `--store PATH`, accepted by every command that reads or writes a store.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The store directory (default: $RUNQL_STORE, else ./.runql).", valueName: "path"))
    var store: String?

    var path: String { RunStore.location(explicit: store, environment: Environment.variables) }

    func open() throws -> RunStore { try RunStore.open(at: path) }
}

/// Messages for the user: everything that is not a result goes to stderr.
enum Console {
    static func error(_ message: String) {
        write(message.hasSuffix("\n") ? message : message + "\n", to: 2)
    }

    static func warn(_ message: String) {
        write("warning: \(message)\n", to: 2)
    }

    static func info(_ message: String) {
        write(message + "\n", to: 2)
    }

    static func output(_ text: String) {
        write(text, to: 1)
    }

    /// Unbuffered, so that messages and results interleave as they happen.
    private static func write(_ text: String, to descriptor: Int32) {
        var text = text
        text.withUTF8 { bytes in try? FileIO.writeAll(descriptor, UnsafeRawBufferPointer(bytes), path: descriptor == 1 ? "stdout" : "stderr") }
    }
}
