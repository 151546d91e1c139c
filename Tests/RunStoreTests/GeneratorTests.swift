import Foundation
import Testing
@testable import RunGenerator
@testable import RunStore

@Suite struct GeneratorTests {
    func generate(runs: Int, steps: Int, seed: UInt64, into directory: TemporaryDirectory, name: String) throws -> (runs: [JSONObject], history: String) {
        let output = try InterchangeGenerator(runs: runs, steps: steps, seed: seed).write(to: "\(directory.path)/\(name)")
        let runLines = try String(contentsOfFile: output.runsPath, encoding: .utf8).split(separator: "\n")
        let records = try runLines.map { try #require(JSONParser.parse(String($0)).objectValue) }
        return (records, try String(contentsOfFile: output.historyPath, encoding: .utf8))
    }

    @Test func sameSeedSameBytesOtherSeedOtherBytes() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = try generate(runs: 30, steps: 40, seed: 7, into: directory, name: "a")
        let again = try generate(runs: 30, steps: 40, seed: 7, into: directory, name: "b")
        let other = try generate(runs: 30, steps: 40, seed: 8, into: directory, name: "c")
        #expect(first.runs == again.runs && first.history == again.history)
        #expect(first.history != other.history)
    }

    @Test func dataHasTheShapeTheBenchmarksNeed() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let data = try generate(runs: 2_000, steps: 50, seed: 1, into: directory, name: "shape")
        let runs = data.runs
        #expect(Set(runs.map { $0["project"]?.stringValue }).count == 5)
        #expect(Set(runs.map { $0["id"]?.stringValue }).count == runs.count)
        let finished = runs.filter { $0["state"] == "finished" }.count
        #expect(finished > runs.count * 3 / 4 && finished < runs.count)
        #expect(runs.contains { $0.value(at: ["config", "learning_rate"])?.stringValue != nil })
        #expect(runs.contains { $0.value(at: ["config", "learning_rate"])?.doubleValue != nil })
        #expect(runs.contains { $0.value(at: ["config", "optim", "momentum"]) == nil })
        #expect(runs.contains { $0.value(at: ["summary", "val/f1"])?.doubleValue?.isNaN == true })
        #expect(runs.contains { ($0["tags"].map { "\($0)" } ?? "").contains("bert") })

        func leaves(_ object: JSONObject) -> Int {
            object.values.reduce(0) { count, value in count + (value.objectValue.map(leaves) ?? 1) }
        }
        let leafCounts = runs.compactMap { $0["config"]?.objectValue }.map(leaves)
        #expect((35...45).contains(leafCounts.max() ?? 0))
        let summaryKeys = Set(runs.flatMap { $0["summary"]?.objectValue?.keys.map { $0 } ?? [] })
        #expect((18...22).contains(summaryKeys.count))
        #expect(summaryKeys.filter { $0.contains("/") }.count >= 15)

        let lines = data.history.split(separator: "\n")
        let steps = try lines.map { try #require(JSONParser.parse(String($0)).objectValue) }
        let metricKeys = Set(steps.flatMap { $0.keys.filter { !$0.hasPrefix("_") && $0 != "run_id" } })
        #expect(metricKeys.count == 8)
        #expect(steps.filter { $0["val/f1"] != nil }.allSatisfy { ($0["_step"]?.integerValue ?? 1) % 10 == 0 })
        let nanCount = steps.reduce(0) { count, step in count + step.values.filter { $0.doubleValue?.isNaN == true }.count }
        #expect(nanCount > 0)
    }
}
