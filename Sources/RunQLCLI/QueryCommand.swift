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

    @Option(help: "table, csv, tsv, markdown, json or ndjson.")
    var format: OutputFormat = .table

    @Option(name: .customShort("o"), help: ArgumentHelp("Write results to FILE instead of stdout.", valueName: "file"))
    var output: String?

    @Option(help: ArgumentHelp("How NULL is shown (tables, markdown, csv, tsv).", valueName: "text"))
    var nullvalue: String?

    @Flag(name: .customLong("no-header"), help: "Leave out the header row.")
    var noHeader = false

    @Option(help: ArgumentHelp("Round floats to N significant digits (table and markdown only).", valueName: "n"))
    var precision: Int?

    @Flag(help: "Stop a script read from stdin at its first error (-c and -f always stop there).")
    var bail = false

    func validate() throws {
        if let precision, precision < 1 || precision > 17 { throw ValidationError("--precision must be between 1 and 17") }
    }

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
            if isatty(0) != 0 {
                var settings = ShellSettings()
                settings.format = format
                settings.header = !noHeader
                settings.nullText = nullvalue
                settings.output = try output.map { try OutputSink(path: $0) }
                let status = try Shell(storePath: storeOptions.path, settings: settings).run()
                if status != 0 { throw ExitCode(status) }
                return
            }
            scripts.append((StdinText.readAll(), "<stdin>"))
            fromStdin = true
        }
        let store = try storeOptions.open()
        let engine = Engine.indexing(store)
        for warning in engine.index.warnings { Console.warn(warning) }
        let humanFormat = format == .table || format == .markdown
        let options = FormatOptions(nullText: nullvalue, header: !noHeader, precision: humanFormat ? precision : nil)
        // On a terminal a table fits its width and elides long results; piped, it prints everything.
        let formatter: any ResultFormatter = format == .table && output == nil && isatty(1) != 0
            ? BoxTableFormatter(options: options, maxWidth: Terminal.width, maxRows: 40)
            : format.formatter(options)
        let sink = try OutputSink(path: output)
        var failed = false
        for (source, origin) in scripts {
            let statements: [Statement]
            do {
                statements = try engine.parse(source)
            } catch let diagnostic as Diagnostic {
                Console.error(Self.render(diagnostic, source: source, origin: origin))
                failed = true
                if !fromStdin || bail { break }
                continue
            }
            for statement in statements {
                do {
                    let result = try engine.execute(statement, source: source)
                    try sink.write(formatter.format(result))
                } catch let diagnostic as Diagnostic {
                    Console.error(Self.render(diagnostic, source: source, origin: origin))
                    failed = true
                    if !fromStdin || bail { break }
                }
            }
            if failed && (!fromStdin || bail) { break }
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

/// Where results go: stdout, or the file of `-o` (created or truncated before the first query runs).
final class OutputSink {
    private let descriptor: Int32
    private let path: String?

    init(path: String?) throws {
        self.path = path
        guard let path else {
            descriptor = 1
            return
        }
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if descriptor < 0 { throw StoreError("cannot write \(path): \(String(cString: strerror(errno)))") }
    }

    deinit {
        if path != nil { close(descriptor) }
    }

    func write(_ text: String) throws {
        var text = text
        try text.withUTF8 { bytes in try FileIO.writeAll(descriptor, UnsafeRawBufferPointer(bytes), path: path ?? "stdout") }
    }
}
