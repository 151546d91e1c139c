/// What went wrong reading JSON, and where (a byte offset into the text that was read).
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    /// Zero-based byte offset of the problem.
    public var offset: Int

    public var description: String { "\(message) at column \(offset + 1)" }
}

/// A byte-level JSON reader: RFC 8259 plus Python's `NaN`, `Infinity` and `-Infinity`.
///
/// It builds `JSONValue`s (`parse`) or only checks well-formedness (`validate`, which allocates
/// nothing for ASCII input). Nesting deeper than `maximumDepth` is an error, never a stack overflow.
public enum JSONParser {
    public static let maximumDepth = 512

    public static func parse(_ text: String) throws -> JSONValue {
        var text = text
        return try text.withUTF8 { bytes throws in try parse(bytes) }
    }

    public static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        try bytes.withUnsafeBufferPointer { buffer throws in try parse(buffer) }
    }

    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws -> JSONValue {
        var reader = JSONReader(bytes: bytes)
        let value = try reader.parseValue()
        try reader.expectEnd()
        return value
    }

    /// Checks that `bytes` hold exactly one well-formed JSON value.
    public static func validate(_ bytes: UnsafeBufferPointer<UInt8>) throws {
        var reader = JSONReader(bytes: bytes)
        try reader.skipValue()
        try reader.expectEnd()
    }
}

/// The cursor behind `JSONParser` and `JSONLineScanner`.
struct JSONReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var position: Int
    private var depth = 0

    init(bytes: UnsafeBufferPointer<UInt8>, position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    // MARK: Helpers

    func error(_ message: String, at offset: Int? = nil) -> JSONParseError {
        JSONParseError(message: message, offset: offset ?? position)
    }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): position += 1
            default: return
            }
        }
    }

    mutating func expectEnd() throws {
        skipWhitespace()
        if position < bytes.count { throw error("unexpected \(describe(bytes[position])) after the JSON value") }
    }

    private func describe(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }

    private mutating func expect(_ literal: StaticString) throws {
        let start = position
        let count = literal.utf8CodeUnitCount
        let matches = literal.withUTF8Buffer { expected in
            guard position + count <= bytes.count else { return false }
            for index in 0..<count where bytes[position + index] != expected[index] { return false }
            return true
        }
        guard matches else { throw error("invalid literal (expected true, false, null, NaN, Infinity or a number)", at: start) }
        position += count
    }

    private mutating func enterContainer() throws {
        depth += 1
        if depth > JSONParser.maximumDepth {
            throw error("nesting deeper than \(JSONParser.maximumDepth) levels")
        }
    }

    // MARK: Objects on one line

    /// Walks the members of the one JSON object that `bytes` must hold (whitespace around it
    /// allowed): `member` gets the key's opening-quote offset and scanned key with the cursor on
    /// the value, and must move the cursor past the value.
    mutating func walkObjectLine(_ member: (inout JSONReader, Int, ScannedString) throws -> Void) throws {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: "{") else {
            if position >= bytes.count { throw error("empty line, expected a JSON object") }
            throw error("expected a JSON object")
        }
        position += 1
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            try expectEnd()
            return
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                throw error("expected a quoted object key")
            }
            let keyStart = position
            let key = try scanString()
            try expectColon()
            skipWhitespace()
            guard position < bytes.count else { throw error("unexpected end of line, expected a value") }
            try member(&self, keyStart, key)
            skipWhitespace()
            guard position < bytes.count else { throw error("unexpected end of line, expected ',' or '}'") }
            let byte = bytes[position]
            position += 1
            if byte == UInt8(ascii: "}") { break }
            guard byte == UInt8(ascii: ",") else {
                position -= 1
                throw error("expected ',' or '}'")
            }
        }
        try expectEnd()
    }

    // MARK: Values

    mutating func parseValue() throws -> JSONValue {
        skipWhitespace()
        guard position < bytes.count else { throw error("unexpected end of input, expected a value") }
        switch bytes[position] {
        case UInt8(ascii: "{"):
            try enterContainer()
            position += 1
            var object = JSONObject()
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
                position += 1
                depth -= 1
                return .object(object)
            }
            while true {
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                    throw error("expected a quoted object key")
                }
                let key = try parseString()
                try expectColon()
                object[key] = try parseValue()
                if try endOfContainer(UInt8(ascii: "}")) { break }
            }
            depth -= 1
            return .object(object)
        case UInt8(ascii: "["):
            try enterContainer()
            position += 1
            var array: [JSONValue] = []
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                position += 1
                depth -= 1
                return .array(array)
            }
            while true {
                array.append(try parseValue())
                if try endOfContainer(UInt8(ascii: "]")) { break }
            }
            depth -= 1
            return .array(array)
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"):
            try expect("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expect("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expect("null")
            return .null
        default:
            return try parseNumber()
        }
    }

    /// Moves past one value without building it, checking it as `parseValue` would.
    mutating func skipValue() throws {
        skipWhitespace()
        guard position < bytes.count else { throw error("unexpected end of input, expected a value") }
        switch bytes[position] {
        case UInt8(ascii: "{"):
            try enterContainer()
            position += 1
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
                position += 1
                depth -= 1
                return
            }
            while true {
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                    throw error("expected a quoted object key")
                }
                _ = try scanString()
                try expectColon()
                try skipValue()
                if try endOfContainer(UInt8(ascii: "}")) { break }
            }
            depth -= 1
        case UInt8(ascii: "["):
            try enterContainer()
            position += 1
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                position += 1
                depth -= 1
                return
            }
            while true {
                try skipValue()
                if try endOfContainer(UInt8(ascii: "]")) { break }
            }
            depth -= 1
        case UInt8(ascii: "\""):
            _ = try scanString()
        case UInt8(ascii: "t"): try expect("true")
        case UInt8(ascii: "f"): try expect("false")
        case UInt8(ascii: "n"): try expect("null")
        default:
            _ = try scanNumber()
        }
    }

    mutating func expectColon() throws {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else {
            throw error("expected ':' after an object key")
        }
        position += 1
    }

    /// After a member or element: true at the closing bracket (consumed), false after a comma.
    private mutating func endOfContainer(_ close: UInt8) throws -> Bool {
        skipWhitespace()
        guard position < bytes.count else {
            throw error("unexpected end of input, expected ',' or '\(Character(Unicode.Scalar(close)))'")
        }
        let byte = bytes[position]
        position += 1
        if byte == close { return true }
        if byte == UInt8(ascii: ",") { return false }
        position -= 1
        throw error("expected ',' or '\(Character(Unicode.Scalar(close)))', found \(describe(byte))")
    }

    // MARK: Strings

    /// Where a string's content lies and whether it needs unescaping or UTF-8 checks.
    struct ScannedString {
        var content: Range<Int>
        var hasEscapes: Bool
        var hasNonASCII: Bool
    }

    /// Moves past a quoted string (the cursor is on its opening quote) and checks it.
    mutating func scanString() throws -> ScannedString {
        let start = position
        position += 1
        var hasEscapes = false
        var hasNonASCII = false
        while position < bytes.count {
            position = Self.skipPlainASCII(bytes, from: position)
            guard position < bytes.count else { break }
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let scanned = ScannedString(content: (start + 1)..<position, hasEscapes: hasEscapes, hasNonASCII: hasNonASCII)
                position += 1
                if hasNonASCII {
                    let slice = UnsafeBufferPointer(rebasing: bytes[scanned.content])
                    if String(validating: slice, as: UTF8.self) == nil {
                        throw error("invalid UTF-8 in a string", at: start)
                    }
                }
                return scanned
            } else if byte == UInt8(ascii: "\\") {
                hasEscapes = true
                try checkEscape()
            } else if byte < 0x20 {
                throw error("unescaped control character in a string")
            } else {
                if byte >= 0x80 { hasNonASCII = true }
                position += 1
            }
        }
        throw error("unterminated string", at: start)
    }

    /// The offset of the first byte at or after `start` that `scanString` must look at (a quote,
    /// a backslash, a control character or a non-ASCII byte), or of one of the last seven bytes:
    /// reads eight bytes at a time.
    @inline(__always)
    private static func skipPlainASCII(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        guard let base = bytes.baseAddress else { return start }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        var position = start
        while position + 8 <= bytes.count {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + position).loadUnaligned(as: UInt64.self))
            // The high bit of a byte is set in `flags` for a byte below 0x20, a quote, a backslash
            // or a byte of 0x80 and above (and possibly for later bytes, never for an earlier one).
            let quotes = word ^ (ones &* 0x22)
            let backslashes = word ^ (ones &* 0x5C)
            let flags = ((word &- ones &* 0x20) & ~word) | ((quotes &- ones) & ~quotes) | ((backslashes &- ones) & ~backslashes) | word
            if flags & highs != 0 { return position + (flags & highs).trailingZeroBitCount / 8 }
            position += 8
        }
        return position
    }

    mutating func parseString() throws -> String {
        let scanned = try scanString()
        let slice = UnsafeBufferPointer(rebasing: bytes[scanned.content])
        if !scanned.hasEscapes { return String(decoding: slice, as: UTF8.self) }
        return try unescape(slice, base: scanned.content.lowerBound)
    }

    private func unescape(_ slice: UnsafeBufferPointer<UInt8>, base: Int) throws -> String {
        var output: [UInt8] = []
        output.reserveCapacity(slice.count)
        var index = 0
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= slice.count else { return nil }
            var value: UInt32 = 0
            for offset in 0..<4 {
                let byte = slice[at + offset]
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: return nil
                }
                value = value << 4 | digit
            }
            return value
        }
        func appendScalar(_ value: UInt32) {
            let scalar = Unicode.Scalar(value) ?? "\u{FFFD}"
            output.append(contentsOf: String(Character(scalar)).utf8)
        }
        while index < slice.count {
            let byte = slice[index]
            guard byte == UInt8(ascii: "\\") else {
                output.append(byte)
                index += 1
                continue
            }
            guard index + 1 < slice.count else { throw error("unterminated escape", at: base + index) }
            let escaped = slice[index + 1]
            index += 2
            switch escaped {
            case UInt8(ascii: "\""): output.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): output.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "/"): output.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0C)
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "u"):
                guard let unit = hex4(index) else { throw error("invalid \\u escape", at: base + index - 2) }
                index += 4
                if (0xD800..<0xDC00).contains(unit), index + 6 <= slice.count, slice[index] == UInt8(ascii: "\\"),
                    slice[index + 1] == UInt8(ascii: "u"), let low = hex4(index + 2), (0xDC00..<0xE000).contains(low)
                {
                    index += 6
                    appendScalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                } else {
                    appendScalar(unit)  // a lone surrogate becomes U+FFFD, as Python's decoder would not fail either
                }
            default:
                throw error("invalid escape '\\\(Character(Unicode.Scalar(escaped)))'", at: base + index - 2)
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Checks the escape sequence at the cursor (on its backslash) and moves past it.
    private mutating func checkEscape() throws {
        let start = position
        guard position + 1 < bytes.count else { throw error("unterminated string") }
        switch bytes[position + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            position += 2
        case UInt8(ascii: "u"):
            position += 2
            for _ in 0..<4 {
                guard position < bytes.count, Character(Unicode.Scalar(bytes[position])).isHexDigit else {
                    throw error("invalid \\u escape", at: start)
                }
                position += 1
            }
        default:
            throw error("invalid escape '\\\(Character(Unicode.Scalar(bytes[position + 1])))'", at: start)
        }
    }

    // MARK: Numbers

    /// The kinds of number literal, as `scanNumber` finds them.
    enum NumberKind { case integer, fraction, nan, infinity, negativeInfinity }

    /// Moves past a number literal and tells its kind; the cursor is on its first byte.
    mutating func scanNumber() throws -> (range: Range<Int>, kind: NumberKind) {
        let start = position
        let bytes = bytes
        @inline(__always) func digit(_ at: Int) -> Bool { at < bytes.count && bytes[at] &- UInt8(ascii: "0") < 10 }
        guard position < bytes.count else { throw error("unexpected end of input, expected a value") }
        if bytes[position] == UInt8(ascii: "N") {
            try expect("NaN")
            return (start..<position, .nan)
        }
        if bytes[position] == UInt8(ascii: "I") {
            try expect("Infinity")
            return (start..<position, .infinity)
        }
        if bytes[position] == UInt8(ascii: "-") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "I") {
                try expect("Infinity")
                return (start..<position, .negativeInfinity)
            }
        }
        guard digit(position) else {
            if position < bytes.count {
                throw error("unexpected \(describe(bytes[position])), expected a value")
            }
            throw error("unexpected end of input, expected a value")
        }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
            if digit(position) { throw error("leading zero in a number", at: start) }
        } else {
            while digit(position) { position += 1 }
        }
        var kind = NumberKind.integer
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard digit(position) else { throw error("expected a digit after '.'") }
            while digit(position) { position += 1 }
            kind = .fraction
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard digit(position) else { throw error("expected a digit in the exponent") }
            while digit(position) { position += 1 }
            kind = .fraction
        }
        return (start..<position, kind)
    }

    mutating func parseNumber() throws -> JSONValue {
        let (range, kind) = try scanNumber()
        return JSONReader.numberValue(UnsafeBufferPointer(rebasing: bytes[range]), kind: kind)
    }

    static func numberValue(_ literal: UnsafeBufferPointer<UInt8>, kind: NumberKind) -> JSONValue {
        switch kind {
        case .nan: return .double(.nan)
        case .infinity: return .double(.infinity)
        case .negativeInfinity: return .double(-.infinity)
        case .integer:
            if let value = parseInt64(literal) { return .int(value) }
            return .bigInt(String(decoding: literal, as: UTF8.self))
        case .fraction:
            return .double(Double(String(decoding: literal, as: UTF8.self)) ?? .nan)
        }
    }

    /// An integer literal's value, or nil when it does not fit in `Int64`.
    static func parseInt64(_ literal: UnsafeBufferPointer<UInt8>) -> Int64? {
        var index = 0
        let negative = literal.first == UInt8(ascii: "-")
        if negative { index = 1 }
        var magnitude: UInt64 = 0
        while index < literal.count {
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(literal[index] - UInt8(ascii: "0")))
            if overflow1 || overflow2 { return nil }
            magnitude = sum
            index += 1
        }
        if negative {
            if magnitude == UInt64(Int64.max) + 1 { return Int64.min }
            return magnitude <= UInt64(Int64.max) ? -Int64(magnitude) : nil
        }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }
}
