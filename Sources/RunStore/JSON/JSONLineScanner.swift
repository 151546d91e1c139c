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
        var members: [Member] = []
        var reader = JSONReader(bytes: line)
        try reader.walkObjectLine { reader, keyStart, key in
            let valueStart = reader.position
            try reader.skipValue()
            members.append(Member(memberStart: keyStart, keyBytes: key.content, keyHasEscapes: key.hasEscapes, value: valueStart..<reader.position))
        }
        return members
    }

    /// The value of one member, built.
    public static func value(_ member: Member, in line: UnsafeBufferPointer<UInt8>) throws -> JSONValue {
        try JSONParser.parse(UnsafeBufferPointer(rebasing: line[member.value]))
    }
}
