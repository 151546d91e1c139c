import CSQLite
import Foundation
import RunStore
import Testing
import TestSupport
@testable import MLflowImport

/// A SQLite store that grew (MLflow inserted metric rows) re-imports only the new points.
@Suite struct SQLiteIncrementalTests {
    @Test func reimportingAGrownDatabaseAddsOnlyTheNewPoints() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = "\(directory.path)/mlflow.db"
        try FileManager.default.copyItem(atPath: MLflowFixture.Backend.sqlite.path, toPath: database)
        let first = try MLflowFixture.importInto(.sqlite, source: database, directory: directory)
        let baseline = RunLocation(entity: "alice", project: "anchors-demo", id: "36ff2e6788e34b2f89ec2d4961d9b3fc")
        #expect(try first.store.readHistory(baseline).steps.count == 11)

        // What MLflow writes for log_metric("loss", nan, step=10) and log_metric("acc", 0.97, step=10).
        try execute(database, """
            INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES
              ('loss', 0, 1795852864900, '36ff2e6788e34b2f89ec2d4961d9b3fc', 10, 1),
              ('acc', 0.97, 1795852864901, '36ff2e6788e34b2f89ec2d4961d9b3fc', 10, 0);
            UPDATE latest_metrics SET value = 0, timestamp = 1795852864900, step = 10, is_nan = 1
              WHERE key = 'loss' AND run_uuid = '36ff2e6788e34b2f89ec2d4961d9b3fc';
            UPDATE latest_metrics SET value = 0.97, timestamp = 1795852864901, step = 10
              WHERE key = 'acc' AND run_uuid = '36ff2e6788e34b2f89ec2d4961d9b3fc';
            """)
        let (report, _) = try MLflowFixture.run(.sqlite, source: database, into: first.store)
        #expect(report.runsUpdated == 1 && report.runsUnchanged == 9)
        #expect(report.stepsImported == 1 && report.pointsImported == 2)
        let steps = try first.store.readHistory(baseline).steps
        #expect(steps.count == 12)
        #expect(steps.last?["_step"] == .int(10) && steps.last?["loss"]?.doubleValue?.isNaN == true && steps.last?["acc"] == .double(0.97))
        let summary = try first.store.effectiveSummary(baseline)
        #expect(summary["loss"]?.doubleValue?.isNaN == true && summary["acc"] == .double(0.97))
    }

    private func execute(_ path: String, _ sql: String) throws {
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
}
