import Foundation
@testable import RunStore

/// A fresh directory under the system's temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("\(NSTemporaryDirectory())/runql-test-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { throw StoreError("mkdtemp failed") }
        path = String(cString: created)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    func write(_ text: String, to name: String) throws -> String {
        let file = "\(path)/\(name)"
        try text.write(toFile: file, atomically: false, encoding: .utf8)
        return file
    }
}

extension RunStore {
    /// A run started with a few defaults, for tests.
    func startTestRun(project: String = "demo", entity: String = "team", config: JSONObject = [:]) throws -> RunMetadata {
        var metadata = RunMetadata(id: "", entity: entity, project: project)
        metadata.createdAt = Timestamp.now()
        return try startRun(metadata, config: config)
    }
}
