import Foundation
@_exported import TestSupport
@testable import RunStore

extension RunStore {
    /// A run started with a few defaults, for tests.
    func startTestRun(project: String = "demo", entity: String = "team", config: JSONObject = [:]) throws -> RunMetadata {
        var metadata = RunMetadata(id: "", entity: entity, project: project)
        metadata.createdAt = Timestamp.now()
        return try startRun(metadata, config: config)
    }
}
