import ColumnIndex
import Foundation
import QueryEngine
import QuerySyntax
import ReadlineShim
import ResultFormat
import RunStore

/// The interactive shell on GNU readline: prompt `runql> `, continuation `   ...> `, statements
/// end at `;`, dot-commands, persistent history, context-aware completion, Ctrl-C and Ctrl-D.
final class Shell {
    static let primaryPrompt = "runql> "
    static let continuationPrompt = "   ...> "

    var storePath: String
    var engine: Engine
    var fingerprint: Int
    var settings: ShellSettings
    let historyPath: String

    init(storePath: String, settings: ShellSettings) throws {
        self.storePath = storePath
        let store = try RunStore.open(at: storePath)
        fingerprint = store.fingerprint()
        engine = Engine.indexing(store)
        self.settings = settings
        let environment = Environment.variables
        historyPath = environment["RUNQL_HISTORY"] ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.runql_history")
    }

    /// Runs until `.quit` or Ctrl-D; returns the exit status.
    func run() -> Int32 {
        configureReadline()
        for warning in engine.index.warnings { Console.warn(warning) }
        Console.info("runql shell on \(storePath): \(engine.index.runs.count) runs, \(engine.index.history.count) history steps. Enter .help for help; end statements with ';'.")
        var buffer: [String] = []
        while true {
            let prompt = buffer.isEmpty ? Self.primaryPrompt : Self.continuationPrompt
            let raw = runql_readline(prompt)
            if runql_take_interrupt() != 0 { buffer = [] }
            guard let raw else {
                Console.output("\n")
                return 0
            }
            let line = String(cString: raw)
            free(raw)
            if buffer.isEmpty {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty { continue }
                if trimmed.hasPrefix(".") || trimmed.hasPrefix("\\") {
                    remember(trimmed)
                    switch runDotCommand(trimmed) {
                    case .continue: continue
                    case .quit: return 0
                    }
                }
            }
            buffer.append(line)
            let text = buffer.joined(separator: "\n")
            guard StatementBoundary.endsStatement(text) else { continue }
            buffer = []
            remember(text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " "))
            runStatements(text, origin: "")
        }
    }

    // MARK: Running statements

    /// Parses and runs statements, printing results and errors; returns whether all succeeded.
    @discardableResult
    func runStatements(_ text: String, origin: String) -> Bool {
        refreshIfChanged()
        let statements: [Statement]
        do {
            statements = try engine.parse(text)
        } catch {
            report(error, source: text, origin: origin)
            return false
        }
        for statement in statements {
            runql_clear_cancel()
            let started = Date()
            do {
                let result = try engine.execute(statement, source: text) { runql_cancel_requested() != 0 }
                try settings.emit(result)
                if settings.timer { Console.info(String(format: "Run Time: %.3f s", Date().timeIntervalSince(started))) }
            } catch {
                report(error, source: text, origin: origin)
                return false
            }
        }
        return true
    }

    private func report(_ error: any Error, source: String, origin: String) {
        if let diagnostic = error as? Diagnostic {
            Console.error(QueryCommand.render(diagnostic, source: source, origin: origin))
        } else {
            Console.error("Error: \(error)")
        }
    }

    /// Rebuilds the index when the store changed since it was built (a cheap stat of every run's files).
    func refreshIfChanged() {
        guard let store = try? RunStore.open(at: storePath) else { return }
        let current = store.fingerprint()
        guard current != fingerprint else { return }
        reload(store, fingerprint: current)
    }

    func reload(_ store: RunStore, fingerprint current: Int) {
        engine = Engine.indexing(store)
        fingerprint = current
        for warning in engine.index.warnings { Console.warn(warning) }
    }

    // MARK: History and readline

    private func remember(_ entry: String) {
        runql_history_add(entry, historyPath)
    }

    private func configureReadline() {
        ShellCompletion.provider = { [unowned self] line, start, word in self.completions(line: line, start: start, word: word) }
        runql_readline_setup(historyPath, Self.primaryPrompt, ShellCompletion.complete)
    }
}

/// Output settings the dot-commands change.
struct ShellSettings {
    var format: OutputFormat = .table
    var header = true
    var nullText: String?
    var timer = false
    var maxRows = 40
    var expanded = false
    /// `.output FILE`: where results go until `.output` alone; `.once FILE`: for the next result only.
    var output: OutputSink?
    var once: OutputSink?

    /// Prints a result as the settings say: on a terminal, tables fit its width and elide long results.
    mutating func emit(_ result: QueryResult) throws {
        let options = FormatOptions(nullText: nullText, header: header)
        let sink = once ?? output
        let text: String
        if expanded {
            text = ExpandedFormatter(options: options).format(result)
        } else if format == .table, sink == nil, isatty(1) != 0 {
            text = BoxTableFormatter(options: options, maxWidth: Terminal.width, maxRows: maxRows > 0 ? maxRows : nil).format(result)
        } else {
            text = format.formatter(options).format(result)
        }
        if let sink { try sink.write(text) } else { Console.output(text) }
        once = nil
    }
}

/// Each row as `column = value` lines (`\x`, for wide results).
struct ExpandedFormatter: ResultFormatter {
    var options: FormatOptions

    func format(_ result: QueryResult) -> String {
        let width = result.names.map(\.count).max() ?? 0
        var output = ""
        for rowIndex in 0..<result.rowCount {
            output += "-[ RECORD \(rowIndex + 1) ]" + String(repeating: "-", count: max(0, width - 5)) + "\n"
            for (columnIndex, name) in result.names.enumerated() {
                let value = result.value(row: rowIndex, column: columnIndex)
                let text = value.isNull ? (options.nullText ?? "NULL") : Render.text(value)
                output += name.padding(toLength: width, withPad: " ", startingAt: 0) + " | " + text + "\n"
            }
        }
        return output
    }
}

enum Terminal {
    /// The terminal's width in columns (80 when it cannot be asked).
    static var width: Int {
        var size = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 80
    }
}
