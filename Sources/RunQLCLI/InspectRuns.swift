import ArgumentParser
import RunStore

struct ListRuns: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List runs, oldest first.")

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Only the runs of this entity.")
    var entity: String?

    @Option(help: "Only the runs of this project.")
    var project: String?

    func run() throws {
        let store = try storeOptions.open()
        var rows: [[String]] = []
        var runs: [RunMetadata] = []
        for location in store.runLocations(entity: entity, project: project) {
            do {
                runs.append(try store.readMetadata(location))
            } catch {
                Console.warn("\(error)")
            }
        }
        runs.sort { ($0.createdAt ?? 0, $0.id) < ($1.createdAt ?? 0, $1.id) }
        for run in runs {
            rows.append([
                run.id, "\(run.entity)/\(run.project)", run.name ?? "", run.state.rawValue,
                run.createdAt.map(Timestamp.format) ?? "", run.runtime.map { String(Int($0.rounded())) + "s" } ?? "",
            ])
        }
        Console.output(PlainTable.render(header: ["id", "project", "name", "state", "created_at", "runtime"], rows: rows))
        Console.info("\(runs.count) run\(runs.count == 1 ? "" : "s")")
    }
}

struct ShowRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print a run as JSON: metadata, config, summary (last logged values overridden by explicit ones) and history size."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: ArgumentHelp("The run.", valueName: "run"))
    var runReference: String

    @Flag(help: "Include every history step.")
    var history = false

    func run() throws {
        let store = try storeOptions.open()
        let location = try store.resolveRun(runReference)
        let log = try store.readHistory(location)
        for warning in log.warnings { Console.warn(warning) }
        var object = try store.readMetadata(location).json
        object["config"] = .object(try store.readObject(location, .config))
        object["summary"] = .object(try store.effectiveSummary(location, history: log))
        object["history_steps"] = .int(Int64(log.steps.count))
        if history { object["history"] = .array(log.steps.map(JSONValue.object)) }
        Console.output(JSONWriter.pretty(.object(object)))
    }
}

/// Columns separated by two spaces, for the listing commands (query results get the real formatters).
enum PlainTable {
    static func render(header: [String], rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (columnIndex, cell) in row.enumerated() { widths[columnIndex] = max(widths[columnIndex], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var text = ""
            for (columnIndex, cell) in cells.enumerated() {
                let isLast = columnIndex == cells.count - 1
                text += isLast ? cell : cell + String(repeating: " ", count: widths[columnIndex] - cell.count + 2)
            }
            return text + "\n"
        }
        return ([line(header)] + rows.map(line)).joined()
    }
}
