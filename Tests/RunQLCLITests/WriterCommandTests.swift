import Foundation
import Testing
@testable import RunStore

@Suite struct WriterCommandTests {
    @Test func aRunFromStartToFinish() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = "\(directory.path)/store"
        #expect(try CLI.run(["init", store]).status == 0)
        let start = try CLI.run([
            "run", "start", "--store", store, "--project", "nlp", "--entity", "acme", "--name", "bert-1", "--group", "sweep-a",
            "--job-type", "train", "--tag", "bert", "--tag", "baseline", "--notes", "first try",
            "--config", "lr=0.001", "--config", "model.arch=bert", "--config", #"a\.b=raw"#,
        ])
        #expect(start.status == 0, "\(start.stderr)")
        let id = start.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.count == 8)

        #expect(try CLI.run(["run", "log", "--store", store, id, "loss=2.5", "acc=0.1"]).status == 0)
        #expect(try CLI.run(["run", "log", "--store", store, id, "--step", "10", "loss=1.5"]).status == 0)
        let piped = try CLI.run(
            ["run", "log", "--store", store, id, "-"],
            input: "{\"loss\": 1.0, \"val/f1\": 0.5}\n{\"loss\": NaN}\nnot json\n{\"_step\": 20, \"loss\": Infinity}")
        #expect(piped.status == 1)
        #expect(piped.stderr.contains("<stdin>:3:"))
        #expect(try CLI.run(["run", "summary", "--store", store, id, "val/f1=0.9", "best.epoch=3"]).status == 0)
        #expect(try CLI.run(["run", "finish", "--store", store, id, "--exit-code", "0"]).status == 0)

        let shown = try CLI.run(["run", "show", "--store", store, "acme/nlp/\(id)"])
        #expect(shown.status == 0, "\(shown.stderr)")
        let run = try #require(JSONParser.parse(shown.stdout).objectValue)
        #expect(run["name"] == "bert-1" && run["group"] == "sweep-a" && run["job_type"] == "train")
        #expect(run["tags"] == ["bert", "baseline"] && run["notes"] == "first try")
        #expect(run["state"] == "finished" && run["exit_code"] == 0)
        #expect(run["config"] == ["lr": 0.001, "model": ["arch": "bert"], "a.b": "raw"])
        #expect(run["history_steps"] == 5)
        let summary = try #require(run["summary"]?.objectValue)
        #expect(summary["val/f1"] == 0.9 && summary["best"] == ["epoch": 3] && summary["loss"] == .double(.infinity))

        let history = try #require(JSONParser.parse(try CLI.run(["run", "show", "--store", store, id, "--history"]).stdout).objectValue?["history"])
        guard case .array(let steps) = history else {
            Issue.record("no history")
            return
        }
        #expect(steps.map { $0.objectValue?["_step"] } == [0, 10, 11, 12, 20])
        #expect(steps.allSatisfy { $0.objectValue?["_timestamp"]?.doubleValue != nil })
    }

    @Test func keyPathsNestedDeeperThanTheStoreReadsAreRefusedAndTheRunStaysReadable() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = "\(directory.path)/store"
        #expect(try CLI.run(["init", store]).status == 0)
        let deep = Array(repeating: "k", count: 600).joined(separator: ".")
        let refused = try CLI.run(["run", "start", "--store", store, "--project", "p", "--config", "\(deep)=1"])
        #expect(refused.status != 0 && refused.stderr.contains("the key has 600 names; at most 512"), "\(refused.stderr)")
        let start = try CLI.run(["run", "start", "--store", store, "--project", "p", "--config", "lr=0.1"])
        let id = start.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(start.status == 0 && id.count == 8)
        let summary = try CLI.run(["run", "summary", "--store", store, id, "\(deep)=1"])
        #expect(summary.status != 0 && summary.stderr.contains("600 names"), "\(summary.stderr)")
        let atLimit = Array(repeating: "k", count: 512).joined(separator: ".")
        let oneTooMany = try CLI.run(["run", "summary", "--store", store, id, "\(atLimit)=[1]"])
        #expect(oneTooMany.status != 0 && oneTooMany.stderr.contains("would nest 513 levels deep"), "\(oneTooMany.stderr)")
        #expect(try CLI.run(["run", "summary", "--store", store, id, "\(atLimit)=1"]).status == 0)
        let listed = try CLI.run(["--store", store, "SELECT id, config.lr FROM runs"])
        #expect(listed.status == 0 && listed.stdout.contains(id), "\(listed.stderr)")
    }

    @Test func theStoreIsFoundByFlagThenEnvironmentThenDefault() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let missing = try CLI.run(["run", "ls"], in: directory.path)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no runql store at .runql; create one with `runql init"))

        #expect(try CLI.run(["init"], in: directory.path).status == 0)
        #expect(FileManager.default.fileExists(atPath: "\(directory.path)/.runql/runql-store.json"))
        #expect(try CLI.run(["run", "start", "--project", "p"], in: directory.path, environment: ["RUNQL_ENTITY": "team"]).status == 0)
        #expect(try CLI.run(["run", "ls"], in: directory.path).stdout.contains("team/p"))

        #expect(try CLI.run(["init", "\(directory.path)/other"]).status == 0)
        #expect(try CLI.run(["run", "start", "--project", "elsewhere"], environment: ["RUNQL_STORE": "\(directory.path)/other"]).status == 0)
        let viaFlag = try CLI.run(["--store", "\(directory.path)/other", "run", "ls"], in: directory.path)
        #expect(viaFlag.stdout.contains("elsewhere") && !viaFlag.stdout.contains("team/p"))
        let viaEnvironment = try CLI.run(["run", "ls"], in: directory.path, environment: ["RUNQL_STORE": "\(directory.path)/other"])
        #expect(viaEnvironment.stdout.contains("elsewhere"))
    }

    @Test func usageErrorsExitWithTwo() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect(try CLI.run(["init", directory.path]).status == 0)
        let noProject = try CLI.run(["run", "start", "--store", directory.path])
        #expect(noProject.status == 2)
        #expect(noProject.stderr.contains("--project"))
        #expect(try CLI.run(["run", "finish", "--store", directory.path, "x", "--state", "exploded"]).status == 2)
        #expect(try CLI.run(["--no-such-flag"]).status == 2)
        let badValue = try CLI.run(["run", "log", "--store", directory.path, "nope", "novalue"])
        #expect(badValue.status == 1)
        #expect(badValue.stderr.contains("no run with id nope"))
    }

    @Test func importJSONLReportsBadLinesAndIsIdempotent() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = "\(directory.path)/store"
        #expect(try CLI.run(["init", store]).status == 0)
        let runs = try directory.write(
            """
            {"id": "r1", "project": "p", "summary": {"f1": 0.5}}
            {"id": "r2"
            {"id": "r3", "project": "p"}

            """, to: "runs.jsonl")
        let history = try directory.write(#"{"run_id": "r1", "_step": 0, "loss": NaN}"# + "\n", to: "history.jsonl")
        let first = try CLI.run(["import", "jsonl", "--store", store, runs, history])
        #expect(first.status == 1)
        #expect(first.stderr.contains("runs.jsonl:2: "))
        #expect(first.stderr.contains("imported 2 runs (2 new, 0 updated, 0 unchanged) and 1 history steps"))
        let second = try CLI.run(["import", "jsonl", "--store", store, runs, history])
        #expect(second.stderr.contains("imported 2 runs (0 new, 0 updated, 2 unchanged) and 0 history steps (1 already stored)"))
        let missing = try CLI.run(["import", "jsonl", "--store", store, "\(directory.path)/nope.jsonl"])
        #expect(missing.status == 1 && missing.stderr.contains("cannot open"))
    }

    @Test func generateThenImport() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let data = "\(directory.path)/data"
        let generated = try CLI.run(["generate", "--runs", "20", "--steps", "30", "--seed", "3", "--out", data])
        #expect(generated.status == 0, "\(generated.stderr)")
        #expect(try CLI.run(["init", "\(directory.path)/store"]).status == 0)
        let imported = try CLI.run(["import", "jsonl", "--store", "\(directory.path)/store", "\(data)/runs.jsonl", "\(data)/history.jsonl"])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stderr.contains("imported 20 runs (20 new"))
        let listed = try CLI.run(["run", "ls", "--store", "\(directory.path)/store"])
        #expect(listed.stdout.split(separator: "\n").count == 21)
    }
}
