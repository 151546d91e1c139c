import Foundation
import Testing
@testable import RunStore

/// The committed sample store is what `Samples/make-sample-store.sh` makes, byte for byte.
@Suite struct SampleStoreTests {
    static let repository: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test func theSampleStoreIsReproducibleFromTheGenerator() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = "\(directory.path)/store"
        let script = Process()
        script.executableURL = URL(fileURLWithPath: "/bin/sh")
        script.arguments = ["\(Self.repository)/Samples/make-sample-store.sh", store]
        var environment = ProcessInfo.processInfo.environment
        environment["RUNQL"] = CLI.binary
        environment["RUNQL_STORE"] = nil
        script.environment = environment
        script.standardOutput = FileHandle.nullDevice
        script.standardError = FileHandle.nullDevice
        try script.run()
        script.waitUntilExit()
        #expect(script.terminationStatus == 0)

        // The audit trail names the machine that logged each artifact version; the rest is equal.
        func normalised(_ files: [String: Data]) -> [String: Data] {
            files.mapValues { data in
                let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
                guard lines.contains(where: { $0.hasPrefix("  \"created_by\":") }) else { return data }
                return Data(lines.filter { !$0.hasPrefix("  \"created_by\":") && !$0.hasPrefix("  \"host\":") }.joined(separator: "\n").utf8)
            }
        }
        let committed = normalised(TemporaryDirectory.files(under: "\(Self.repository)/Samples/store"))
        let rebuilt = normalised(TemporaryDirectory.files(under: store))
        #expect(committed.count > 150)
        #expect(committed.keys.contains { $0.contains("artifacts/bert-classifier/versions/v2.json") })
        #expect(Set(committed.keys) == Set(rebuilt.keys))
        let different = committed.keys.filter { committed[$0] != rebuilt[$0] }.sorted()
        #expect(different.isEmpty, "differs: \(different.prefix(5))")
    }

    @Test func theSampleStoreOpensAndReadsCleanly() throws {
        let store = try RunStore.open(at: "\(Self.repository)/Samples/store")
        let locations = store.runLocations()
        #expect(locations.count == 152)
        for location in locations {
            _ = try store.readMetadata(location)
            #expect(try store.readHistory(location).warnings.isEmpty)
        }
    }
}
