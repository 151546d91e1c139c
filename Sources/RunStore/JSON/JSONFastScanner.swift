/// A scalar or a located value of a one-line JSON object, as the index builder reads history:
/// numbers, booleans and nulls decoded on the spot, strings and containers only located.
package enum JSONFastValue {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    /// A string's content bytes (between the quotes); `escaped` when it holds backslash escapes.
    case string(Range<Int>, escaped: Bool)
    /// Anything else (an object, an array, an integer beyond 64 bits): its bytes, to parse in full.
    case other(Range<Int>)
}

/// The history reader's hot path: one pass over a line, no allocation for ASCII keys and numbers.
package enum JSONFastScanner {
    /// Calls `body` with each top-level member of the object on `line`: its key's content bytes,
    /// whether the key has escapes, and its value. Throws for anything that is not one well-formed
    /// JSON object (after some members may have been reported: callers buffer them).
    package static func forEachMember(
        _ line: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>, Bool, JSONFastValue) throws -> Void
    ) throws {
        var reader = JSONReader(bytes: line)
        try reader.walkObjectLine { reader, _, key in
            let start = reader.position
            let value: JSONFastValue
            switch line[start] {
            case UInt8(ascii: "\""):
                let scanned = try reader.scanString()
                value = .string(scanned.content, escaped: scanned.hasEscapes)
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                try reader.skipValue()
                value = .other(start..<reader.position)
            case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                switch try reader.parseValue() {
                case .bool(let flag): value = .bool(flag)
                default: value = .null
                }
            default:
                let (range, kind) = try reader.scanNumber()
                let literal = UnsafeBufferPointer(rebasing: line[range])
                switch kind {
                case .nan: value = .double(.nan)
                case .infinity: value = .double(.infinity)
                case .negativeInfinity: value = .double(-.infinity)
                case .integer:
                    if let integer = JSONReader.parseInt64(literal) { value = .int(integer) } else { value = .other(range) }
                case .fraction:
                    value = .double(fastDouble(literal) ?? Double(String(decoding: literal, as: UTF8.self)) ?? .nan)
                }
            }
            try body(key.content, key.hasEscapes, value)
        }
    }

    private static let powersOfTen: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    /// Clinger's fast path: exact when the digits fit in 53 bits and the power of ten is exact;
    /// nil otherwise (the caller then uses the full conversion).
    static func fastDouble(_ literal: UnsafeBufferPointer<UInt8>) -> Double? {
        var index = 0
        var negative = false
        if index < literal.count, literal[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        var afterPoint = false
        while index < literal.count {
            let byte = literal[index]
            if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                if digits < 19 {
                    mantissa = mantissa * 10 + UInt64(byte - UInt8(ascii: "0"))
                    if mantissa != 0 { digits += 1 }
                    if afterPoint { exponent -= 1 }
                } else {
                    return nil
                }
            } else if byte == UInt8(ascii: ".") {
                afterPoint = true
            } else {
                break
            }
            index += 1
        }
        if index < literal.count {
            // An exponent part: e[+-]digits.
            index += 1
            var exponentNegative = false
            if index < literal.count, literal[index] == UInt8(ascii: "+") || literal[index] == UInt8(ascii: "-") {
                exponentNegative = literal[index] == UInt8(ascii: "-")
                index += 1
            }
            var written = 0
            while index < literal.count {
                written = written * 10 + Int(literal[index] - UInt8(ascii: "0"))
                if written > 1000 { return nil }
                index += 1
            }
            exponent += exponentNegative ? -written : written
        }
        guard mantissa < (1 << 53) else { return nil }
        var value = Double(mantissa)
        if exponent < 0 {
            guard -exponent < powersOfTen.count else { return nil }
            value /= powersOfTen[-exponent]
        } else if exponent > 0 {
            guard exponent < powersOfTen.count else { return nil }
            value *= powersOfTen[exponent]
        }
        return negative ? -value : value
    }
}
