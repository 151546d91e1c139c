/// The protobuf wire format, read by hand: enough to walk a message's fields and skip the ones a
/// decoder does not know, so newer writers keep working.
///
/// ```
/// message := field…        field := key varint (number << 3 | wire type) + value
/// wire type 0 varint | 1 fixed 8 bytes | 2 length-delimited (varint length + bytes) | 5 fixed 4 bytes
/// ```
/// proto3 leaves default values out: a missing field is 0, "", false or an empty message.
struct ProtoField {
    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case bytes(ArraySlice<UInt8>)
        case fixed32(UInt32)
    }

    var number: Int
    var value: Value
    /// Offset of the field's key within the outermost buffer (for messages).
    var offset: Int

    /// A `string` field (invalid UTF-8 is repaired, never fatal).
    func string() throws(ProtoError) -> String {
        guard case .bytes(let bytes) = value else { throw mismatch("a string") }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A length-delimited field's bytes (a sub-message).
    func message() throws(ProtoError) -> ArraySlice<UInt8> {
        guard case .bytes(let bytes) = value else { throw mismatch("a message") }
        return bytes
    }

    /// An `int64`/`uint64`/`int32` varint field (two's complement for negatives).
    func int64() throws(ProtoError) -> Int64 {
        guard case .varint(let raw) = value else { throw mismatch("an integer") }
        return Int64(bitPattern: raw)
    }

    /// An `int32` varint field (negative values are sign-extended to ten bytes on the wire).
    func int32() throws(ProtoError) -> Int32 {
        Int32(truncatingIfNeeded: try int64())
    }

    /// A `sint64` field (zigzag).
    func sint64() throws(ProtoError) -> Int64 {
        guard case .varint(let raw) = value else { throw mismatch("an integer") }
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }

    func bool() throws(ProtoError) -> Bool {
        try int64() != 0
    }

    /// A `double` field.
    func double() throws(ProtoError) -> Double {
        guard case .fixed64(let raw) = value else { throw mismatch("a double") }
        return Double(bitPattern: raw)
    }

    private func mismatch(_ expected: String) -> ProtoError {
        ProtoError(offset: offset, message: "field \(number) is not \(expected)")
    }
}

/// Malformed protobuf bytes, at an offset within the record.
struct ProtoError: Error, CustomStringConvertible {
    var offset: Int
    var message: String
    var description: String { message }
}

enum ProtoWire {
    /// Calls `body` with every field of the message in `bytes`, in wire order.
    static func forEachField(in bytes: ArraySlice<UInt8>, _ body: (ProtoField) throws(ProtoError) -> Void) throws(ProtoError) {
        var position = bytes.startIndex
        let end = bytes.endIndex
        func varint() throws(ProtoError) -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard position < end else { throw ProtoError(offset: position, message: "the record ends inside a varint") }
                let byte = bytes[position]
                position += 1
                if shift < 64 { result |= UInt64(byte & 0x7F) << shift }
                if byte & 0x80 == 0 { return result }
                shift += 7
                if shift >= 70 { throw ProtoError(offset: position, message: "a varint longer than 10 bytes") }
            }
        }
        func fixed(_ count: Int) throws(ProtoError) -> UInt64 {
            guard end - position >= count else { throw ProtoError(offset: position, message: "the record ends inside a fixed-size field") }
            var result: UInt64 = 0
            for index in 0..<count { result |= UInt64(bytes[position + index]) << (8 * UInt64(index)) }
            position += count
            return result
        }
        while position < end {
            let keyOffset = position
            let key = try varint()
            let number = Int(truncatingIfNeeded: key >> 3)
            guard number > 0 else { throw ProtoError(offset: keyOffset, message: "field number 0") }
            let value: ProtoField.Value
            switch key & 7 {
            case 0: value = .varint(try varint())
            case 1: value = .fixed64(try fixed(8))
            case 2:
                let length = try varint()
                guard length <= UInt64(end - position) else {
                    throw ProtoError(offset: keyOffset, message: "field \(number) announces \(length) bytes, \(end - position) remain")
                }
                value = .bytes(bytes[position..<position + Int(length)])
                position += Int(length)
            case 5: value = .fixed32(UInt32(try fixed(4)))
            case let wireType:
                throw ProtoError(offset: keyOffset, message: "field \(number) has unsupported wire type \(wireType)")
            }
            try body(ProtoField(number: number, value: value, offset: keyOffset))
        }
    }
}
