import Foundation
import Testing
@testable import RunStore

/// `runql import wandb`, run as a user would, then queried at once.
@Suite struct ImportWandbTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("WandbImportTests/fixtures").path

    @Test func importsAWandbFolderThatCanBeQueriedAtOnce() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = "\(directory.path)/store"
        #expect(try CLI.run(["init", store]).status == 0)
        let arguments = [
            "import", "wandb", "--store", store, "--entity", "alice", "--data-dir", "\(Self.fixtures)/.local/share/wandb",
            "\(Self.fixtures)/ml-project/wandb",
        ]
        let first = try CLI.run(arguments)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("imported 7 W&B runs (7 new, 0 updated, 0 unchanged) and 423 history steps, 3 artifact versions (3 new), 2 artifact uses; 1 imported in part from damaged logs"))
        #expect(first.stderr.contains("run-ovclhh90.wandb: damaged at offset 163661"))

        let query = try CLI.run([
            "--store", store, "--format", "csv",
            #"SELECT name, state, "group", summary."val/f1" AS f1 FROM runs WHERE entity = 'alice' AND project = 'anchors-demo' ORDER BY name"#,
        ])
        #expect(query.status == 0, "\(query.stderr)")
        #expect(query.stdout == """
            name,state,group,f1
            baseline-lr1e-3,finished,sweep-a,0.85
            crashed-run,crashed,sweep-b,
            evaluator,finished,,
            failed-run,failed,sweep-b,
            interrupted-run,failed,,
            model-producer,finished,sweep-b,
            nan-inf-explicit-steps,finished,sweep-a,

            """)
        let steps = try CLI.run(["--store", store, "--format", "csv", #"SELECT count(*) AS n, max("_step") AS last FROM history WHERE run_id = 'ovclhh90'"#])
        #expect(steps.stdout == "n,last\n357,356\n")

        let second = try CLI.run(arguments)
        #expect(second.status == 0)
        #expect(second.stderr.contains("imported 7 W&B runs (0 new, 0 updated, 7 unchanged) and 0 history steps (423 already stored), 3 artifact versions (0 new)"))
    }

    @Test func aMissingFolderIsAnErrorNamingIt() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = "\(directory.path)/store"
        #expect(try CLI.run(["init", store]).status == 0)
        let result = try CLI.run(["import", "wandb", "--store", store, "\(directory.path)/nope"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(directory.path)/nope: no such folder"))
    }
}
