import Foundation
import Testing
@testable import RunStore

/// The store's reader refuses JSON nested deeper than `JSONParser.maximumDepth`; its writers must
/// never write what it would refuse (a run that could not be read back would vanish from queries).
@Suite struct NestingLimitTests {
    /// `{"k": {"k": … value}}`, `levels` objects deep around `value`.
    static func nested(_ levels: Int, around value: JSONValue = 1) -> JSONObject {
        var object: JSONObject = ["k": value]
        for _ in 1..<levels { object = ["k": .object(object)] }
        return object
    }

    static func path(_ count: Int) -> [String] { Array(repeating: "k", count: count) }

    @Test func nestingDepthCountsAsTheParserDoes() throws {
        #expect(JSONValue.int(1).nestingDepth == 0)
        #expect(JSONValue.array([]).nestingDepth == 1)
        #expect(JSONValue.object(["a": [1, ["b": [2]]], "c": 3]).nestingDepth == 4)
        let limit = JSONParser.maximumDepth
        #expect(JSONValue.object(Self.nested(limit)).nestingDepth == limit)
        #expect((try? JSONParser.parse(JSONWriter.compact(.object(Self.nested(limit))))) != nil)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(JSONWriter.compact(.object(Self.nested(limit + 1)))) }
    }

    @Test func setValueAtAPathKeepsSiblingsOrderAndReplacesNonObjects() {
        var object: JSONObject = ["a": ["x": 1, "y": 2], "b": 3]
        object.setValue(4, at: ["a", "x"])
        object.setValue(5, at: ["b", "c", "d"])
        object.setValue(6, at: ["e"])
        #expect(object == ["a": ["x": 4, "y": 2], "b": ["c": ["d": 5]], "e": 6])
        #expect(Array(object.keys) == ["a", "b", "e"])
        #expect(object.value(at: ["b", "c", "d"]) == 5)
        #expect(object.value(at: ["a", "x", "z"]) == nil)
        object.setValue(7, at: [])
        #expect(object.count == 3)
        var deep = JSONObject()
        deep.setValue(1, at: Self.path(JSONParser.maximumDepth))
        #expect(deep == Self.nested(JSONParser.maximumDepth))
    }

    @Test func keyPathsLongerThanTheNestingLimitAreRefused() throws {
        let limit = JSONParser.maximumDepth
        let allowed = try KeyAssignment(parsing: Self.path(limit).joined(separator: ".") + "=1")
        #expect(allowed.path.count == limit)
        // 100,000 names once built an object whose writing (and freeing) overflowed the stack.
        for count in [limit + 1, 100_000] {
            #expect(throws: StoreError.self) { try KeyAssignment(parsing: Self.path(count).joined(separator: ".") + "=1") }
        }
    }

    @Test func runWritersRefuseJSONDeeperThanTheReaderAccepts() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try RunStore.create(at: "\(directory.path)/store")
        let limit = JSONParser.maximumDepth
        let tooDeep = Self.nested(limit + 1)

        var metadata = RunMetadata(id: "deep", entity: "e", project: "p")
        #expect(throws: StoreError.self) { try store.publishRun(metadata, config: tooDeep, summary: [:], history: []) }
        #expect(throws: StoreError.self) { try store.publishRun(metadata, config: [:], summary: tooDeep, history: []) }
        #expect(throws: StoreError.self) { try store.startRun(metadata, config: tooDeep) }
        metadata.extra["x"] = .object(Self.nested(limit))
        #expect(throws: StoreError.self) { try store.publishRun(metadata, config: [:], summary: [:], history: []) }
        #expect(store.runLocations().isEmpty)

        // At the limit: written and read back.
        metadata.extra = [:]
        #expect(try store.publishRun(metadata, config: Self.nested(limit), summary: [:], history: []))
        let location = metadata.location
        #expect(try store.readObject(location, .config) == Self.nested(limit))

        do {
            try store.setValues(location, .config, [KeyAssignment(path: Self.path(limit), value: [1])])
            Issue.record("wrote a config.json nested \(limit + 1) deep")
        } catch let error as StoreError {
            #expect(error.message.contains("config.json of run e/p/deep would nest \(limit + 1) levels deep"))
        }
        #expect(throws: StoreError.self) { try store.setValues(location, .summary, [KeyAssignment(path: Self.path(limit + 1), value: 1)]) }
        #expect(throws: StoreError.self) { try store.replaceObject(location, .summary, with: tooDeep) }
        #expect(throws: StoreError.self) {
            try store.updateMetadata(location) { $0.extra["x"] = .object(Self.nested(limit)) }
        }
        #expect(throws: StoreError.self) { try HistoryWriter(store: store, location: location).append([tooDeep]) }

        // Nothing refused was written: the run still reads whole.
        #expect(try store.readObject(location, .config) == Self.nested(limit))
        #expect(try store.readObject(location, .summary).isEmpty)
        #expect(try store.readMetadata(location).extra["x"] == nil)
        #expect(try store.readHistory(location).steps.isEmpty)
    }

    @Test func artifactMetadataNestedBeyondTheLimitIsRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try RunStore.create(at: "\(directory.path)/store")
        let name = ArtifactName(entity: "e", project: "p", name: "data")
        var draft = ArtifactDraft(name: name, type: "dataset")
        // The version file holds the metadata one level down.
        draft.metadata = Self.nested(JSONParser.maximumDepth)
        #expect(throws: StoreError.self) { try store.logArtifact(draft) }
        draft.metadata = Self.nested(JSONParser.maximumDepth - 1)
        #expect(try store.logArtifact(draft).created)
        #expect(try store.artifactVersions(name).first?.metadata == Self.nested(JSONParser.maximumDepth - 1))
    }
}
