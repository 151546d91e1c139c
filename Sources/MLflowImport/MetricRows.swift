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
/// Incremental: `rows(for:alreadyStored:)` leaves out the first N points of each key, N being how
/// many values of that key the run's stored history already holds, so a re-import adds only the
/// points logged since.
enum MetricRows {
    /// History keys runql reserves; an MLflow metric by one of these names is not imported.
    static let reservedKeys: Set<String> = ["_step", "_timestamp", "_runtime"]

    /// How many values of each key a stored history holds.
    static func storedCounts(_ log: HistoryLog) -> [String: Int] {
        var counts: [String: Int] = [:]
        for step in log.steps {
            for key in step.keys where !reservedKeys.contains(key) { counts[key, default: 0] += 1 }
        }
        return counts
    }

    /// The rows for the points beyond `alreadyStored[key]` of each key.
    static func rows(for history: MLflowMetricHistory, alreadyStored: [String: Int], runStart: Int64?) -> [JSONObject] {
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
            for point in points.dropFirst(alreadyStored[key] ?? 0) {
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
            if let runStart { object["_runtime"] = .double(Double(row.firstTimestamp - runStart) / 1000) }
            for (key, value) in row.values { object[key] = .double(value) }
            return object
        }
    }
}
