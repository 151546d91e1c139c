import Testing
@testable import WandbImport
@testable import RunStore

@Suite struct WandbLogReaderTests {
    @Test func readsEveryRecordOfACleanLog() throws {
        let path = Fixtures.root + "/ml-project/wandb/offline-run-20261128_075952-73lntyb1/run-73lntyb1.wandb"
        let bytes = try #require(try LocalFiles.read(path))
        var reader = try WandbLogReader(bytes: bytes, path: path)
        var count = 0
        reader.forEachRecord { _, _ in count += 1 }
        #expect(count == 111)
        #expect(reader.damage == nil)
    }
}

enum Fixtures {
    /// The copied fixture home folder (`/home/alice` of the fixture set).
    static let root: String = {
        let file = #filePath
        let directory = file.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return directory + "/fixtures"
    }()
}
