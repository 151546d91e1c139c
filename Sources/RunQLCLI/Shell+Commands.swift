import Foundation
import QueryEngine
import ResultFormat
import RunStore

extension Shell {
    enum DotResult {
        case `continue`, quit
    }

    static let dotCommands: [(name: String, help: String)] = [
        (".help", "show this message"),
        (".tables", "list the tables"),
        (".schema [TABLE]", "the columns of a table (all tables without one); also \\d"),
        (".keys [config|summary|history]", "every key with how many runs hold it, as which types"),
        (".mode FORMAT", "table, csv, tsv, markdown, json or ndjson"),
        (".headers on|off", "show the header row"),
        (".nullvalue TEXT", "how NULL is shown"),
        (".output [FILE]", "send results to FILE, or back to the screen without one"),
        (".once FILE", "send the next result to FILE"),
        (".read FILE", "run the statements in FILE"),
        (".timer on|off", "print how long each statement took; also \\timing"),
        (".maxrows N", "rows a table shows on the screen before eliding the middle (0: all)"),
        (".refresh", "re-read the store now (runql also checks before every statement)"),
        (".store PATH", "switch to another store"),
        (".quit", "leave; also \\q or Ctrl-D"),
        ("\\x", "toggle expanded display: one line per column"),
    ]

    func runDotCommand(_ line: String) -> DotResult {
        let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let arguments = Array(words.dropFirst())
        let argument = arguments.first
        switch words.first ?? "" {
        case ".quit", ".exit", "\\q":
            return .quit
        case ".help", "\\?":
            let width = Self.dotCommands.map(\.name.count).max() ?? 0
            Console.output(Self.dotCommands.map { $0.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + $0.help + "\n" }.joined())
        case ".tables":
            runStatements("SHOW TABLES;", origin: "")
        case ".schema", "\\d":
            if let argument {
                runStatements("DESCRIBE \(argument);", origin: "")
            } else {
                runStatements("DESCRIBE runs; DESCRIBE history;", origin: "")
            }
        case ".keys":
            runStatements("SHOW KEYS\(argument.map { " " + $0 } ?? "");", origin: "")
        case ".mode":
            guard let argument, let format = OutputFormat(rawValue: argument.lowercased()) else {
                Console.error("Error: .mode takes one of \(OutputFormat.allCases.map(\.rawValue).joined(separator: ", "))")
                return .continue
            }
            settings.format = format
            settings.expanded = false
        case ".headers":
            guard let flag = Self.onOff(argument) else { return usage(".headers on|off") }
            settings.header = flag
        case ".nullvalue":
            settings.nullText = arguments.isEmpty ? nil : arguments.joined(separator: " ")
        case ".output":
            do {
                settings.output = try argument.map { try OutputSink(path: $0) }
            } catch {
                Console.error("Error: \(error)")
            }
        case ".once":
            guard let argument else { return usage(".once FILE") }
            do {
                settings.once = try OutputSink(path: argument)
            } catch {
                Console.error("Error: \(error)")
            }
        case ".read":
            guard let argument else { return usage(".read FILE") }
            guard let text = FileIO.readText(argument) else {
                Console.error("Error: cannot read \(argument)")
                return .continue
            }
            runStatements(text, origin: argument)
        case ".timer", "\\timing":
            if words.first == "\\timing", argument == nil {
                settings.timer.toggle()
            } else {
                guard let flag = Self.onOff(argument) else { return usage(".timer on|off") }
                settings.timer = flag
            }
            Console.info("Timer is \(settings.timer ? "on" : "off").")
        case ".maxrows":
            guard let argument, let count = Int(argument), count >= 0 else { return usage(".maxrows N") }
            settings.maxRows = count
        case ".refresh":
            guard let store = try? RunStore.open(at: storePath) else {
                Console.error("Error: cannot open the store at \(storePath)")
                return .continue
            }
            reload(store, fingerprint: store.fingerprint())
            Console.info("\(engine.index.runs.count) runs, \(engine.index.history.count) history steps")
        case ".store":
            guard let argument else { return usage(".store PATH") }
            do {
                let store = try RunStore.open(at: argument)
                storePath = argument
                reload(store, fingerprint: store.fingerprint())
                Console.info("runql store \(argument): \(engine.index.runs.count) runs")
            } catch {
                Console.error("Error: \(error)")
            }
        case "\\x":
            settings.expanded.toggle()
            Console.info("Expanded display is \(settings.expanded ? "on" : "off").")
        default:
            Console.error("Error: unknown command \(words.first ?? line); enter .help for the list")
        }
        return .continue
    }

    private func usage(_ text: String) -> DotResult {
        Console.error("Usage: \(text)")
        return .continue
    }

    private static func onOff(_ word: String?) -> Bool? {
        switch word?.lowercased() {
        case "on", "yes", "true", "1": return true
        case "off", "no", "false", "0": return false
        default: return nil
        }
    }

    // MARK: Completion

    static let keywords = [
        "SELECT", "FROM", "WHERE", "GROUP BY", "GROUP BY ALL", "HAVING", "ORDER BY", "LIMIT", "OFFSET", "DISTINCT", "AS", "AND", "OR",
        "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE", "BETWEEN", "CASE", "WHEN", "THEN", "ELSE", "END", "JOIN", "LEFT JOIN", "ON",
        "USING", "UNION", "UNION ALL", "EXCEPT", "INTERSECT", "WITH", "ASC", "DESC", "NULLS FIRST", "NULLS LAST", "CAST", "TRY_CAST",
        "INTERVAL", "EXPLAIN", "DESCRIBE", "SHOW TABLES", "SHOW KEYS", "EXCLUDE", "FILTER", "TRUE", "FALSE", "EXISTS",
        "OVER", "PARTITION BY", "QUALIFY", "ROWS BETWEEN", "UNBOUNDED PRECEDING", "UNBOUNDED FOLLOWING", "CURRENT ROW", "PRECEDING",
        "FOLLOWING",
    ]

    /// Completions for `word`, which starts at byte `start` of `line`; nil for file names.
    func completions(line: String, start: Int, word: String) -> [String]? {
        let before = String(decoding: line.utf8.prefix(start), as: UTF8.self)
        let previous = before.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
        let vocabulary = engine.vocabulary
        func matching(_ candidates: [String]) -> [String] {
            let lowered = word.lowercased()
            var seen: Set<String> = []
            return candidates.filter { $0.lowercased().hasPrefix(lowered) && seen.insert($0).inserted }.sorted()
        }
        if previous.isEmpty, word.hasPrefix(".") || word.hasPrefix("\\") {
            return matching(Self.dotCommands.map { String($0.name.split(separator: " ")[0]) } + [".exit", "\\q", "\\d", "\\x", "\\timing"])
        }
        if let command = previous.first, command.hasPrefix(".") {
            switch command {
            case ".read", ".output", ".once", ".store": return nil
            case ".mode": return matching(OutputFormat.allCases.map(\.rawValue))
            case ".schema": return matching(vocabulary.tables)
            case ".keys": return matching(["config", "summary", "history", "metadata"])
            case ".headers", ".timer": return matching(["on", "off"])
            default: return []
            }
        }
        let last = previous.last?.uppercased() ?? ""
        if ["FROM", "JOIN"].contains(last) { return matching(vocabulary.tables + vocabulary.tableFunctions.map { $0 + "(" }) }
        if last == "DESCRIBE" { return matching(vocabulary.tables) }
        let lowered = word.lowercased()
        if lowered.hasPrefix("config.") || lowered.hasPrefix("summary.") { return matching(vocabulary.keyPaths) }
        if lowered.hasPrefix("metadata.") { return matching(vocabulary.metadataPaths) }
        if lowered.hasPrefix("run.") { return matching(vocabulary.runsColumns.map { "run." + $0 } + vocabulary.keyPaths.map { "run." + $0 }) }
        let keywords = word.first?.isLowercase == true ? Self.keywords.map { $0.lowercased() } : Self.keywords
        return matching(keywords + vocabulary.tables + vocabulary.runsColumns + vocabulary.historyColumns + vocabulary.artifactColumns
                        + vocabulary.bareKeys + vocabulary.functions.map { $0 + "(" } + ["config.", "summary.", "metadata."])
    }
}

/// The bridge from readline's completion callback to the shell (C callbacks cannot capture).
enum ShellCompletion {
    nonisolated(unsafe) static var provider: ((String, Int, String) -> [String]?)?

    /// A malloc'd NULL-terminated array of the completions, or nil for file names.
    static let complete: @convention(c) (UnsafePointer<CChar>, Int32, UnsafePointer<CChar>) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = { line, start, word in
        guard let provider, let matches = provider(String(cString: line), Int(start), String(cString: word)) else { return nil }
        let array = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: matches.count + 1)
        for (index, match) in matches.enumerated() { array[index] = strdup(match) }
        array[matches.count] = nil
        return array
    }
}
