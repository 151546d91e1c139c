import ArgumentParser
import MLflowImport
import RunStore

struct ImportMLflow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mlflow",
        abstract: "Import an MLflow tracking store: an mlruns/ folder or an mlflow.db SQLite database.",
        discussion: """
            Experiments become projects, runs keep their MLflow ids. Params are config keys (numbers \
            where they read as numbers) and, as MLflow's strings, config.mlflow.params; every tag is in \
            config.mlflow.tags; deleted runs are imported with config.mlflow.lifecycle_stage = 'deleted'. \
            The full metric history is kept; each metric's latest value (MLflow's metrics.<key>) is the \
            summary. Registered model versions become `model` artifacts logged by their runs, with their \
            aliases. Importing again changes nothing; a run that grew ends up as a fresh import would \
            write it (new steps appended; a history whose stored steps gained points rewritten). \
            Parts that cannot be read are reported and skipped; the exit status is then 1 if a run failed.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "The entity the runs go to (default: $RUNQL_ENTITY, else your login name).")
    var entity: String?

    @Option(
        name: .customLong("crashed-after"),
        help: ArgumentHelp(
            "A RUNNING run with no end time and no activity for this long is imported as crashed (e.g. 30m, 2h, 1d; plain numbers are seconds).",
            valueName: "duration"))
    var crashedAfter: String = "1h"

    @Argument(help: ArgumentHelp("An mlruns/ folder (file store) or an mlflow.db file (SQLite store).", valueName: "path"))
    var path: String

    func validate() throws {
        if Self.seconds(crashedAfter) == nil {
            throw ValidationError("--crashed-after: \"\(crashedAfter)\" is not a duration like 90, 30m, 2h or 1d")
        }
    }

    /// `1 run`, `2 runs`.
    static func count(_ number: Int, _ noun: String) -> String {
        "\(number) \(noun)\(number == 1 ? "" : "s")"
    }

    /// `90`, `90s`, `30m`, `2h`, `1d` as seconds.
    static func seconds(_ text: String) -> Double? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        if let unit = text.last.flatMap({ units[$0] }) {
            return Double(text.dropLast()).flatMap { $0 >= 0 ? $0 * unit : nil }
        }
        return Double(text).flatMap { $0 >= 0 ? $0 : nil }
    }

    func run() throws {
        let store = try storeOptions.open()
        let reader = try MLflowImporter.reader(for: path)
        var options = MLflowImporter.Options(entity: entity ?? Environment.defaultEntity)
        options.crashedAfter = Self.seconds(crashedAfter) ?? 3600
        let importer = MLflowImporter(store: store, reader: reader, options: options, warn: { Console.warn($0) })
        let clockStart = ExecRun.monotonicSeconds()
        let bar = ProgressBar("importing", unit: "runs")
        defer { bar.finish() }
        try importer.importAll { done, total in bar.update(Int64(done), of: Int64(total)) }
        importer.finish()
        bar.finish()
        let report = importer.report
        let seconds = ExecRun.monotonicSeconds() - clockStart
        let runs = report.runsCreated + report.runsUpdated + report.runsUnchanged
        var line = "imported \(Self.count(runs, "run")) from \(Self.count(report.experiments, "experiment")) "
        line += "(\(report.runsCreated) new, \(report.runsUpdated) updated, \(report.runsUnchanged) unchanged"
        if report.runsDeleted > 0 { line += "; \(report.runsDeleted) deleted in MLflow, kept and marked" }
        line += "), \(Self.count(report.stepsImported, "history step")) (\(Self.count(report.pointsImported, "metric point"))"
        if report.pointsAlreadyStored > 0 { line += ", \(report.pointsAlreadyStored) already stored" }
        if report.historiesRewritten > 0 {
            let histories = report.historiesRewritten == 1 ? "history" : "histories"
            line += "; \(report.historiesRewritten) \(histories) rewritten where new points joined stored steps"
        }
        line += "), \(Self.count(report.artifactsCreated, "model artifact version"))"
        if report.artifactsUnchanged > 0 { line += " (\(report.artifactsUnchanged) already stored)" }
        if !report.skipped.isEmpty { line += "; \(report.skipped.count) skipped (see above)" }
        line += " in \(String(format: "%.1f", seconds)) s"
        Console.info(line)
        if report.runsFailed > 0 { throw ExitCode(1) }
    }
}
