import Foundation
import Testing
@testable import RunStore

@Suite struct ExecTests {
    func runs(_ store: String) throws -> [RunMetadata] {
        let opened = try RunStore.open(at: store)
        return try opened.runLocations().map { try opened.readMetadata($0) }
    }

    @Test func recordsTheCommandAndItsOutcome() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = "\(directory.path)/store"
        #expect(try CLI.run(["init", store]).status == 0)

        // The child logs to its own run through the environment it is given.
        let script = #"echo "$RUNQL_RUN_ID"; "$RUNQL_BIN" run log "$RUNQL_RUN" loss=0.25; test -d "$RUNQL_STORE""#
        let finished = try CLI.run(
            ["run", "exec", "--store", store, "--project", "p", "--name", "ok", "--config", "lr=0.1", "--", "sh", "-c", script],
            in: directory.path, environment: ["RUNQL_BIN": CLI.binary])
        #expect(finished.status == 0, "\(finished.stderr)")
        let run = try #require(try runs(store).first)
        #expect(finished.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == run.id)
        #expect(run.state == .finished && run.exitCode == 0)
        #expect(run.command == ["sh", "-c", script])
        #expect(run.host != nil && run.user != nil && run.workingDirectory != nil && run.runtime != nil)
        let opened = try RunStore.open(at: store)
        #expect(try opened.readHistory(run.location).steps.first?["loss"] == 0.25)
        #expect(try opened.readObject(run.location, .config) == ["lr": 0.1])
    }

    @Test func exitCodesAndSignalsBecomeStates() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = "\(directory.path)/store"
        #expect(try CLI.run(["init", store]).status == 0)
        #expect(try CLI.run(["run", "exec", "--store", store, "--project", "p", "--name", "failing", "--", "sh", "-c", "exit 3"]).status == 3)
        #expect(try CLI.run(["run", "exec", "--store", store, "--project", "p", "--name", "signalled", "--", "sh", "-c", "kill -KILL $$"]).status == 137)
        let missing = try CLI.run(["run", "exec", "--store", store, "--project", "p", "--name", "missing", "--", "no-such-program-xyz"])
        #expect(missing.status == 127)
        #expect(missing.stderr.contains("command not found: no-such-program-xyz"))
        let byName = Dictionary(uniqueKeysWithValues: try runs(store).map { ($0.name ?? "", $0) })
        #expect(byName["failing"]?.state == .failed && byName["failing"]?.exitCode == 3)
        #expect(byName["signalled"]?.state == .killed && byName["signalled"]?.exitCode == 137)
        #expect(byName["missing"]?.state == .failed && byName["missing"]?.exitCode == 127)
    }

    @Test func recordsTheGitCommitInsideAWorkTree() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let repository = "\(directory.path)/repo"
        try FileManager.default.createDirectory(atPath: repository, withIntermediateDirectories: true)
        let setup = Process()
        setup.executableURL = URL(fileURLWithPath: "/bin/sh")
        setup.arguments = ["-c", "git init -q && git -c user.name=t -c user.email=t@t commit -q --allow-empty -m init && git rev-parse HEAD > head.txt"]
        setup.currentDirectoryURL = URL(fileURLWithPath: repository)
        try setup.run()
        setup.waitUntilExit()
        try #require(setup.terminationStatus == 0, "git is needed for this test")
        let head = try String(contentsOfFile: "\(repository)/head.txt", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let store = "\(directory.path)/store"
        #expect(try CLI.run(["init", store]).status == 0)
        #expect(try CLI.run(["run", "exec", "--store", store, "--project", "p", "--", "true"], in: repository).status == 0)
        #expect(try CLI.run(["run", "exec", "--store", store, "--project", "q", "--", "true"], in: directory.path).status == 0)
        let byProject = Dictionary(uniqueKeysWithValues: try runs(store).map { ($0.project, $0) })
        #expect(byProject["p"]?.gitCommit == head)
        #expect(byProject["q"]?.gitCommit == nil)
    }
}
