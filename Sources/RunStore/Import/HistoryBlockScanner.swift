#if canImport(Glibc)
import Glibc
#endif
import Dispatch

/// A block of `history.jsonl` lines, scanned for `JSONLImporter`: for each line, where its run
/// reference is, the `_step` it gives, and the bytes it will be stored as; or why it cannot be
/// imported.
///
/// Scanning needs nothing but the block's bytes, so several blocks can be scanned at once; the
/// importer then applies them in file order, which is where everything that depends on the store
/// or on earlier lines (run lookup, step numbering, skipping stored steps) happens.
struct HistoryBlockScan {
    /// A string member's content bytes in the block (still escaped), or `absent`.
    struct StringBytes {
        var content: Range<Int>
        var escaped: Bool

        static let absent = StringBytes(content: -1 ..< -1, escaped: false)
        var isPresent: Bool { content.lowerBound >= 0 }
    }

    /// One non-blank line.
    struct Line {
        /// The line's 0-based index in the block (blank lines count).
        var index: Int
        /// Index into `failures` when the line cannot be imported, else -1.
        var failure: Int
        var runID: StringBytes
        var entity: StringBytes
        var project: StringBytes
        /// The line's `_step`, or -1 when it has none (the importer numbers it).
        var explicitStep: Int64
        /// The members other than `run_id`, `entity` and `project`, joined by commas, as they came
        /// (the stored line is them in braces, `_step` first when it was implicit): bytes of the
        /// block itself when they lie there one after the other (the usual case), else of `stored`.
        var members: Range<Int>
        var membersInBlock: Bool
    }

    var lines: [Line] = []
    var failures: [any Error] = []
    var stored: [UInt8] = []
    /// The number of lines in the block, blank ones included.
    var lineCount = 0

    /// Scans `block`: whole lines, each ending in a newline except perhaps the file's last one.
    mutating func scan(_ block: UnsafeBufferPointer<UInt8>) {
        lines.removeAll(keepingCapacity: true)
        failures.removeAll(keepingCapacity: true)
        stored.removeAll(keepingCapacity: true)
                lineCount = 0
        guard let base = block.baseAddress else { return }
        var lineStart = 0
        while lineStart < block.count {
            let lineEnd: Int
            if let found = memchr(base + lineStart, 0x0A, block.count - lineStart) {
                lineEnd = UnsafeRawPointer(found) - UnsafeRawPointer(base)
            } else {
                lineEnd = block.count
            }
            scanLine(UnsafeBufferPointer(rebasing: block[lineStart..<lineEnd]), offset: lineStart, index: lineCount)
            lineCount += 1
            lineStart = lineEnd + 1
        }
    }

    private enum SpecialKey { case runID, entity, project, step }

    /// The keys the importer treats specially (written without escapes; an escaped spelling is a metric).
    private static func specialKey(_ key: Range<Int>, in line: UnsafeBufferPointer<UInt8>) -> SpecialKey? {
        func equals(_ name: StaticString) -> Bool {
            name.withUTF8Buffer { expected in memcmp(line.baseAddress! + key.lowerBound, expected.baseAddress!, expected.count) == 0 }
        }
        switch key.count {
        case 5: return equals("_step") ? .step : nil
        case 6: return equals("run_id") ? .runID : equals("entity") ? .entity : nil
        case 7: return equals("project") ? .project : nil
        default: return nil
        }
    }

    /// Scans one line, as the sequential importer did: the whole line is checked first, then the
    /// first member that is wrong for the importer (a non-string `run_id`, a bad `_step`) is its error.
    private mutating func scanLine(_ line: UnsafeBufferPointer<UInt8>, offset: Int, index: Int) {
        if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }) { return }
        let membersStart = stored.count
        var scanned = Line(
            index: index, failure: -1, runID: .absent, entity: .absent, project: .absent, explicitStep: -1,
            members: 0..<0, membersInBlock: true)
        var problem: (any Error)?
        // The members kept so far, while they are one range of the line separated by single commas.
        var kept: Range<Int>?
        var contiguous = true
        do {
            var reader = JSONReader(bytes: line)
            try reader.walkObjectLine { reader, keyStart, key in
                let valueStart = reader.position
                let special = key.hasEscapes ? nil : Self.specialKey(key.content, in: line)
                if special == .runID || special == .entity || special == .project {
                    var value = StringBytes.absent
                    if line[valueStart] == UInt8(ascii: "\"") {
                        let string = try reader.scanString()
                        value = StringBytes(content: (offset + string.content.lowerBound)..<(offset + string.content.upperBound), escaped: string.hasEscapes)
                    } else {
                        try reader.skipValue()
                    }
                    let name = special == .runID ? "run_id" : special == .entity ? "entity" : "project"
                    if !value.isPresent, problem == nil { problem = StoreError("\"\(name)\" must be a string") }
                    switch special {
                    case .runID: scanned.runID = value
                    case .entity: scanned.entity = value
                    default: scanned.project = value
                    }
                    return
                }
                try reader.skipValue()
                let valueEnd = reader.position
                if special == .step, problem == nil {
                    if let step = Self.plainInteger(UnsafeBufferPointer(rebasing: line[valueStart..<valueEnd])) {
                        scanned.explicitStep = step
                    } else {
                        let value = try JSONParser.parse(UnsafeBufferPointer(rebasing: line[valueStart..<valueEnd]))
                        if let step = value.integerValue, step >= 0 {
                            scanned.explicitStep = step
                        } else {
                            problem = StoreError("\"_step\" must be a non-negative integer, not \(JSONWriter.compact(value))")
                        }
                    }
                }
                if contiguous {
                    guard let sofar = kept else {
                        kept = keyStart..<valueEnd
                        return
                    }
                    if keyStart == sofar.upperBound + 1 {
                        kept = sofar.lowerBound..<valueEnd
                        return
                    }
                    // A member was left out in between, or there is whitespace around a comma: copy.
                    stored.append(contentsOf: UnsafeBufferPointer(rebasing: line[sofar]))
                    contiguous = false
                }
                stored.append(UInt8(ascii: ","))
                stored.append(contentsOf: UnsafeBufferPointer(rebasing: line[keyStart..<valueEnd]))
            }
            if problem == nil, !scanned.runID.isPresent { problem = StoreError("missing \"run_id\"") }
        } catch {
            problem = error
        }
        if let problem {
            stored.removeSubrange(membersStart...)
            scanned.failure = failures.count
            failures.append(problem)
        } else if contiguous {
            let members = kept ?? 0..<0
            scanned.members = (offset + members.lowerBound)..<(offset + members.upperBound)
        } else {
            scanned.members = membersStart..<stored.count
            scanned.membersInBlock = false
        }
        lines.append(scanned)
    }

    /// The value of a literal of 1 to 18 decimal digits (the usual `_step`), else nil.
    private static func plainInteger(_ literal: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard literal.count > 0, literal.count <= 18 else { return nil }
        var value: Int64 = 0
        for byte in literal {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// A scanned string member's value.
    static func decode(_ string: StringBytes, in block: UnsafeBufferPointer<UInt8>) -> String {
        if !string.escaped { return String(decoding: UnsafeBufferPointer(rebasing: block[string.content]), as: UTF8.self) }
        let quoted = UnsafeBufferPointer(rebasing: block[(string.content.lowerBound - 1)..<(string.content.upperBound + 1)])
        guard case .string(let text)? = try? JSONParser.parse(quoted) else { return "" }
        return text
    }
}

extension HistoryBlockScan {
    /// Scans the `parts` of `block` into `scans` (one each), on as many threads.
    static func scanAtOnce(_ parts: [Range<Int>], of block: UnsafeBufferPointer<UInt8>, into scans: UnsafeMutableBufferPointer<HistoryBlockScan>) {
        let shared = SharedPointers(block: block, scans: scans)
        DispatchQueue.concurrentPerform(iterations: parts.count) { part in
            shared.scans[part].scan(UnsafeBufferPointer(rebasing: shared.block[parts[part]]))
        }
    }

    /// The block and the scans, shared by the threads: each writes only its own scan.
    private struct SharedPointers: @unchecked Sendable {
        let block: UnsafeBufferPointer<UInt8>
        let scans: UnsafeMutableBufferPointer<HistoryBlockScan>
    }
}
