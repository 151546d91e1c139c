import ArgumentParser
import ColumnIndex
import QueryEngine
import QuerySyntax
import ResultFormat
import RunStore

#if canImport(Glibc)
import Glibc
#endif

extension OutputFormat: ExpressibleByArgument {}

/// `runql [--store PATH] [--format F] [QUERY]`, `-c QUERY`, `-f FILE`, or a script on stdin.
struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runql",
        abstract: "Answer RunQL queries over the store.",
        discussion: """
            runql "SELECT name, val_f1 FROM runs WHERE state = 'finished' ORDER BY val_f1 DESC LIMIT 10"
            runql --format csv -f Samples/queries/spreadsheet.sql > runs.csv
            Other commands: runql init | run | import | generate (see runql help).
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .customShort("c"), help: ArgumentHelp("A query to run (repeatable; they run in order).", valueName: "query"))
    var commands: [String] = []

    @Option(name: .customShort("f"), help: ArgumentHelp("A file of queries separated by ';'.", valueName: "file"))
    var files: [String] = []

    @Option(help: "table or csv.")
    var format: OutputFormat = .table

    @Argument(help: ArgumentHelp("A query.", valueName: "query"))
    var query: String?

    func run() throws {
        var scripts: [(source: String, origin: String)] = []
        if let query { scripts.append((query, "")) }
        for command in commands { scripts.append((command, "")) }
        for file in files {
            guard let data = FileIO.readText(file) else { throw StoreError("cannot read \(file)") }
            scripts.append((data, file))
        }
        var fromStdin = false
        if scripts.isEmpty {
            guard isatty(0) == 0 else {
                throw ValidationError("give a query: runql \"SELECT …\", -c QUERY, -f FILE, or a script on stdin (the interactive shell is not built yet)")
            }
            scripts.append((StdinText.readAll(), "<stdin>"))
            fromStdin = true
        }
        let store = try storeOptions.open()
        let engine = Engine(store: store)
        for warning in engine.index.warnings { Console.warn(warning) }
        let formatter = format.formatter
        var failed = false
        for (source, origin) in scripts {
            let statements: [Statement]
            do {
                statements = try engine.parse(source)
            } catch let diagnostic as Diagnostic {
                Console.error(Self.render(diagnostic, source: source, origin: origin))
                failed = true
                if !fromStdin { break }
                continue
            }
            for statement in statements {
                do {
                    let result = try engine.execute(statement, source: source)
                    Console.output(formatter.format(result))
                } catch let diagnostic as Diagnostic {
                    Console.error(Self.render(diagnostic, source: source, origin: origin))
                    failed = true
                    if !fromStdin { break }
                }
            }
            if failed && !fromStdin { break }
        }
        if failed { throw ExitCode(1) }
    }

    /// The DuckDB-style rendering, prefixed with `FILE:LINE:` for a file.
    static func render(_ diagnostic: Diagnostic, source: String, origin: String) -> String {
        let text = diagnostic.render(in: source)
        guard !origin.isEmpty, let span = diagnostic.span else { return text }
        let line = source.utf8.prefix(span.start).reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
        return "\(origin):\(line): \(text)"
    }
}

enum StdinText {
    static func readAll() -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let got = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress!, $0.count) }
            if got < 0 && errno == EINTR { continue }
            if got <= 0 { break }
            bytes.append(contentsOf: chunk[0..<got])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
