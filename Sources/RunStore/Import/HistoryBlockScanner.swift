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

    /// One `"key": value` member of a line: offsets into the line.
    struct Member: Equatable {
        /// The key's opening quote.
        var start: Int
        var key: Range<Int>
        var keyEscaped: Bool
        var value: Range<Int>
        /// For a string value: whether it has escapes.
        var valueEscaped: Bool
    }

    /// The members of the line being scanned (reused from line to line).
    private var members: [Member] = []

    /// Scans one line, as the sequential importer did: the whole line is checked first, then the
    /// first member that is wrong for the importer (a non-string `run_id`, a bad `_step`) is its error.
    private mutating func scanLine(_ line: UnsafeBufferPointer<UInt8>, offset: Int, index: Int) {
        if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }) { return }
        var scanned = Line(
            index: index, failure: -1, runID: .absent, entity: .absent, project: .absent, explicitStep: -1,
            members: 0..<0, membersInBlock: true)
        var problem: (any Error)?
        members.removeAll(keepingCapacity: true)
        if !Self.plainMembers(of: line, into: &members) {
            members.removeAll(keepingCapacity: true)
            do {
                try Self.members(of: line, into: &members)
            } catch {
                problem = error
            }
        }
        let membersStart = stored.count
        // The members kept so far, while they are one range of the line separated by single commas.
        var kept: Range<Int>?
        var contiguous = true
        if problem == nil {
            for member in members {
                let special = member.keyEscaped ? nil : Self.specialKey(member.key, in: line)
                if special == .runID || special == .entity || special == .project {
                    var value = StringBytes.absent
                    if line[member.value.lowerBound] == UInt8(ascii: "\"") {
                        value = StringBytes(content: (offset + member.value.lowerBound + 1)..<(offset + member.value.upperBound - 1), escaped: member.valueEscaped)
                    }
                    let name = special == .runID ? "run_id" : special == .entity ? "entity" : "project"
                    if !value.isPresent, problem == nil { problem = StoreError("\"\(name)\" must be a string") }
                    switch special {
                    case .runID: scanned.runID = value
                    case .entity: scanned.entity = value
                    default: scanned.project = value
                    }
                    continue
                }
                if special == .step, problem == nil {
                    let literal = UnsafeBufferPointer(rebasing: line[member.value])
                    if let step = Self.plainInteger(literal) {
                        scanned.explicitStep = step
                    } else {
                        do {
                            let value = try JSONParser.parse(literal)
                            if let step = value.integerValue, step >= 0 {
                                scanned.explicitStep = step
                            } else {
                                problem = StoreError("\"_step\" must be a non-negative integer, not \(JSONWriter.compact(value))")
                            }
                        } catch {
                            problem = error
                        }
                    }
                }
                if contiguous {
                    guard let sofar = kept else {
                        kept = member.start..<member.value.upperBound
                        continue
                    }
                    if member.start == sofar.upperBound + 1 {
                        kept = sofar.lowerBound..<member.value.upperBound
                        continue
                    }
                    // A member was left out in between, or there is whitespace around a comma: copy.
                    stored.append(contentsOf: UnsafeBufferPointer(rebasing: line[sofar]))
                    contiguous = false
                }
                stored.append(UInt8(ascii: ","))
                stored.append(contentsOf: UnsafeBufferPointer(rebasing: line[member.start..<member.value.upperBound]))
            }
            if problem == nil, !scanned.runID.isPresent { problem = StoreError("missing \"run_id\"") }
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

    /// The members of the one JSON object on `line`, found by `JSONReader`; throws what is wrong
    /// with a line that is not one well-formed object.
    static func members(of line: UnsafeBufferPointer<UInt8>, into members: inout [Member]) throws {
        var reader = JSONReader(bytes: line)
        try reader.walkObjectLine { reader, keyStart, key in
            let valueStart = reader.position
            var escaped = false
            if line[valueStart] == UInt8(ascii: "\"") {
                escaped = try reader.scanString().hasEscapes
            } else {
                try reader.skipValue()
            }
            members.append(Member(start: keyStart, key: key.content, keyEscaped: key.hasEscapes, value: valueStart..<reader.position, valueEscaped: escaped))
        }
    }

    /// The members of `line` when it is a plain one-line object, as history lines usually are:
    /// keys and string values ASCII without escapes, numbers finite, nested values checked by
    /// `JSONReader`. Returns false for anything else (well-formed or not), which `members(of:into:)`
    /// then reads; when it returns true, that function would find exactly these members.
    static func plainMembers(of line: UnsafeBufferPointer<UInt8>, into members: inout [Member]) -> Bool {
        guard let bytes = line.baseAddress else { return false }
        let count = line.count
        var position = 0
        @inline(__always) func skipWhitespace() {
            while position < count, bytes[position] == 0x20 || bytes[position] == 0x09 || bytes[position] == 0x0D { position += 1 }
        }
        /// Moves past a plain string (the cursor on its opening quote); false when it is not one.
        @inline(__always) func plainString() -> Bool {
            position += 1
            while position + 8 <= count {
                let word = UInt64(littleEndian: UnsafeRawPointer(bytes + position).loadUnaligned(as: UInt64.self))
                let flags = Self.specialBytes(word)
                if flags != 0 {
                    position += flags.trailingZeroBitCount / 8
                    break
                }
                position += 8
            }
            while position < count {
                let byte = bytes[position]
                if byte == UInt8(ascii: "\"") {
                    position += 1
                    return true
                }
                if byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { return false }
                position += 1
            }
            return false
        }
        @inline(__always) func digits() -> Int {
            let start = position
            while position < count, bytes[position] &- UInt8(ascii: "0") < 10 { position += 1 }
            return position - start
        }
        /// Moves past a finite number literal, as `JSONReader.scanNumber` reads one.
        @inline(__always) func plainNumber() -> Bool {
            if bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard position < count else { return false }
            if bytes[position] == UInt8(ascii: "0") {
                position += 1
                if position < count, bytes[position] &- UInt8(ascii: "0") < 10 { return false }
            } else if digits() == 0 {
                return false
            }
            if position < count, bytes[position] == UInt8(ascii: ".") {
                position += 1
                if digits() == 0 { return false }
            }
            if position < count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
                position += 1
                if position < count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
                if digits() == 0 { return false }
            }
            return true
        }
        @inline(__always) func literal(_ word: StaticString) -> Bool {
            let length = word.utf8CodeUnitCount
            guard position + length <= count, memcmp(bytes + position, word.utf8Start, length) == 0 else { return false }
            position += length
            return true
        }

        skipWhitespace()
        guard position < count, bytes[position] == UInt8(ascii: "{") else { return false }
        position += 1
        skipWhitespace()
        if position < count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            skipWhitespace()
            return position == count
        }
        while true {
            guard position < count, bytes[position] == UInt8(ascii: "\"") else { return false }
            let keyStart = position
            guard plainString() else { return false }
            let key = (keyStart + 1)..<(position - 1)
            skipWhitespace()
            guard position < count, bytes[position] == UInt8(ascii: ":") else { return false }
            position += 1
            skipWhitespace()
            guard position < count else { return false }
            let valueStart = position
            let valid: Bool
            switch bytes[position] {
            case UInt8(ascii: "\""): valid = plainString()
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): valid = plainNumber()
            case UInt8(ascii: "t"): valid = literal("true")
            case UInt8(ascii: "f"): valid = literal("false")
            case UInt8(ascii: "n"): valid = literal("null")
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var reader = JSONReader(bytes: line, position: position)
                valid = (try? reader.skipValue()) != nil
                position = reader.position
            default: valid = false
            }
            guard valid else { return false }
            members.append(Member(start: keyStart, key: key, keyEscaped: false, value: valueStart..<position, valueEscaped: false))
            skipWhitespace()
            guard position < count else { return false }
            let byte = bytes[position]
            position += 1
            if byte == UInt8(ascii: ",") {
                skipWhitespace()
                continue
            }
            guard byte == UInt8(ascii: "}") else { return false }
            skipWhitespace()
            return position == count
        }
    }

    /// The high bit of each byte of `word` that is below 0x20, a quote, a backslash or 0x80 and
    /// above (and possibly of later bytes, never of an earlier one).
    @inline(__always)
    static func specialBytes(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quotes = word ^ (ones &* 0x22)
        let backslashes = word ^ (ones &* 0x5C)
        let flags = ((word &- ones &* 0x20) & ~word) | ((quotes &- ones) & ~quotes) | ((backslashes &- ones) & ~backslashes) | word
        return flags & 0x8080_8080_8080_8080
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
