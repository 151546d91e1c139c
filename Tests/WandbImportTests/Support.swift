import Foundation
import Testing
@_exported import TestSupport
@testable import RunStore
@testable import WandbImport

/// The fixture set copied from the shared developer fixtures: `/home/alice` of the data.
enum Fixtures {
    static let root: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("fixtures").path
    static let core = "\(root)/ml-project/wandb"
    static let legacy = "\(root)/ml-project/legacy/wandb"
    /// `$WANDB_DATA_DIR` of the data (`/home/alice/.local/share/wandb`).
    static let dataDirectory = "\(root)/.local/share/wandb"

    /// One reference answer (`reference/<client>/<rundir>.importer_view.json`) and its run folder.
    struct Reference: CustomTestStringConvertible, Sendable {
        var client: String
        var folder: String
        var testDescription: String { "\(client)/\(folder)" }

        var runFolder: String { "\(client == "wandb-0.31.0-core" ? Fixtures.core : Fixtures.legacy)/\(folder)" }
        var runID: String { String(folder.split(separator: "-").last ?? "") }
        var logPath: String { "\(runFolder)/run-\(runID).wandb" }

        func load() throws -> JSONObject {
            let path = "\(Fixtures.root)/reference/\(client)/\(folder).importer_view.json"
            let data = try #require(FileManager.default.contents(atPath: path))
            return try #require(try JSONParser.parse(Array(data)).objectValue)
        }
    }

    static let references: [Reference] = ["wandb-0.31.0-core", "wandb-0.16.6-legacy"].flatMap { client in
        ((try? FileManager.default.contentsOfDirectory(atPath: "\(root)/reference/\(client)")) ?? [])
            .filter { $0.hasSuffix(".importer_view.json") }
            .sorted()
            .map { Reference(client: client, folder: String($0.dropLast(".importer_view.json".count))) }
    }
}

/// Collects the importer's warnings.
final class WarningSink: @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [String] = []
    var messages: [String] { lock.withLock { collected } }
    func add(_ message: String) { lock.withLock { collected.append(message) } }
}

struct Imported {
    var store: RunStore
    var report: WandbImporter.Report
    var warnings: [String]
}

/// Imports `paths` into `store` (entity "alice"), as `runql import wandb` does.
@discardableResult
func importWandb(_ paths: [String], into store: RunStore, dataDirectory: String? = Fixtures.dataDirectory, project: String? = nil) throws -> Imported {
    let warnings = WarningSink()
    let importer = WandbImporter(store: store, defaultEntity: "alice", defaultProject: project, dataDirectory: dataDirectory, warn: warnings.add)
    for source in try WandbImporter.discover(paths) { importer.importRun(source) }
    try importer.finish()
    return Imported(store: store, report: importer.report, warnings: warnings.messages)
}

func location(_ id: String) -> RunLocation { RunLocation(entity: "alice", project: "anchors-demo", id: id) }

extension JSONValue {
    var arrayValue: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// The reference files' convention: non-finite floats as the strings "NaN", "Infinity", "-Infinity";
    /// object keys sorted (W&B's item order has no meaning).
    var referenceForm: JSONValue {
        switch self {
        case .double(let number) where number.isNaN: return .string("NaN")
        case .double(let number) where number.isInfinite: return .string(number > 0 ? "Infinity" : "-Infinity")
        case .array(let elements): return .array(elements.map(\.referenceForm))
        case .object(let object):
            var sorted = JSONObject()
            for key in object.keys.sorted() { sorted[key] = object[key]?.referenceForm }
            return .object(sorted)
        default: return self
        }
    }
}

extension JSONObject {
    var referenceForm: JSONValue { JSONValue.object(self).referenceForm }

    func without(_ keys: String...) -> JSONObject {
        var copy = self
        for key in keys { copy.removeValue(forKey: key) }
        return copy
    }
}

/// A history key's profile: first and last value, and min/max over its numbers (NaN counted apart).
struct KeyProfile: Equatable, CustomStringConvertible {
    var count = 0
    var first: JSONValue?
    var last: JSONValue?
    var minimum: Double?
    var maximum: Double?
    var nanCount = 0

    var description: String { "n=\(count) first=\(first.map(JSONWriter.compact) ?? "-") last=\(last.map(JSONWriter.compact) ?? "-") min=\(minimum.map { "\($0)" } ?? "-") max=\(maximum.map { "\($0)" } ?? "-") nan=\(nanCount)" }

    static func profiles(_ rows: [JSONObject]) -> [String: KeyProfile] {
        var profiles: [String: KeyProfile] = [:]
        for row in rows {
            for (key, value) in row {
                var profile = profiles[key] ?? KeyProfile()
                profile.count += 1
                if profile.first == nil { profile.first = value.referenceForm }
                profile.last = value.referenceForm
                var number: Double?
                switch value {
                case .int, .double, .bigInt: number = value.doubleValue
                case .string("NaN"): number = .nan
                case .string("Infinity"): number = .infinity
                case .string("-Infinity"): number = -.infinity
                default: number = nil
                }
                if let number {
                    if number.isNaN {
                        profile.nanCount += 1
                    } else {
                        profile.minimum = Swift.min(profile.minimum ?? number, number)
                        profile.maximum = Swift.max(profile.maximum ?? number, number)
                    }
                }
                profiles[key] = profile
            }
        }
        return profiles
    }
}

/// Frames records as a W&B transaction log (for logs the tests build: resumed runs).
enum LogWriter {
    static func frame(_ records: [[UInt8]]) -> [UInt8] {
        var file: [UInt8] = [0x3A, 0x57, 0x26, 0x42, 0xE1, 0xBE, 0x00]
        for record in records {
            var remaining = record[...]
            var first = true
            repeat {
                var left = 32768 - file.count % 32768
                if left < 7 {
                    file.append(contentsOf: [UInt8](repeating: 0, count: left))
                    left = 32768
                }
                let take = Swift.min(remaining.count, left - 7)
                let last = take == remaining.count
                let type: UInt8 = first && last ? 1 : first ? 2 : last ? 4 : 3
                let payload = Array(remaining.prefix(take))
                let crc = payload.withUnsafeBufferPointer { CRC32.checksum(prefix: type, $0) }
                file += [UInt8(crc & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 24), UInt8(take & 0xFF), UInt8(take >> 8), type]
                file += payload
                remaining = remaining.dropFirst(take)
                first = false
            } while !remaining.isEmpty
        }
        return file
    }

    /// The records of a log, whole, with their offsets.
    static func records(of path: String) throws -> [(offset: Int, payload: [UInt8])] {
        let bytes = try #require(try LocalFiles.read(path))
        var reader = try WandbLogReader(bytes: bytes, path: path)
        var records: [(offset: Int, payload: [UInt8])] = []
        reader.forEachRecord { offset, payload in records.append((offset, Array(payload))) }
        return records
    }
}

/// Copies a folder (recursively) to `destination`.
func copyFolder(_ source: String, to destination: String) throws {
    try FileManager.default.copyItem(atPath: source, toPath: destination)
    // The shared fixtures are read-only; copies must be writable for the tests that change them.
    let enumerator = FileManager.default.enumerator(atPath: destination)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: destination)
    while let relative = enumerator?.nextObject() as? String {
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: "\(destination)/\(relative)")
    }
}
