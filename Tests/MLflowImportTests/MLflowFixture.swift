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
