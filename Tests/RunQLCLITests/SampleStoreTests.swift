import Foundation
import Testing
@testable import RunStore

/// The committed sample store is what `Samples/make-sample-store.sh` makes, byte for byte.
@Suite struct SampleStoreTests {
    static let repository: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test func theSampleStoreIsReproducibleFromTheGenerator() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let script = try String(contentsOfFile: "\(Self.repository)/Samples/make-sample-store.sh", encoding: .utf8)
        // Read the generator's arguments from the script, so the test follows it.
        let generateLine = try #require(script.split(separator: "\n").first { $0.contains(" generate ") })
        let words = generateLine.split(separator: " ").map(String.init)
        func value(_ flag: String) throws -> String {
            let index = try #require(words.firstIndex(of: flag))
            return words[index + 1]
        }
        let data = "\(directory.path)/data"
        let store = "\(directory.path)/store"
        #expect(try CLI.run(["generate", "--runs", try value("--runs"), "--steps", try value("--steps"), "--seed", try value("--seed"), "--out", data]).status == 0)
        #expect(try CLI.run(["init", store]).status == 0)
        #expect(try CLI.run(["import", "jsonl", "--store", store, "\(data)/runs.jsonl", "\(data)/history.jsonl"]).status == 0)

        let committed = TemporaryDirectory.files(under: "\(Self.repository)/Samples/store")
        let rebuilt = TemporaryDirectory.files(under: store)
        #expect(committed.count > 150)
        #expect(Set(committed.keys) == Set(rebuilt.keys))
        let different = committed.keys.filter { committed[$0] != rebuilt[$0] }.sorted()
        #expect(different.isEmpty, "differs: \(different.prefix(5))")
    }

    @Test func theSampleStoreOpensAndReadsCleanly() throws {
        let store = try RunStore.open(at: "\(Self.repository)/Samples/store")
        let locations = store.runLocations()
        #expect(locations.count == 150)
        for location in locations {
            _ = try store.readMetadata(location)
            #expect(try store.readHistory(location).warnings.isEmpty)
        }
    }
}
