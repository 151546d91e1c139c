import ArgumentParser
import RunStore

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Bring runs in from other sources.",
        subcommands: [ImportJSONL.self, ImportWandb.self, ImportMLflow.self]
    )
}

struct ImportJSONL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jsonl",
        abstract: "Import the interchange format: RUNS.jsonl (one object per run) and HISTORY.jsonl (one object per step).",
        discussion: """
            Importing the same files again changes nothing; a run's history grows only by steps beyond \
            its last stored step. Malformed lines are reported as FILE:LINE: reason and skipped; the exit \
            status is then 1.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "The entity of runs that name none (default: $RUNQL_ENTITY, else your login name).")
    var entity: String?

    @Option(help: "The project of runs that name none.")
    var project: String?

    @Argument(help: ArgumentHelp("One JSON object per run.", valueName: "runs.jsonl"))
    var runsPath: String

    @Argument(help: ArgumentHelp("One JSON object per step, with run_id.", valueName: "history.jsonl"))
    var historyPath: String?

    func run() throws {
        let store = try storeOptions.open()
        let importer = JSONLImporter(
            store: store, defaultEntity: entity ?? Environment.defaultEntity, defaultProject: project,
            warn: { Console.warn($0) })
        let clockStart = ExecRun.monotonicSeconds()
        let paths = [runsPath] + (historyPath.map { [$0] } ?? [])
        let totalBytes = paths.reduce(Int64(0)) { $0 + Int64(FileIO.size(of: $1) ?? 0) }
        let bar = ProgressBar("importing", unit: "bytes")
        defer { bar.finish() }
        try importer.importRuns(from: runsPath) { bar.update(Int64($0), of: totalBytes) }
        let runsBytes = Int64(FileIO.size(of: runsPath) ?? 0)
        if let historyPath {
            try importer.importHistory(from: historyPath) { bar.update(runsBytes + Int64($0), of: totalBytes) }
        }
        importer.finish()
        bar.finish()
        let report = importer.report
        let seconds = ExecRun.monotonicSeconds() - clockStart
        var line = "imported \(report.runsCreated + report.runsUpdated + report.runsUnchanged) runs "
        line += "(\(report.runsCreated) new, \(report.runsUpdated) updated, \(report.runsUnchanged) unchanged)"
        if historyPath != nil {
            line += " and \(report.stepsImported) history steps"
            if report.stepsAlreadyStored > 0 { line += " (\(report.stepsAlreadyStored) already stored)" }
        }
        if report.linesRejected > 0 { line += "; \(report.linesRejected) lines skipped (see above)" }
        line += " in \(String(format: "%.1f", seconds)) s"
        Console.info(line)
        if report.linesRejected > 0 { throw ExitCode(1) }
    }
}
