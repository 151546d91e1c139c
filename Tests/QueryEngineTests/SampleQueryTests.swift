import Foundation
import QueryEngine
import QuerySyntax
import Testing

/// Every query in Samples/queries/ runs on the sample store, and its output is a golden file
/// (`samples/NAME.out`; `RUNQL_RECORD=1` rewrites them).
@Suite struct SampleQueryTests {
    static let queries: [String] = {
        let folder = GoldenTests.repository.appendingPathComponent("Samples/queries").path
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".sql") }.sorted()
    }()

    @Test(arguments: queries)
    func sampleQuery(_ file: String) throws {
        let sql = try String(contentsOfFile: GoldenTests.repository.appendingPathComponent("Samples/queries/\(file)").path, encoding: .utf8)
        let engine = try Stores.engine("sample")
        let lines = GoldenTests.run(sql, engine: engine, sort: false, expectError: false)
        let actual = lines.joined(separator: "\n") + "\n"
        let expectedPath = GoldenTests.directory.appendingPathComponent("samples/\(file.replacingOccurrences(of: ".sql", with: ".out"))").path
        if ProcessInfo.processInfo.environment["RUNQL_RECORD"] == "1" {
            try actual.write(toFile: expectedPath, atomically: true, encoding: .utf8)
            return
        }
        let expected = (try? String(contentsOfFile: expectedPath, encoding: .utf8)) ?? "(missing \(expectedPath))"
        #expect(actual == expected, "Samples/queries/\(file)")
    }
}
