#if canImport(Glibc)
import Glibc
#endif

/// MD5 (RFC 1321), to check W&B manifest digests (`base64(md5(content))`) against staging files.
/// Not for security: W&B chose it as a content fingerprint.
struct MD5 {
    private var state: (UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476)
    private var buffer: [UInt8] = []
    private var length: UInt64 = 0

    private static let shifts: [UInt32] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
        5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
        4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
        6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ]
    private static let constants: [UInt32] = (0..<64).map { index in
        UInt32(truncatingIfNeeded: Int64(abs(sin(Double(index + 1))) * 4_294_967_296.0))
    }

    mutating func update(_ bytes: some Collection<UInt8>) {
        length &+= UInt64(bytes.count)
        buffer.append(contentsOf: bytes)
        var start = 0
        while buffer.count - start >= 64 {
            compress(buffer[start..<start + 64])
            start += 64
        }
        buffer.removeFirst(start)
    }

    /// The 16-byte digest.
    mutating func finish() -> [UInt8] {
        let bitLength = length &* 8
        var padding: [UInt8] = [0x80]
        while (buffer.count + padding.count) % 64 != 56 { padding.append(0) }
        for shift in stride(from: 0, to: 64, by: 8) { padding.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        let saved = length
        update(padding)
        length = saved
        var digest: [UInt8] = []
        for word in [state.0, state.1, state.2, state.3] {
            for shift in stride(from: 0, to: 32, by: 8) { digest.append(UInt8(truncatingIfNeeded: word >> UInt32(shift))) }
        }
        return digest
    }

    private mutating func compress(_ block: ArraySlice<UInt8>) {
        var words = [UInt32](repeating: 0, count: 16)
        let base = block.startIndex
        for index in 0..<16 {
            let offset = base + index * 4
            words[index] = UInt32(block[offset]) | UInt32(block[offset + 1]) << 8 | UInt32(block[offset + 2]) << 16 | UInt32(block[offset + 3]) << 24
        }
        var (a, b, c, d) = state
        for round in 0..<64 {
            var mixed: UInt32
            let wordIndex: Int
            switch round {
            case 0..<16: mixed = (b & c) | (~b & d); wordIndex = round
            case 16..<32: mixed = (d & b) | (~d & c); wordIndex = (5 * round + 1) % 16
            case 32..<48: mixed = b ^ c ^ d; wordIndex = (3 * round + 5) % 16
            default: mixed = c ^ (b | ~d); wordIndex = (7 * round) % 16
            }
            mixed = mixed &+ a &+ Self.constants[round] &+ words[wordIndex]
            a = d
            d = c
            c = b
            let shift = Self.shifts[round]
            b = b &+ (mixed << shift | mixed >> (32 - shift))
        }
        state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d)
    }

    /// `base64(md5(bytes))`, the form of a W&B manifest entry's digest.
    static func base64Digest(of bytes: some Collection<UInt8>) -> String {
        var hasher = MD5()
        hasher.update(bytes)
        return Base64.encode(hasher.finish())
    }
}

enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var value: UInt32 = 0
            for (offset, byte) in chunk.enumerated() { value |= UInt32(byte) << (16 - 8 * UInt32(offset)) }
            for position in 0..<4 {
                if position <= chunk.count {
                    output.append(alphabet[Int((value >> (18 - 6 * UInt32(position))) & 0x3F)])
                } else {
                    output.append(UInt8(ascii: "="))
                }
            }
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }
}
