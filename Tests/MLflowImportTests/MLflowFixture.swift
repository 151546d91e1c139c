import CSQLite
import Foundation
import RunStore
import TestSupport
@testable import MLflowImport

/// The MLflow fixture (alice's `ml-project`: `mlruns/` and `mlflow.db`, made by mlflow 3.17.2)
/// and its reference answers, recorded with MLflow's own client.
enum MLflowFixture {
    enum Backend: String, CaseIterable, Sendable, CustomStringConvertible {
        case file, sqlite
        var description: String { rawValue }

        var path: String {
            switch self {
            case .file: return "\(MLflowFixture.folder)/mlruns"
            case .sqlite: return "\(MLflowFixture.folder)/mlflow.db"
            }
        }
    }

    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("fixtures").path
    static let entity = "alice"
    /// Well after the fixture was made: the RUNNING run with no end time is stale.
    static let now = Timestamp.parse("2026-11-29T08:00:00Z") ?? 0

    struct Imported {
        var directory: TemporaryDirectory
        var store: RunStore
        var report: MLflowImporter.Report
        var warnings: [String]
    }

    /// Imports `source` (default: the backend's fixture) into a new store in a fresh directory.
    static func importInto(_ backend: Backend, source: String? = nil, directory: TemporaryDirectory? = nil) throws -> Imported {
        let directory = try directory ?? TemporaryDirectory()
        let storePath = "\(directory.path)/store"
        let store = FileManager.default.fileExists(atPath: storePath) ? try RunStore.open(at: storePath) : try RunStore.create(at: storePath)
        let (report, warnings) = try run(backend, source: source ?? backend.path, into: store)
        return Imported(directory: directory, store: store, report: report, warnings: warnings)
    }

    static func run(_ backend: Backend, source: String, into store: RunStore) throws -> (MLflowImporter.Report, [String]) {
        var options = MLflowImporter.Options(entity: entity)
        options.now = now
        let warnings = Warnings()
        let importer = MLflowImporter(store: store, reader: try MLflowImporter.reader(for: source), options: options, warn: warnings.add)
        try importer.importAll()
        importer.finish()
        return (importer.report, warnings.messages)
    }

    /// A copy of the backend's fixture (`mlruns/` or `mlflow.db`) in `directory`, to change.
    static func copy(_ backend: Backend, into directory: TemporaryDirectory) throws -> String {
        let copy = "\(directory.path)/\((backend.path as NSString).lastPathComponent)"
        try FileManager.default.copyItem(atPath: backend.path, toPath: copy)
        return copy
    }

    /// Runs SQL on a copy of `mlflow.db`, as MLflow itself would change it.
    static func execute(_ path: String, _ sql: String) throws {
        var handle: OpaquePointer?
        guard sqlite3_open(path, &handle) == SQLITE_OK else { throw StoreError("cannot open \(path)") }
        defer { sqlite3_close(handle) }
        var message: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(handle, sql, nil, nil, &message) != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? "unknown error"
            sqlite3_free(message)
            throw StoreError("\(path): \(text)")
        }
    }

    /// Appends `text` to a file of a copied `mlruns/`, creating it when missing.
    static func append(_ text: String, to path: String) throws {
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw StoreError("cannot open \(path)") }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }

    /// Rewrites a copied `meta.yaml` line by line: `change` gets each line, returns its replacement (nil drops it).
    static func editMeta(_ path: String, _ change: (String) -> String?) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).compactMap { change(String($0)) }
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// The fixture's `baseline` run: its id in each backend, and its folder in `mlruns/`.
    static func baselineID(_ backend: Backend) -> String {
        backend == .file ? "d0b339f5fa29488e85984c160fe67cf0" : "36ff2e6788e34b2f89ec2d4961d9b3fc"
    }

    static let baselineFolder = "961493392394604608/d0b339f5fa29488e85984c160fe67cf0"

    final class Warnings: @unchecked Sendable {
        var messages: [String] = []
        func add(_ message: String) { messages.append(message) }
    }

    // MARK: Reference answers

    /// `reference/search_runs_reference.json` (read with runql's own JSON parser: exact doubles).
    static func searchReference() throws -> JSONObject {
        try json("reference/search_runs_reference.json")
    }

    /// `reference/metric_history_reference.json`.
    static func metricHistoryReference() throws -> JSONObject {
        try json("reference/metric_history_reference.json")
    }

    private static func json(_ name: String) throws -> JSONObject {
        let bytes = try FileIO.read("\(folder)/\(name)") ?? []
        return try JSONParser.parse(bytes).objectValue ?? [:]
    }

    /// Every run the reference queries returned for a backend, by run id (columns merged).
    static func referenceRuns(_ backend: Backend) throws -> [String: JSONObject] {
        let answers = try searchReference().value(at: ["results", backend.rawValue])?.objectValue ?? [:]
        var runs: [String: JSONObject] = [:]
        for (key, value) in answers where key.hasPrefix("Q") {
            guard case .array(let rows)? = value.objectValue?["rows"] else { continue }
            for case .object(let row) in rows {
                guard let id = row["run_id"]?.stringValue else { continue }
                var merged = runs[id] ?? [:]
                for (column, cell) in row where merged[column] == nil { merged[column] = cell }
                runs[id] = merged
            }
        }
        return runs
    }

    /// A reference number: the JSON convention spells non-finite floats (and pandas' missing
    /// values) "NaN", "Infinity", "-Infinity".
    static func number(_ value: JSONValue?) -> Double? {
        switch value {
        case .string("NaN")?: return .nan
        case .string("Infinity")?: return .infinity
        case .string("-Infinity")?: return -.infinity
        case let other?: return other.doubleValue
        case nil: return nil
        }
    }
}
