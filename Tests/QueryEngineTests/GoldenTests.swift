import Foundation
import QueryEngine
import QuerySyntax
import ColumnIndex
import RunStore
import Testing
import TestSupport

/// The golden files: sqllogictest-style records, one Swift Testing case per file.
///
/// ```
/// load sample                 # the store the next records query: sample (Samples/store) or a
///                             # folder of stores/ (runs.jsonl, history.jsonl imported fresh,
///                             # then artifacts.jsonl written as ArtifactFixture describes)
/// query rowsort               # (or nosort, the default): the header line, then one row per line,
/// SELECT a, b FROM runs       # values tab-separated, NULL as NULL, '' as (empty)
/// ----
/// a	b
/// 1	x
///
/// statement error             # the rendered error, carets and all
/// SELECT lossx FROM runs
/// ----
/// Binder Error: …
/// ```
/// `RUNQL_RECORD=1 swift test --filter GoldenTests` rewrites every expected block from what the
/// engine does; review the diff before committing.
@Suite struct GoldenTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let repository = directory.deletingLastPathComponent().deletingLastPathComponent()

    static let files: [String] = {
        let golden = directory.appendingPathComponent("golden").path
        return ((try? FileManager.default.contentsOfDirectory(atPath: golden)) ?? []).filter { $0.hasSuffix(".test") }.sorted()
    }()

    @Test(arguments: files)
    func golden(_ file: String) throws {
        let path = Self.directory.appendingPathComponent("golden/\(file)").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let records = GoldenFile.parse(text)
        var engine: Engine?
        var rewritten: [String] = []
        let recording = ProcessInfo.processInfo.environment["RUNQL_RECORD"] == "1"
        for record in records {
            switch record.kind {
            case .text(let lines):
                rewritten += lines
            case .load(let name):
                engine = try Stores.engine(name)
                rewritten += record.header
            case .query(let sort), .error(let sort):
                guard let engine else {
                    Issue.record("\(file):\(record.line): no `load` before this record")
                    continue
                }
                let isError: Bool
                if case .error = record.kind { isError = true } else { isError = false }
                let actual = Self.run(record.sql, engine: engine, sort: sort, expectError: isError)
                rewritten += record.header + record.sqlLines + ["----"] + actual + [""]
                if !recording, actual != record.expected {
                    Issue.record(
                        Comment(rawValue: "\(file):\(record.line): output differs\n--- expected\n\(record.expected.joined(separator: "\n"))\n--- actual\n\(actual.joined(separator: "\n"))"),
                        sourceLocation: SourceLocation(fileID: "QueryEngineTests/\(file)", filePath: path, line: record.line, column: 1))
                }
            }
        }
        if recording {
            var output = rewritten.joined(separator: "\n")
            while output.hasSuffix("\n\n") { output.removeLast() }
            if !output.hasSuffix("\n") { output += "\n" }
            try output.write(toFile: path, atomically: true, encoding: .utf8)
        }
    }

    /// The lines a record's SQL produces: header and rows, or the rendered error.
    static func run(_ sql: String, engine: Engine, sort: Bool, expectError: Bool) -> [String] {
        do {
            var last: QueryResult?
            for statement in try engine.parse(sql) { last = try engine.execute(statement, source: sql) }
            guard let result = last else { return ["(no statement)"] }
            if expectError { return ["expected an error, but the statement succeeded"] }
            var rows = (0..<result.rowCount).map { rowIndex in
                (0..<result.names.count).map { columnIndex in cell(result.value(row: rowIndex, column: columnIndex)) }.joined(separator: "\t")
            }
            if sort { rows.sort() }
            return [result.names.joined(separator: "\t")] + rows
        } catch let diagnostic as Diagnostic {
            let rendered = diagnostic.render(in: sql).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            return expectError ? rendered : ["unexpected error:"] + rendered
        } catch {
            return ["unexpected error: \(error)"]
        }
    }

    static func cell(_ value: Value) -> String {
        if case .string(let text) = value, text.isEmpty { return "(empty)" }
        return Render.text(value).replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\t", with: "\\t")
    }
}

/// The records of a golden file.
struct GoldenFile {
    enum Kind {
        case text([String])
        case load(String)
        case query(sort: Bool)
        case error(sort: Bool)
    }

    struct Record {
        var kind: Kind
        var line: Int
        var header: [String] = []
        var sqlLines: [String] = []
        var expected: [String] = []
        var sql: String { sqlLines.joined(separator: "\n") }
    }

    static func startsRecord(_ line: String) -> Bool {
        line.hasPrefix("query") || line.hasPrefix("statement ") || line.hasPrefix("load ") || line.hasPrefix("#")
    }

    static func parse(_ text: String) -> [Record] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var records: [Record] = []
        var index = 0
        var loose: [String] = []
        func flushLoose() {
            if !loose.isEmpty { records.append(Record(kind: .text(loose), line: index)) }
            loose = []
        }
        while index < lines.count {
            let line = lines[index]
            if line.hasPrefix("load ") {
                flushLoose()
                records.append(Record(kind: .load(String(line.dropFirst(5)).trimmingCharacters(in: .whitespaces)), line: index + 1, header: [line]))
                index += 1
            } else if line.hasPrefix("query") || line.hasPrefix("statement error") {
                flushLoose()
                let sort = line.contains("rowsort")
                var record = Record(kind: line.hasPrefix("query") ? .query(sort: sort) : .error(sort: sort), line: index + 1, header: [line])
                index += 1
                while index < lines.count, lines[index] != "----" {
                    record.sqlLines.append(lines[index])
                    index += 1
                }
                index += 1
                while index < lines.count, !startsRecord(lines[index]) {
                    record.expected.append(lines[index])
                    index += 1
                }
                while record.expected.last == "" { record.expected.removeLast() }
                records.append(record)
            } else {
                if !(loose.isEmpty && line.isEmpty) || !records.isEmpty { loose.append(line) }
                index += 1
            }
        }
        flushLoose()
        return records
    }
}

/// The stores golden files query, built once per test run.
enum Stores {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var engines: [String: Engine] = [:]

    static func engine(_ name: String) throws -> Engine {
        try lock.withLock {
            if let engine = engines[name] { return engine }
            let path: String
            if name == "sample" {
                path = GoldenTests.repository.appendingPathComponent("Samples/store").path
            } else {
                let source = GoldenTests.directory.appendingPathComponent("stores/\(name)").path
                let directory = try TemporaryDirectory()
                path = directory.path + "/store"
                let store = try RunStore.create(at: path)
                let importer = JSONLImporter(store: store, defaultEntity: "test", defaultProject: "edge", warn: { _ in })
                try importer.importRuns(from: source + "/runs.jsonl")
                if FileManager.default.fileExists(atPath: source + "/history.jsonl") { try importer.importHistory(from: source + "/history.jsonl") }
                if FileManager.default.fileExists(atPath: source + "/artifacts.jsonl") { try ArtifactFixture.apply(source + "/artifacts.jsonl", to: store) }
            }
            let engine = Engine(store: try RunStore.open(at: path))
            engines[name] = engine
            return engine
        }
    }
}
