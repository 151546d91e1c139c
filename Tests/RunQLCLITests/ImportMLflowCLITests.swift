import Foundation
import Testing

/// `runql import mlflow` as a user runs it: point it at mlruns/ or mlflow.db, query at once.
@Suite struct ImportMLflowCLITests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../MLflowImportTests/fixtures").standardizedFileURL.path

    @Test(arguments: ["mlruns", "mlflow.db"])
    func importThenQuery(_ source: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = "\(directory.path)/store"
        #expect(try CLI.run(["init", store]).status == 0)
        let imported = try CLI.run(["import", "mlflow", "--store", store, "--entity", "alice", "\(Self.fixtures)/\(source)"])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stderr.contains("imported 10 runs from 3 experiments (10 new, 0 updated, 0 unchanged; 1 deleted in MLflow, kept and marked)"), "\(imported.stderr)")
        #expect(imported.stderr.contains("1 model artifact version"), "\(imported.stderr)")

        let query = try CLI.run([
            "--store", store, "--format", "csv",
            "SELECT name, state, config.lr, config.mlflow.params.lr AS lr_text, summary.loss FROM runs WHERE project = 'anchors-demo' AND config.mlflow.lifecycle_stage = 'active' AND summary.loss IS NOT NULL ORDER BY name",
        ])
        #expect(query.status == 0, "\(query.stderr)")
        #expect(query.stdout == """
            name,state,lr,lr_text,loss
            baseline,finished,0.001,0.001,0.1
            failed-run,failed,0.1,0.1,3.0
            killed-run,crashed,0.003,0.003,0.2
            nan-inf,finished,0.01,0.01,0.4

            """)

        let model = try CLI.run([
            "--store", store, "--format", "csv",
            "SELECT a.name, a.version, a.aliases, a.metadata.mlflow.version AS mlflow_version, r.name AS run FROM artifacts a JOIN runs r ON r.id = a.logged_by",
        ])
        #expect(model.status == 0, "\(model.stderr)")
        #expect(model.stdout == """
            name,version,aliases,mlflow_version,run
            demo-model,0,"[latest, champion]",1,model-producer

            """)

        let again = try CLI.run(["import", "mlflow", "--store", store, "--entity", "alice", "\(Self.fixtures)/\(source)"])
        #expect(again.status == 0)
        #expect(again.stderr.contains("(0 new, 0 updated, 10 unchanged; 1 deleted in MLflow, kept and marked), 0 history steps"), "\(again.stderr)")
    }

    /// Times whose differences overflow 64 bits once stopped the binary with a trap (status 132):
    /// now notes, exit 0, and the run is there to query.
    @Test func outOfRangeTimesAreNotesNotATrap() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let mlruns = "\(directory.path)/mlruns"
        try FileManager.default.copyItem(atPath: "\(Self.fixtures)/mlruns", toPath: mlruns)
        let run = "\(mlruns)/961493392394604608/d0b339f5fa29488e85984c160fe67cf0"
        let meta = try String(contentsOfFile: "\(run)/meta.yaml", encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("end_time:") ? "end_time: 9223372036854775807" : $0.hasPrefix("start_time:") ? "start_time: -5" : String($0) }
        try meta.joined(separator: "\n").write(toFile: "\(run)/meta.yaml", atomically: true, encoding: .utf8)
        let loss = try #require(FileHandle(forWritingAtPath: "\(run)/metrics/loss"))
        try loss.seekToEnd()
        try loss.write(contentsOf: Data("9223372036854775807 0.5 1\n".utf8))
        try loss.close()

        let store = "\(directory.path)/store"
        #expect(try CLI.run(["init", store]).status == 0)
        let imported = try CLI.run(["import", "mlflow", "--store", store, "--entity", "alice", mlruns])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stderr.contains("does not fit in 64 bits; runtime left out"), "\(imported.stderr)")
        #expect(imported.stderr.contains("_runtime left out of that step"), "\(imported.stderr)")
        let query = try CLI.run(["--store", store, "--format", "csv", "SELECT name, runtime FROM runs WHERE name = 'baseline'"])
        #expect(query.status == 0, "\(query.stderr)")
        #expect(query.stdout.hasPrefix("name,runtime\nbaseline,"), "\(query.stdout)")
    }

    @Test func aPathThatIsNoMLflowStoreIsAnError() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = "\(directory.path)/store"
        #expect(try CLI.run(["init", store]).status == 0)
        let result = try CLI.run(["import", "mlflow", "--store", store, directory.path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("is not an MLflow file store"), "\(result.stderr)")
    }
}
