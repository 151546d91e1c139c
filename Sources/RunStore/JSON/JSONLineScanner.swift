#if canImport(Glibc)
import Glibc
#endif

/// Finds the top-level members of a one-line JSON object without building their values.
///
/// The importer uses it on every history line: the line is fully checked (as `JSONParser.validate`
/// would) but only the keys are decoded, so a line's bytes can be copied into the store as they came.
public enum JSONLineScanner {
    /// One `"key": value` member: where the member starts (its key's opening quote), its key's
    /// bytes (still escaped), and its value's bytes. Keys are decoded only on demand.
    public struct Member: Sendable {
        public var memberStart: Int
        public var keyBytes: Range<Int>
        public var keyHasEscapes: Bool
        public var value: Range<Int>

        /// Whether the key is `name` (an ASCII name without escapes), without decoding it.
        public func keyIs(_ name: StaticString, in line: UnsafeBufferPointer<UInt8>) -> Bool {
            guard !keyHasEscapes, keyBytes.count == name.utf8CodeUnitCount else { return false }
            return name.withUTF8Buffer { expected in
                memcmp(line.baseAddress! + keyBytes.lowerBound, expected.baseAddress!, expected.count) == 0
            }
        }

        /// The key, decoded.
        public func key(in line: UnsafeBufferPointer<UInt8>) -> String {
            var reader = JSONReader(bytes: line, position: memberStart)
            return (try? reader.parseString()) ?? ""
        }
    }

    public static func members(of line: UnsafeBufferPointer<UInt8>) throws -> [Member] {
        var reader = JSONReader(bytes: line)
        reader.skipWhitespace()
        guard reader.position < line.count, line[reader.position] == UInt8(ascii: "{") else {
            if reader.position >= line.count { throw reader.error("empty line, expected a JSON object") }
            throw reader.error("expected a JSON object")
        }
        reader.position += 1
        var members: [Member] = []
        reader.skipWhitespace()
        if reader.position < line.count, line[reader.position] == UInt8(ascii: "}") {
            reader.position += 1
            try reader.expectEnd()
            return members
        }
        while true {
            reader.skipWhitespace()
            guard reader.position < line.count, line[reader.position] == UInt8(ascii: "\"") else {
                throw reader.error("expected a quoted object key")
            }
            let memberStart = reader.position
            let key = try reader.scanString()
            try reader.expectColon()
            reader.skipWhitespace()
            let valueStart = reader.position
            try reader.skipValue()
            members.append(
                Member(memberStart: memberStart, keyBytes: key.content, keyHasEscapes: key.hasEscapes, value: valueStart..<reader.position))
            reader.skipWhitespace()
            guard reader.position < line.count else { throw reader.error("unexpected end of line, expected ',' or '}'") }
            let byte = line[reader.position]
            reader.position += 1
            if byte == UInt8(ascii: "}") { break }
            guard byte == UInt8(ascii: ",") else {
                reader.position -= 1
                throw reader.error("expected ',' or '}'")
            }
        }
        try reader.expectEnd()
        return members
    }

    /// The value of one member, built.
    public static func value(_ member: Member, in line: UnsafeBufferPointer<UInt8>) throws -> JSONValue {
        try JSONParser.parse(UnsafeBufferPointer(rebasing: line[member.value]))
    }
}
