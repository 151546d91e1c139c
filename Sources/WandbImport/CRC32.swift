/// The standard CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320: zlib's `crc32`), which W&B's
/// transaction log uses for its chunks (not LevelDB's masked CRC-32C).
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        return crc
    }

    /// The checksum of `prefix` followed by `bytes`, as `zlib.crc32(prefix + bytes)`.
    static func checksum(prefix: UInt8, _ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        crc = table[Int((crc ^ UInt32(prefix)) & 0xFF)] ^ (crc >> 8)
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
