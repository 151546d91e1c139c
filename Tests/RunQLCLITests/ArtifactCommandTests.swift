import Foundation
import Testing
@testable import RunStore

#if canImport(Glibc)
import Glibc
#endif

/// `runql artifact …` end to end, as a user runs it: the seed workflow, storage, safety, concurrency.
@Suite struct ArtifactCommandTests {
    /// A store and a working directory for one test.
    struct Workspace {
        let directory: TemporaryDirectory
        var root: String { directory.path }
        var store: String { "\(root)/store" }

        init() throws {
            directory = try TemporaryDirectory()
            #expect(try CLI.run(["init", store]).status == 0)
        }

        func write(_ text: String, to path: String) throws {
            let full = "\(root)/\(path)"
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: full))
        }

        func read(_ path: String) -> String? {
            FileManager.default.contents(atPath: "\(root)/\(path)").map { String(decoding: $0, as: UTF8.self) }
        }

        /// `runql ARGUMENTS --store STORE` in the workspace.
        @discardableResult
        func runql(_ arguments: [String], environment: [String: String] = [:]) throws -> CLI.Result {
            try CLI.run(arguments + ["--store", store], in: root, environment: environment)
        }

        /// Runs a command that must succeed; returns its stdout without the final newline.
        func ok(_ arguments: [String]) throws -> String {
            let result = try runql(arguments)
            #expect(result.status == 0, "runql \(arguments.joined(separator: " ")): \(result.stderr)")
            return result.stdout.trimmingCharacters(in: .newlines)
        }

        func startRun(project: String, name: String, entity: String = "acme") throws -> String {
            try ok(["run", "start", "--project", project, "--entity", entity, "--name", name])
        }

        func show(_ reference: String) throws -> JSONObject {
            try #require(JSONParser.parse(try ok(["artifact", "show", reference])).objectValue)
        }

        func storeHandle() throws -> RunStore { try RunStore.open(at: store) }
    }

    @Test func theSeedWorkflowFromAShell() throws {
        let work = try Workspace()
        defer { work.directory.remove() }
        // Raw data, logged twice unchanged: one version.
        try work.write("id,text\n1,printer on fire\n", to: "data/raw/tickets.csv")
        try work.write("source: zendesk\n", to: "data/raw/README")
        let ingest = try work.startRun(project: "support", name: "ingest")
        let raw = ["artifact", "log", "support-tickets", "--type", "dataset", "--run", ingest, "--dir", "data/raw",
                   "--description", "raw export", "--metadata", #"{"rows": 1, "source": {"system": "zendesk"}}"#]
        #expect(try work.ok(raw) == "acme/support/support-tickets:v0")
        let again = try work.runql(raw)
        #expect(again.status == 0 && again.stdout == "acme/support/support-tickets:v0\n")
        #expect(again.stderr.contains("identical to acme/support/support-tickets:v0"))
        let rawVersion = try work.show("support-tickets:v0")
        guard case .array(let files)? = rawVersion["files"] else { Issue.record("no files in \(rawVersion)"); return }
        #expect(files.compactMap { $0.objectValue?["path"]?.stringValue } == ["raw/README", "raw/tickets.csv"])
        #expect(rawVersion["metadata"] == ["rows": 1, "source": ["system": "zendesk"]])
        #expect(rawVersion["created_by"]?.stringValue?.isEmpty == false && rawVersion["host"]?.stringValue?.isEmpty == false)
        #expect(rawVersion["logged_by"] == .string("acme/support/\(ingest)"))

        // A cleaning run uses v0 and logs the clean dataset.
        let clean = try work.startRun(project: "support", name: "clean")
        #expect(try work.ok(["artifact", "use", "support-tickets:v0", "--run", clean]) == "acme/support/support-tickets:v0")
        try work.write("id,text\n1,printer on fire\n", to: "data/clean.csv")
        #expect(try work.ok(["artifact", "log", "clean-tickets", "--type", "dataset", "--run", clean, "--file", "data/clean.csv", "--name", "train.csv"])
            == "acme/support/clean-tickets:v0")

        // Two training runs log two model versions; promote staging → production, then roll back.
        for (index, name) in ["train-a", "train-b"].enumerated() {
            let train = try work.startRun(project: "support", name: name)
            _ = try work.ok(["artifact", "use", "clean-tickets", "--run", train])
            try work.write("weights \(index)", to: "model/\(name).bin")
            #expect(try work.ok(["artifact", "log", "bert-classifier", "--type", "model", "--run", train,
                                 "--file", "model/\(name).bin", "--name", "model.bin", "--alias", "staging"])
                == "acme/support/bert-classifier:v\(index)")
        }
        #expect(try work.show("bert-classifier:staging")["version"] == 1)
        _ = try work.ok(["artifact", "alias", "bert-classifier:v1", "production"])
        _ = try work.ok(["artifact", "alias", "bert-classifier:v0", "production"])  // roll back
        let versions = try work.storeHandle().artifactVersions(ArtifactName(entity: "acme", project: "support", name: "bert-classifier"))
        #expect(versions.map(\.aliases) == [["production"], ["latest", "staging"]])
        #expect(try work.runql(["artifact", "alias", "bert-classifier:v1", "latest"]).status != 0)
        _ = try work.ok(["artifact", "unalias", "bert-classifier", "staging"])
        #expect(try work.show("bert-classifier:v1")["aliases"] == ["latest"])

        // An evaluation run uses the production model from another project.
        let evaluation = try work.startRun(project: "evals", name: "eval-prod")
        #expect(try work.ok(["artifact", "use", "acme/support/bert-classifier:production", "--run", evaluation])
            == "acme/support/bert-classifier:v0")
        #expect(try work.show("bert-classifier:v0")["used_by"] == [.string("acme/evals/\(evaluation)")])
        #expect(try work.show("clean-tickets")["inputs"] == ["acme/support/support-tickets:v0"])

        // Listing.
        let listing = try work.ok(["artifact", "ls"])
        #expect(listing.contains("acme/support/bert-classifier") && listing.contains("production=v0"))
        #expect(try work.ok(["artifact", "ls", "bert-classifier"]).split(separator: "\n").count == 3)

        // Getting files back: verified, idempotent, refuses to clobber changes without --force.
        #expect(try work.ok(["artifact", "get", "support-tickets", "--to", "out"]) == "out")
        #expect(work.read("out/raw/tickets.csv") == "id,text\n1,printer on fire\n")
        try work.write("edited", to: "out/raw/README")
        let refused = try work.runql(["artifact", "get", "support-tickets", "--to", "out"])
        #expect(refused.status == 1 && refused.stderr.contains("raw/README") && refused.stderr.contains("--force"))
        #expect(work.read("out/raw/README") == "edited")
        _ = try work.ok(["artifact", "get", "support-tickets", "--to", "out", "--force"])
        #expect(work.read("out/raw/README") == "source: zendesk\n")

        // Unknown references say what exists.
        let unknown = try work.runql(["artifact", "get", "bert-classifier:canary"])
        #expect(unknown.status == 1 && unknown.stderr.contains("aliases: production"))
        #expect(try work.runql(["artifact", "show", "no-such-thing"]).stderr.contains("no artifact named no-such-thing"))
    }

    @Test func ttlAndGarbageCollection() throws {
        let work = try Workspace()
        defer { work.directory.remove() }
        for index in 0..<3 {
            try work.write("checkpoint \(index)", to: "ckpt.bin")
            _ = try work.ok(["artifact", "log", "acme/train/ckpt", "--type", "model", "--file", "ckpt.bin", "--ttl", "1s"])
        }
        _ = try work.ok(["artifact", "alias", "ckpt:v0", "keep"])
        let before = try work.storeHandle().artifactVersions(ArtifactName(entity: "acme", project: "train", name: "ckpt"))
        #expect(before.allSatisfy { $0.expiresAt == $0.createdAt + 1 })
        usleep(1_200_000)
        let dry = try work.runql(["artifact", "gc", "--dry-run"])
        #expect(dry.status == 0 && dry.stdout == "would delete acme/train/ckpt:v1 (expired)\nwould delete acme/train/ckpt:v2 (expired)\n")
        #expect(try work.storeHandle().artifactVersions(ArtifactName(entity: "acme", project: "train", name: "ckpt")).count == 3)
        let collected = try work.runql(["artifact", "gc"])
        #expect(collected.status == 0 && collected.stderr.contains("deleted 2 expired versions and 2 unreferenced blobs (24 B)"))
        #expect(collected.stderr.contains("kept acme/train/ckpt:v0 (keep)"))
        let after = try work.storeHandle().artifactVersions(ArtifactName(entity: "acme", project: "train", name: "ckpt"))
        #expect(after.map(\.version) == [0] && after[0].aliases == ["latest", "keep"])
        #expect(try work.ok(["artifact", "verify"]).isEmpty)
        // Numbers of deleted versions are never given out again.
        try work.write("checkpoint 3", to: "ckpt.bin")
        #expect(try work.ok(["artifact", "log", "acme/train/ckpt", "--type", "model", "--file", "ckpt.bin"]) == "acme/train/ckpt:v3")
    }

    @Test func theSameContentIsStoredOnce() throws {
        let work = try Workspace()
        defer { work.directory.remove() }
        // A 100 MB model logged under three versions (each with a different small file beside it).
        let big = "\(work.root)/model.bin"
        let chunk = Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
        FileManager.default.createFile(atPath: big, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: big))
        for _ in 0..<100 { handle.write(chunk) }
        try handle.close()
        for index in 0..<3 {
            try work.write("run \(index)", to: "notes.txt")
            #expect(try work.ok(["artifact", "log", "acme/p/big", "--type", "model", "--file", "model.bin", "--file", "notes.txt"])
                == "acme/p/big:v\(index)")
        }
        let blobRoot = "\(work.store)/blobs/sha256"
        let sizes = try FileManager.default.subpathsOfDirectory(atPath: blobRoot).compactMap { path -> Int? in
            let attributes = try FileManager.default.attributesOfItem(atPath: "\(blobRoot)/\(path)")
            return attributes[.type] as? FileAttributeType == .typeRegular ? attributes[.size] as? Int : nil
        }
        #expect(sizes.filter { $0 == 100 << 20 }.count == 1)
        #expect(sizes.reduce(0, +) < 101 << 20)
        _ = try work.ok(["artifact", "get", "big:v1", "--to", "restored"])
        #expect(FileManager.default.contentsEqual(atPath: big, andPath: "\(work.root)/restored/model.bin"))
    }

    @Test func damageIsReportedNeverRepaired() throws {
        let work = try Workspace()
        defer { work.directory.remove() }
        try work.write("precious", to: "weights.bin")
        _ = try work.ok(["artifact", "log", "acme/p/m", "--type", "model", "--file", "weights.bin"])
        let digest = try #require(try work.storeHandle().artifactVersions(ArtifactName(entity: "acme", project: "p", name: "m"))[0].files[0].blobDigest)
        let blob = "\(work.store)/blobs/sha256/\(digest.prefix(2))/\(digest)"
        chmod(blob, 0o644)
        try Data("tampered".utf8).write(to: URL(fileURLWithPath: blob))
        let verify = try work.runql(["artifact", "verify"])
        #expect(verify.status == 1 && verify.stderr.contains("damaged blob \(digest)") && verify.stderr.contains("acme/p/m:v0 weights.bin"))
        #expect(work.read("store/blobs/sha256/\(digest.prefix(2))/\(digest)") == "tampered")  // reported, not "fixed"
        let get = try work.runql(["artifact", "get", "m", "--to", "out"])
        #expect(get.status == 1 && get.stderr.contains("damaged"))
        #expect(work.read("out/weights.bin") == nil)
        unlink(blob)
        #expect(try work.runql(["artifact", "verify"]).stderr.contains("missing blob \(digest)"))
    }

    @Test func pathsNeverEscape() throws {
        let work = try Workspace()
        defer { work.directory.remove() }
        try work.write("secret", to: "outside/secret.txt")
        try work.write("inside", to: "data/a.txt")
        // A symlink inside the logged directory that leads out of it is refused; one within it is followed.
        symlink("\(work.root)/outside/secret.txt", "\(work.root)/data/escape.txt")
        let escaping = try work.runql(["artifact", "log", "acme/p/d", "--type", "dataset", "--dir", "data"])
        #expect(escaping.status == 1 && escaping.stderr.contains("symlink leading outside"))
        unlink("\(work.root)/data/escape.txt")
        symlink("a.txt", "\(work.root)/data/alias.txt")
        _ = try work.ok(["artifact", "log", "acme/p/d", "--type", "dataset", "--dir", "data"])
        #expect(try work.show("d")["file_count"] == 2)
        // Names with '..' or absolute names are refused.
        for name in ["../evil.txt", "/etc/evil", "a/../../evil", "./x"] {
            let result = try work.runql(["artifact", "log", "acme/p/e", "--type", "dataset", "--file", "data/a.txt", "--name", name])
            #expect(result.status == 1 && result.stderr.contains("relative path"), "\(name): \(result.stderr)")
        }
        // get refuses to write through a symlink in the target directory.
        try FileManager.default.createDirectory(atPath: "\(work.root)/target", withIntermediateDirectories: true)
        symlink("\(work.root)/outside", "\(work.root)/target/data")
        let through = try work.runql(["artifact", "get", "d", "--to", "target"])
        #expect(through.status == 1 && through.stderr.contains("symlink"))
        #expect(work.read("outside/a.txt") == nil)
        // A manifest edited to point outside is refused too.
        let manifest = "\(work.store)/entities/acme/p/artifacts/d/versions/v0.json"
        let edited = try #require(work.read("store/entities/acme/p/artifacts/d/versions/v0.json")).replacingOccurrences(of: "\"data/a.txt\"", with: "\"../../escaped.txt\"")
        try Data(edited.utf8).write(to: URL(fileURLWithPath: manifest))
        let tampered = try work.runql(["artifact", "get", "d", "--to", "fresh"])
        #expect(tampered.status == 1 && tampered.stderr.contains("relative path"))
        #expect(!FileManager.default.fileExists(atPath: "\(work.root)/escaped.txt"))
    }

    @Test func concurrentWritersGetContiguousVersionsAndOneAliasHolder() throws {
        let work = try Workspace()
        defer { work.directory.remove() }
        for index in 0..<8 { try work.write("content \(index)", to: "in/\(index).txt") }
        let processes = (0..<8).map { index in
            let process = CLI.start(["artifact", "log", "acme/p/shared", "--type", "dataset", "--file", "in/\(index).txt", "--name", "data.txt", "--store", work.store], in: work.root)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            return process
        }
        for process in processes { try process.run() }
        for process in processes { process.waitUntilExit() }
        #expect(processes.allSatisfy { $0.terminationStatus == 0 })
        let name = ArtifactName(entity: "acme", project: "p", name: "shared")
        let versions = try work.storeHandle().artifactVersions(name)
        #expect(versions.map(\.version) == Array(0..<8))
        #expect(Set(versions.map(\.digest)).count == 8)

        let movers = (0..<8).map { index in
            let process = CLI.start(["artifact", "alias", "shared:v\(index)", "production", "--store", work.store], in: work.root)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            return process
        }
        for process in movers { try process.run() }
        for process in movers { process.waitUntilExit() }
        #expect(movers.allSatisfy { $0.terminationStatus == 0 })
        #expect(try work.storeHandle().artifactVersions(name).filter { $0.aliases.contains("production") }.count == 1)
    }

    @Test func aKilledLogLeavesNoHalfVersion() throws {
        let work = try Workspace()
        defer { work.directory.remove() }
        let chunk = Data(repeating: 7, count: 1 << 20)
        for index in 0..<6 {
            let path = "\(work.root)/part\(index).bin"
            FileManager.default.createFile(atPath: path, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            for _ in 0..<8 { handle.write(chunk) }
            handle.write(Data("\(index)".utf8))
            try handle.close()
        }
        let name = ArtifactName(entity: "acme", project: "p", name: "parts")
        var completed = 0
        for round in 0..<8 {
            let files = (0..<6).flatMap { ["--file", "part\($0).bin"] }
            let process = CLI.start(["artifact", "log", "acme/p/parts", "--type", "dataset", "--metadata", #"{"round": \#(round)}"#,
                                     "--store", work.store] + files + ["--alias", "r\(round)"], in: work.root)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(UInt32(10_000 + round * 60_000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            // Every visible version is whole: all six files, every blob present and intact.
            let versions = try work.storeHandle().artifactVersions(name)
            #expect(versions.allSatisfy { $0.files.count == 6 })
            completed = versions.count
            let verify = try work.runql(["artifact", "verify"])
            #expect(verify.status == 0, "\(verify.stderr)")
            // Append a line of a new file between rounds so every round logs new content.
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(work.root)/part0.bin"))
            handle.seekToEndOfFile()
            handle.write(Data("\(round)".utf8))
            try handle.close()
        }
        // Leftover staging files are collectable garbage, never visible versions.
        _ = try work.ok(["artifact", "gc"])
        #expect(try work.runql(["artifact", "verify"]).status == 0)
        print("killed artifact log: 8 rounds, \(completed) versions completed before a kill")
    }

    @Test func sizesThatOverflowAreRefusedNotATrap() throws {
        let work = try Workspace()
        defer { work.directory.remove() }
        var draft = ArtifactDraft(name: ArtifactName(entity: "acme", project: "p", name: "huge"), type: "dataset")
        draft.files = [
            ArtifactDraftFile(path: "a", source: .reference(digest: "md5:AAAA", size: .max)),
            ArtifactDraftFile(path: "b", source: .reference(digest: "md5:BBBB", size: .max)),
        ]
        #expect(throws: StoreError.self) { try work.storeHandle().logArtifact(draft) }
        draft.files = [ArtifactDraftFile(path: "a", source: .reference(digest: "md5:AAAA", size: -1))]
        #expect(throws: StoreError.self) { try work.storeHandle().logArtifact(draft) }
        #expect(try work.storeHandle().artifactVersions(draft.name).isEmpty)
    }

    @Test func theCurrentDirectoryKeepsItsName() throws {
        let work = try Workspace()
        defer { work.directory.remove() }
        try work.write("x", to: "project-data/a.txt")
        let logged = try CLI.run(["artifact", "log", "acme/p/here", "--type", "dataset", "--dir", ".", "--store", work.store], in: "\(work.root)/project-data")
        #expect(logged.status == 0, "\(logged.stderr)")
        #expect(try work.storeHandle().artifactVersions(ArtifactName(entity: "acme", project: "p", name: "here"))[0].files.map(\.path) == ["project-data/a.txt"])
        let root = try CLI.run(["artifact", "log", "acme/p/root", "--type", "dataset", "--dir", "/", "--store", work.store])
        #expect(root.status == 1 && root.stderr.contains("--name"))
    }

    @Test func aVersionLoggedInAGitWorkTreeRecordsItsCommit() throws {
        let work = try Workspace()
        defer { work.directory.remove() }
        try work.write("x", to: "repo/data.csv")
        func git(_ arguments: [String]) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["git", "-C", "\(work.root)/repo", "-c", "user.email=t@example.com", "-c", "user.name=t"] + arguments
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        _ = try git(["init", "-q"])
        _ = try git(["add", "data.csv"])
        _ = try git(["commit", "-qm", "data"])
        let commit = try git(["rev-parse", "HEAD"])
        try #require(commit.count == 40, "git is needed for this test")
        let logged = try CLI.run(["artifact", "log", "acme/p/d", "--type", "dataset", "--file", "data.csv", "--store", work.store], in: "\(work.root)/repo")
        #expect(logged.status == 0, "\(logged.stderr)")
        #expect(try work.storeHandle().artifactVersions(ArtifactName(entity: "acme", project: "p", name: "d"))[0].gitCommit == commit)
    }
}
