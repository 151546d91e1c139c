import Foundation
import RunStore
import Testing

/// `runql QUERY`, `-c`, `-f`, stdin, `--format`: the batch mode, from a user's shell.
@Suite struct QueryCommandTests {
    static let sampleStore = SampleStoreTests.repository + "/Samples/store"

    @Test func aQueryPrintsATableOnStdout() throws {
        let result = try CLI.run(["--store", Self.sampleStore, "SELECT name, val_f1 FROM runs WHERE state = 'finished' ORDER BY val_f1 DESC LIMIT 3"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 7)
        #expect(lines[1].contains("name") && lines[1].contains("val_f1"))
        #expect(lines[3].contains("sunny-dew-85") && lines[3].hasSuffix("0.970444 │"))
    }

    @Test func csvQuotesWhatNeedsQuoting() throws {
        let result = try CLI.run(["--store", Self.sampleStore, "--format", "csv", "-c", #"SELECT 'a,b' AS x, NULL AS y, '' AS z, 'q"uote' AS w, 2.5 AS n"#])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "x,y,z,w,n\n\"a,b\",,\"\",\"q\"\"uote\",2.5\n")
    }

    /// A store with a dataset, the run that trained a model on it, and the model: lineage from the shell.
    @Test func artifactTablesAndLineageWalks() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try RunStore.create(at: directory.path + "/store")
        var train = RunMetadata(id: "t1", entity: "acme", project: "nlp")
        train.name = "bert-large"
        train.createdAt = 1_767_225_600
        try store.publishRun(train, config: [:], summary: [:], history: [])
        let data = try directory.write("text,label\nhello,0\n", to: "train.csv")
        var dataset = ArtifactDraft(name: ArtifactName(entity: "acme", project: "nlp", name: "tickets"), type: "dataset")
        dataset.files = [ArtifactDraftFile(path: "train.csv", source: .file(data))]
        dataset.metadata = ["rows": 1]
        try store.logArtifact(dataset)
        try store.useArtifact(dataset.name, version: 0, by: train.location)
        var model = ArtifactDraft(name: ArtifactName(entity: "acme", project: "nlp", name: "bert"), type: "model")
        model.loggedBy = train.location
        model.aliases = ["production"]
        try store.logArtifact(model)

        let walk = try CLI.run(["--store", store.root, "--format", "csv",
                                "SELECT depth, kind, coalesce(reference, run_name) AS node FROM upstream('bert:production')"])
        #expect(walk.status == 0, "\(walk.stderr)")
        #expect(walk.stdout == "depth,kind,node\n1,run,bert-large\n2,artifact,tickets:v0\n")

        let artifacts = try CLI.run(["--store", store.root, "--format", "json",
                                     "SELECT name, version, aliases, metadata.rows FROM artifacts WHERE 'production' IN aliases OR type = 'dataset' ORDER BY name"])
        #expect(artifacts.status == 0, "\(artifacts.stderr)")
        #expect(artifacts.stdout.contains(#""name":"bert","version":0,"aliases":["latest","production"],"rows":null"#), "\(artifacts.stdout)")
        #expect(artifacts.stdout.contains(#""name":"tickets","version":0,"aliases":["latest"],"rows":1"#), "\(artifacts.stdout)")

        let missing = try CLI.run(["--store", store.root, "SELECT * FROM downstream('tickets:v3')"])
        #expect(missing.status == 1)
        #expect(missing.stdout.isEmpty)
        #expect(missing.stderr.contains("Catalog Error: tickets:v3 matches no version of acme/nlp/tickets (it has v0)"), "\(missing.stderr)")
    }

    @Test func errorsGoToStderrWithCaretsAndExitOne() throws {
        let result = try CLI.run(["--store", Self.sampleStore, "SELECT lossx FROM runs"])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("Binder Error: Referenced column \"lossx\" not found"))
        #expect(result.stderr.contains("LINE 1: SELECT lossx FROM runs\n               ^^^^^"))
    }

    @Test func filesReportTheirLineAndStopAtTheFirstError() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("SELECT count(*) AS n FROM runs;\n\nSELECT nope\nFROM runs;\nSELECT 1 AS never;\n", to: "script.sql")
        let result = try CLI.run(["--store", Self.sampleStore, "--format", "csv", "-f", file])
        #expect(result.status == 1)
        #expect(result.stdout == "n\n152\n")
        #expect(result.stderr.hasPrefix("\(file):3: Binder Error"))
    }

    @Test func aScriptOnStdinRunsEveryStatement() throws {
        let result = try CLI.run(["--store", Self.sampleStore, "--format", "csv"], input: "SELECT 1 AS a;\nSELECT nope FROM runs;\nSELECT 2 AS b;\n")
        #expect(result.status == 1)
        #expect(result.stdout == "a\n1\nb\n2\n")
        #expect(result.stderr.contains("<stdin>:2: Binder Error"))
    }

    @Test func repeatedCommandsRunInOrder() throws {
        let result = try CLI.run(["--format", "csv", "-c", "SELECT 1 AS a", "--store", Self.sampleStore, "-c", "SELECT 2 AS b"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "a\n1\nb\n2\n")
    }

    @Test func everyQueryOfPRODUCTOneRunsOnTheSampleStore() throws {
        let queries = [
            "SELECT name, val_f1 FROM runs WHERE state='finished' ORDER BY val_f1 DESC LIMIT 10",
            "SELECT name, config.learning_rate, summary.\"val/f1\" FROM runs",
            "SELECT config.learning_rate, count(*), avg(val_f1), stddev(val_f1) FROM runs GROUP BY ALL ORDER BY 3 DESC",
            "SELECT run.name, arg_max(_step, \"val/acc\") AS best_step, max(\"val/acc\") FROM history GROUP BY run.name",
        ]
        for query in queries {
            let result = try CLI.run(["--store", Self.sampleStore, "--format", "csv", query])
            #expect(result.status == 0, "\(query): \(result.stderr)")
            #expect(result.stdout.split(separator: "\n").count > 5, "\(query)")
        }
    }
}

/// Machine formats read back by the standard tools: Python's csv and json modules.
@Suite struct FormatRoundTripTests {
    /// Quotes, a comma, a newline inside a value (a real line break in the SQL string), a pipe,
    /// NULL, the empty string, a list and a timestamp.
    static let awkward = "SELECT name, val_f1, 'a,b \"c\"' || '\nd|e' AS text, NULL AS nothing, '' AS empty, tags, created_at FROM runs ORDER BY name LIMIT 5"

    func python(_ script: String, input: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    @Test func csvReadsBackThroughPythonsCSVModule() throws {
        let result = try CLI.run(["--store", QueryCommandTests.sampleStore, "--format", "csv", Self.awkward])
        #expect(result.status == 0, "\(result.stderr)")
        let decoded = try python("import csv, json, sys; print(json.dumps(list(csv.reader(sys.stdin))))", input: result.stdout)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(decoded.utf8)) as? [[String]])
        #expect(rows.count == 6)
        #expect(rows[0] == ["name", "val_f1", "text", "nothing", "empty", "tags", "created_at"])
        #expect(rows[1][2] == "a,b \"c\"\nd|e")
        #expect(rows[1][3] == "" && rows[1][4] == "")
        #expect(Double(rows[1][1]) != nil)
    }

    @Test func jsonAndNDJSONReadBackThroughPythonsJSONModule() throws {
        let query = Self.awkward.replacingOccurrences(of: " FROM runs", with: ", 'NaN'::DOUBLE AS nan FROM runs")
        for format in ["json", "ndjson"] {
            let result = try CLI.run(["--store", QueryCommandTests.sampleStore, "--format", format, query])
            #expect(result.status == 0, "\(result.stderr)")
            let script = format == "json"
                ? "import json, sys; rows = json.load(sys.stdin); print(len(rows), rows[0]['nan'], rows[0]['text'] == 'a,b \"c\"\\nd|e', rows[0]['nothing'], type(rows[0]['tags']).__name__, rows[0]['created_at'][10])"
                : "import json, sys; rows = [json.loads(line) for line in sys.stdin]; print(len(rows), rows[0]['nan'], rows[0]['text'] == 'a,b \"c\"\\nd|e', rows[0]['nothing'], type(rows[0]['tags']).__name__, rows[0]['created_at'][10])"
            #expect(try python(script, input: result.stdout) == "5 None True None list T\n", "\(format)")
        }
    }

    @Test func outputFileTakesTheResultsAndStdoutStaysEmpty() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.path + "/out.csv"
        let result = try CLI.run(["-o", file, "--format", "csv", "--store", QueryCommandTests.sampleStore, "SELECT count(*) AS n FROM runs"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "n\n152\n")
    }
}
