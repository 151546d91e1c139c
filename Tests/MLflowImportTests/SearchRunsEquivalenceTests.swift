import ColumnIndex
import QueryEngine
import RunStore
import Testing
@testable import MLflowImport

/// Each recorded `mlflow.search_runs` query (experiment `anchors-demo`) as RunQL over the
/// imported store returns the same runs in the same order, for both backends.
@Suite struct SearchRunsEquivalenceTests {
    /// MLflow's default view is ACTIVE_ONLY: deleted runs are left out unless asked for.
    static let active = "project = 'anchors-demo' AND config.mlflow.lifecycle_stage = 'active'"

    /// The RunQL equivalent of each reference query, by id.
    static let queries: [String: String] = [
        // metrics.val_f1 > 0.8, order by metrics.val_f1 DESC
        "Q1": "SELECT name FROM runs WHERE \(active) AND summary.val_f1 > 0.8 ORDER BY summary.val_f1 DESC",
        // params.optimizer = 'adam' and tags.team = 'vision', order by attributes.start_time ASC
        "Q2": "SELECT name FROM runs WHERE \(active) AND config.mlflow.params.optimizer = 'adam' AND config.mlflow.tags.team = 'vision' ORDER BY created_at ASC",
        // attributes.status != 'FINISHED', order by attributes.run_name ASC
        "Q3": "SELECT name FROM runs WHERE \(active) AND config.mlflow.status != 'FINISHED' ORDER BY name ASC",
        // tags.mlflow.runName LIKE '%delete%', run_view_type ALL (deleted runs included)
        "Q4": "SELECT name FROM runs WHERE project = 'anchors-demo' AND config.mlflow.tags.\"mlflow.runName\" LIKE '%delete%'",
        // no filter, order by metrics.val_f1 DESC, attributes.run_name ASC (runs without val_f1 last)
        "Q5": "SELECT name FROM runs WHERE \(active) ORDER BY summary.val_f1 DESC, name ASC",
        // metrics.loss <= 0.4, order by metrics.loss ASC
        "Q6": "SELECT name FROM runs WHERE \(active) AND summary.loss <= 0.4 ORDER BY summary.loss ASC",
    ]

    @Test(arguments: MLflowFixture.Backend.allCases)
    func sameRunsInTheSameOrder(_ backend: MLflowFixture.Backend) throws {
        let imported = try MLflowFixture.importInto(backend)
        defer { imported.directory.remove() }
        let engine = Engine(index: RunIndex.build(from: imported.store))
        let reference = try MLflowFixture.searchReference()
        guard case .array(let recorded)? = reference["queries"] else {
            Issue.record("no recorded queries")
            return
        }
        #expect(recorded.count == 6)
        let answers = reference.value(at: ["results", backend.rawValue])?.objectValue ?? [:]
        for query in recorded.compactMap(\.objectValue) {
            let id = try #require(query["id"]?.stringValue)
            let runql = try #require(Self.queries[id], "no RunQL for \(id)")
            var expected: [String] = []
            if case .array(let names)? = answers[id]?.objectValue?["run_names_in_order"] { expected = names.compactMap(\.stringValue) }
            #expect(!expected.isEmpty)
            let result = try engine.run(runql)
            let names = (0..<result.rowCount).map { row -> String in
                if case .string(let name) = result.value(row: row, column: 0) { return name }
                return "?"
            }
            #expect(names == expected, "\(id) (\(query["filter_string"]?.stringValue ?? "")): \(runql)")
        }
    }
}
