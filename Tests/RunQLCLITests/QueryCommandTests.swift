import Foundation
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
        #expect(result.stdout == "n\n150\n")
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
