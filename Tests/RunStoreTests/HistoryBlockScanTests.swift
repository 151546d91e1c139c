import Testing
@testable import RunStore

@Suite struct HistoryBlockScanTests {
    /// A deterministic generator, so that a failure reproduces.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// The fast walker of plain lines accepts only lines that `JSONReader` accepts, and finds the
    /// same members in them; and it does accept plain lines.
    @Test func plainLinesReadAsJSONReaderReadsThem() throws {
        var random = SplitMix(state: 42)
        let values = [
            "0", "-0", "12", "-3.25", "1e5", "2E-3", "0.5e+7", "01", "1.", "-", ".5", "1e", "NaN", "-Infinity", "Infinity",
            "true", "false", "null", "tru", "nul", #""s""#, #""""#, #""a\"b""#, #""\u00e9""#, "\"é\"", #""x"#, "[1,2]",
            #"{"a":{"b":[]}}"#, "[1,]", "{", "[", "\"ctl\u{01}\"", "12345678901234567890", #""exactly8""#, #""sixteen-bytes-ab""#,
        ]
        let keys = ["run_id", "_step", "x", "train/loss", #"a\\b"#, "é", "k", "abcdefghijklmnop", "1234567"]
        let spaces = ["", "", "", " ", "  ", "\t", "\r"]
        var accepted = 0
        for _ in 0..<20_000 {
            var line = spaces.randomElement(using: &random)! + "{"
            for index in 0..<Int.random(in: 0...5, using: &random) {
                if index > 0 { line += spaces.randomElement(using: &random)! + "," + spaces.randomElement(using: &random)! }
                line += "\"" + keys.randomElement(using: &random)! + "\"" + spaces.randomElement(using: &random)! + ":"
                line += spaces.randomElement(using: &random)! + values.randomElement(using: &random)!
            }
            line += spaces.randomElement(using: &random)! + "}" + spaces.randomElement(using: &random)!
            var bytes = Array(line.utf8)
            // Now and then a byte removed, changed or added.
            if Bool.random(using: &random), !bytes.isEmpty {
                let at = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes.remove(at: at)
                case 1: bytes[at] = Array(#"{}[]",:"\ 0-e.x"#.utf8).randomElement(using: &random)!
                default: bytes.insert(Array(#"{}[]",: \"#.utf8).randomElement(using: &random)!, at: at)
                }
            }
            try bytes.withUnsafeBufferPointer { line in
                var fast: [HistoryBlockScan.Member] = []
                guard HistoryBlockScan.plainMembers(of: line, into: &fast) else { return }
                accepted += 1
                var exact: [HistoryBlockScan.Member] = []
                try HistoryBlockScan.members(of: line, into: &exact)
                #expect(fast == exact, "\(String(decoding: line, as: UTF8.self))")
            }
        }
        #expect(accepted > 2_000)
    }
}
