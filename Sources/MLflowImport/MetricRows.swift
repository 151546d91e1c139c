import RunStore

/// MLflow metric points as runql history steps.
///
/// MLflow logs each key on its own (`key, value, timestamp, step`); runql's history has one row
/// per step. Points of different keys at the same step share a row; a key logged again at a step
/// it already has (baseline's `loss` 9.99 at step 3, logged last) opens a further row with that
/// `_step`, so every point is kept. Rows go in the order of their first point's timestamp (then
/// step), and carry `_timestamp` (that first point's time, seconds) and `_runtime` (seconds since
/// the run's start).
///
/// The rows are a function of the source's points alone, so a re-import computes them all again
/// and compares them with what is stored (see `MLflowImporter`): importing a grown run gives
/// exactly the history a fresh import gives.
enum MetricRows {
    /// History keys runql reserves; an MLflow metric by one of these names is not imported.
    static let reservedKeys: Set<String> = ["_step", "_timestamp", "_runtime"]

    /// Every row of the history, in order. A row whose time is too far from the run's start for
    /// the difference to fit in 64 bits has no `_runtime`; `notes` says so.
    static func rows(for history: MLflowMetricHistory, runStart: Int64?, origin: String, notes: inout [String]) -> [JSONObject] {
        struct RowKey: Hashable {
            var step: Int64
            var occurrence: Int
        }
        struct Row {
            var firstTimestamp: Int64
            var values: [(key: String, value: Double)] = []
        }
        var rows: [RowKey: Row] = [:]
        for (key, points) in history.series where !reservedKeys.contains(key) {
            var seenAtStep: [Int64: Int] = [:]
            for point in points {
                let occurrence = seenAtStep[point.step, default: 0]
                seenAtStep[point.step] = occurrence + 1
                let rowKey = RowKey(step: point.step, occurrence: occurrence)
                var row = rows[rowKey] ?? Row(firstTimestamp: point.timestamp)
                row.firstTimestamp = min(row.firstTimestamp, point.timestamp)
                row.values.append((key, point.value))
                rows[rowKey] = row
            }
        }
        let ordered = rows.sorted { lhs, rhs in
            (lhs.value.firstTimestamp, lhs.key.step, lhs.key.occurrence) < (rhs.value.firstTimestamp, rhs.key.step, rhs.key.occurrence)
        }
        return ordered.map { rowKey, row in
            var object: JSONObject = [
                "_step": .int(rowKey.step),
                "_timestamp": .double(Double(row.firstTimestamp) / 1000),
            ]
            if let runStart {
                let (runtime, overflow) = row.firstTimestamp.subtractingReportingOverflow(runStart)
                if overflow {
                    let keys = row.values.map(\.key).joined(separator: ", ")
                    notes.append("\(origin): metric point(s) of \(keys) at step \(rowKey.step) have timestamp \(row.firstTimestamp) ms, which is too far from the run's start (\(runStart) ms) for a runtime; _runtime left out of that step")
                } else {
                    object["_runtime"] = .double(Double(runtime) / 1000)
                }
            }
            for (key, value) in row.values { object[key] = .double(value) }
            return object
        }
    }

    /// How many metric values (keys other than the reserved ones) a row holds.
    static func pointCount(_ row: JSONObject) -> Int {
        row.keys.reduce(0) { $0 + (reservedKeys.contains($1) ? 0 : 1) }
    }
}
