#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A string compared and hashed by its UTF-8 bytes, as RunQL compares strings: canonically
/// equivalent spellings (`é`, and `e` with a combining accent) are different strings, as in
/// DuckDB, where Swift's `==` on `String` would equate them. For hash tables keyed by strings.
package struct ByteString: Hashable, Sendable {
    package let text: String

    package init(_ text: String) {
        var contiguous = text
        contiguous.makeContiguousUTF8()
        self.text = contiguous
    }

    package static func == (lhs: ByteString, rhs: ByteString) -> Bool {
        lhs.text.hasSameBytes(as: rhs.text)
    }

    package func hash(into hasher: inout Hasher) {
        text.hashBytes(into: &hasher)
    }
}

extension String {
    /// Whether the two strings have the same UTF-8 bytes (one `memcmp`, not a walk of the views).
    package func hasSameBytes(as other: String) -> Bool {
        var left = self
        var right = other
        return left.withUTF8 { left in
            right.withUTF8 { right in
                guard left.count == right.count else { return false }
                guard let leftBase = left.baseAddress, let rightBase = right.baseAddress else { return true }
                return memcmp(leftBase, rightBase, left.count) == 0
            }
        }
    }

    /// Feeds the UTF-8 bytes, and their count, to `hasher` in one piece.
    package func hashBytes(into hasher: inout Hasher) {
        var contiguous = self
        contiguous.withUTF8 { bytes in
            hasher.combine(bytes.count)
            hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
        }
    }
}
