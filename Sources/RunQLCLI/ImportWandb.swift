import ArgumentParser
import RunStore
import WandbImport

struct ImportWandb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wandb",
        abstract: "Import W&B runs: a wandb/ folder, or run folders (offline-run-…, run-…).",
        discussion: """
            Reads each run's transaction log (run-ID.wandb), written by wandb-core (0.18+) or by the \
            older Python client (≤0.17): config, summary, every history step, state (no exit record: \
            crashed), console output, artifacts (versions numbered in log order; files copied from the \
            staging folder under --data-dir when they still match the manifest) and the artifacts a run \
            used. A folder without a log falls back to files/config.yaml and files/wandb-summary.json. Runs keep their W&B project and id; offline runs have no entity and \
            go to --entity. A damaged log keeps every record before the damage, with a warning saying \
            what was lost. Importing again changes nothing; a run that grew gains only its new steps. \
            The exit status is 1 when a run was skipped.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "The entity of runs whose log names none, as offline runs (default: $RUNQL_ENTITY, else your login name).")
    var entity: String?

    @Option(help: "The project of runs whose log names none (a log cut before its run record, a folder without a log).")
    var project: String?

    @Option(name: .customLong("data-dir"), help: ArgumentHelp(
        "W&B's data folder, whose artifacts/staging/ holds the files of logged artifacts (default: $WANDB_DATA_DIR, else ~/.local/share/wandb).",
        valueName: "folder"))
    var dataDirectory: String?

    @Argument(help: ArgumentHelp("A wandb/ folder, a folder holding one, or run folders.", valueName: "path"))
    var paths: [String]

    /// `$WANDB_DATA_DIR`, else `~/.local/share/wandb`.
    static var defaultDataDirectory: String? {
        if let directory = Environment.variables["WANDB_DATA_DIR"], !directory.isEmpty { return directory }
        guard let home = Environment.variables["HOME"], !home.isEmpty else { return nil }
        return "\(home)/.local/share/wandb"
    }

    func run() throws {
        let store = try storeOptions.open()
        let clockStart = ExecRun.monotonicSeconds()
        let sources = try WandbImporter.discover(paths)
        let bar = ProgressBar("importing", unit: "runs")
        defer { bar.finish() }
        let importer = WandbImporter(
            store: store, defaultEntity: entity ?? Environment.defaultEntity, defaultProject: project,
            dataDirectory: dataDirectory ?? Self.defaultDataDirectory,
            warn: { message in
                bar.finish()
                Console.warn(message)
            })
        for (position, source) in sources.enumerated() {
            bar.update(Int64(position), of: Int64(sources.count))
            importer.importRun(source)
        }
        try importer.finish()
        bar.finish()
        let report = importer.report
        let seconds = ExecRun.monotonicSeconds() - clockStart
        let imported = report.runsCreated + report.runsUpdated + report.runsUnchanged
        var line = "imported \(imported) W&B run\(imported == 1 ? "" : "s") "
        line += "(\(report.runsCreated) new, \(report.runsUpdated) updated, \(report.runsUnchanged) unchanged)"
        line += " and \(report.stepsImported) history steps"
        if report.stepsAlreadyStored > 0 { line += " (\(report.stepsAlreadyStored) already stored)" }
        let versions = report.artifactVersionsCreated + report.artifactVersionsExisting
        if versions > 0 {
            line += ", \(versions) artifact version\(versions == 1 ? "" : "s") (\(report.artifactVersionsCreated) new"
            if report.artifactFilesReferenced > 0 {
                line += "; \(report.artifactFilesReferenced) files kept as references: staging copy gone or changed"
            }
            line += ")"
        }
        let uses = report.usesResolved + report.usesUnresolved
        if uses > 0 {
            line += ", \(uses) artifact uses"
            if report.usesUnresolved > 0 { line += " (\(report.usesUnresolved) not in the store, kept as references)" }
        }
        if report.runsDamaged > 0 { line += "; \(report.runsDamaged) imported in part from damaged logs (see above)" }
        if !report.artifactVersionsSkipped.isEmpty {
            let count = report.artifactVersionsSkipped.count
            line += "; \(count) artifact version\(count == 1 ? "" : "s") skipped (see above)"
        }
        if !report.skipped.isEmpty { line += "; \(report.skipped.count) skipped (see above)" }
        line += " in \(String(format: "%.1f", seconds)) s"
        Console.info(line)
        if !report.skipped.isEmpty { throw ExitCode(1) }
    }
}
