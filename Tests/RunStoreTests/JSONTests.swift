import Testing
@testable import RunStore

@Suite struct JSONParserTests {
    @Test func readsEveryKindOfValue() throws {
        let value = try JSONParser.parse(#"{"a": 1, "b": [true, false, null], "c": "x\ny", "d": 2.5, "e": {}}"#)
        #expect(value == ["a": 1, "b": [true, false, nil], "c": "x\ny", "d": 2.5, "e": .object([:])])
    }

    @Test func keepsKeyOrder() throws {
        let value = try JSONParser.parse(#"{"z": 1, "a": 2, "m": 3}"#)
        #expect(value.objectValue.map { Array($0.keys) } == ["z", "a", "m"])
    }

    @Test func readsPythonNonFiniteNumbers() throws {
        let value = try JSONParser.parse("[NaN, Infinity, -Infinity]")
        guard case .array(let numbers) = value, numbers.count == 3 else {
            Issue.record("expected an array of three")
            return
        }
        #expect(numbers[0].doubleValue?.isNaN == true)
        #expect(numbers[1] == .double(.infinity))
        #expect(numbers[2] == .double(-.infinity))
        #expect(JSONWriter.compact(value) == "[NaN,Infinity,-Infinity]")
    }

    @Test func integersKeepTheirExactValue() throws {
        #expect(try JSONParser.parse("9007199254740993") == .int(9_007_199_254_740_993))
        #expect(try JSONParser.parse("-9223372036854775808") == .int(.min))
        #expect(try JSONParser.parse("9223372036854775808") == .bigInt("9223372036854775808"))
        let huge = "123456789012345678901234567890"
        #expect(JSONWriter.compact(try JSONParser.parse("[\(huge)]")) == "[\(huge)]")
    }

    @Test func floatsStayFloats() throws {
        for text in ["2.0", "0.001", "1e-05", "-0.0", "1e+300", "5e-324", "0.1"] {
            let value = try JSONParser.parse(text)
            guard case .double = value else {
                Issue.record("\(text) did not read as a float")
                continue
            }
            #expect(try JSONParser.parse(JSONWriter.compact(value)) == value, "\(text)")
        }
        #expect(JSONWriter.compact(.double(2)) == "2.0")
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        #expect(try JSONParser.parse(#""\u00e9\ud83d\ude00\/\t""#) == .string("é😀/\t"))
        #expect(try JSONParser.parse(#""\ud800""#) == .string("\u{FFFD}"))
        let tricky = "quote \" backslash \\ newline \n tab \t bell \u{07} é"
        #expect(try JSONParser.parse(JSONWriter.compact(.string(tricky))) == .string(tricky))
    }

    @Test(arguments: [
        ("", "unexpected end of input, expected a value at column 1"),
        ("{", "expected a quoted object key at column 2"),
        (#"{"a" 1}"#, "expected ':' after an object key at column 6"),
        (#"{"a": 1,}"#, "expected a quoted object key at column 9"),
        ("[1 2]", "expected ',' or ']', found '2' at column 4"),
        ("01", "leading zero in a number at column 1"),
        ("1.", "expected a digit after '.' at column 3"),
        ("tru", "invalid literal (expected true, false, null, NaN, Infinity or a number) at column 1"),
        (#""abc"#, "unterminated string at column 1"),
        (#""\q""#, #"invalid escape '\q' at column 2"#),
        ("[1] x", "unexpected 'x' after the JSON value at column 5"),
        ("nan", "invalid literal (expected true, false, null, NaN, Infinity or a number) at column 1"),
    ])
    func rejectsMalformedText(_ input: String, _ message: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(input) }
        do {
            _ = try JSONParser.parse(input)
        } catch {
            #expect("\(error)" == message)
        }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xFF, 0xFE, 0x22]) }
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        let allowed = String(repeating: "[", count: JSONParser.maximumDepth) + String(repeating: "]", count: JSONParser.maximumDepth)
        #expect((try? JSONParser.parse(allowed)) != nil)
    }

    /// Strings are scanned eight bytes at a time up to a byte that needs a look: a special byte
    /// at any offset, in strings of any length, reads or fails exactly as byte by byte.
    @Test func stringsReadTheSameWhereverTheirSpecialBytesAre() throws {
        let specials: [(bytes: [UInt8], decoded: String?, errorAt: Int?)] = [
            (Array(#"\""#.utf8), "\"", nil),
            (Array(#"\\"#.utf8), "\\", nil),
            (Array(#"\u00e9"#.utf8), "é", nil),
            (Array("é".utf8), "é", nil),
            (Array("☃".utf8), "☃", nil),
            ([0x7F], "\u{7F}", nil),
            ([0x1F], nil, 0),
            ([0x0A], nil, 0),
            ([0xFF], nil, -1),
            (Array(#"\q"#.utf8), nil, 0),
        ]
        for length in 0...19 {
            for offset in 0...length {
                for special in specials {
                    let before = String(repeating: "a", count: offset)
                    let after = String(repeating: "b", count: length - offset)
                    let content = Array(before.utf8) + special.bytes + Array(after.utf8)
                    let text = [UInt8(ascii: "\"")] + content + [UInt8(ascii: "\"")]
                    if let decoded = special.decoded {
                        #expect(try JSONParser.parse(text) == .string(before + decoded + after))
                    } else {
                        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
                        if let errorAt = special.errorAt, errorAt >= 0 {
                            do {
                                _ = try JSONParser.parse(text)
                            } catch let error as JSONParseError {
                                #expect(error.offset == 1 + offset + errorAt, "\(text)")
                            }
                        }
                    }
                }
                // Unterminated: the error is at the opening quote.
                let open = [UInt8(ascii: "\"")] + Array(String(repeating: "c", count: length).utf8)
                #expect(throws: JSONParseError(message: "unterminated string", offset: 0)) { try JSONParser.parse(open) }
            }
        }
    }

    @Test func validateAcceptsExactlyWhatParseAccepts() {
        let inputs = [
            #"{"a":[1,2,{"b":null}],"c":"\u0041"}"#, "[NaN]", "-Infinity", "{", #"{"a":1,}"#, #""\x""#, "1e5", "1e",
            #"{"k": "v"} "#, "[[[]]]", "[1,]", "\"\u{01}\"", "-", "-0", "0.5e-3",
        ]
        for input in inputs {
            let parsed = (try? JSONParser.parse(input)) != nil
            var text = input
            let validated = text.withUTF8 { bytes in (try? JSONParser.validate(bytes)) != nil }
            #expect(parsed == validated, "\(input)")
        }
    }
}

@Suite struct JSONLineScannerTests {
    @Test func findsTopLevelMembersWithoutBuildingValues() throws {
        var line = #"{"run_id": "abc", "_step": 3, "nested": {"run_id": 1}, "x\u0041": [1, 2]}"#
        try line.withUTF8 { bytes in
            let members = try JSONLineScanner.members(of: bytes)
            #expect(members.map { $0.key(in: bytes) } == ["run_id", "_step", "nested", "xA"])
            #expect(members[0].keyIs("run_id", in: bytes))
            #expect(!members[3].keyIs("xA", in: bytes))  // an escaped key is never matched by bytes
            #expect(try JSONLineScanner.value(members[1], in: bytes) == 3)
            #expect(try JSONLineScanner.value(members[2], in: bytes) == ["run_id": 1])
        }
    }

    @Test func rejectsWhatIsNotOneObject() {
        for input in ["[1]", "", #"{"a": 1} {"#, #"{"a": }"#] {
            var text = input
            text.withUTF8 { bytes in
                #expect(throws: JSONParseError.self, "\(input)") { try JSONLineScanner.members(of: bytes) }
            }
        }
    }
}

@Suite struct KeyAssignmentTests {
    @Test func valuesAreJSONWhenTheyAreJSON() throws {
        #expect(try KeyAssignment(parsing: "lr=0.001").value == .double(0.001))
        #expect(try KeyAssignment(parsing: "epochs=10").value == .int(10))
        #expect(try KeyAssignment(parsing: "flag=true").value == .bool(true))
        #expect(try KeyAssignment(parsing: "none=null").value == .null)
        #expect(try KeyAssignment(parsing: "sizes=[1,2]").value == [1, 2])
        #expect(try KeyAssignment(parsing: #"quoted="12""#).value == .string("12"))
        #expect(try KeyAssignment(parsing: "arch=bert").value == .string("bert"))
        #expect(try KeyAssignment(parsing: "empty=").value == .string(""))
        #expect(try KeyAssignment(parsing: "eq=a=b").value == .string("a=b"))
        #expect(try KeyAssignment(parsing: "loss=NaN").value.doubleValue?.isNaN == true)
    }

    @Test func keysArePathsWithEscapedDots() throws {
        #expect(try KeyAssignment(parsing: "model.arch=bert").path == ["model", "arch"])
        #expect(try KeyAssignment(parsing: #"a\.b=1"#).path == ["a.b"])
        #expect(try KeyAssignment(parsing: "val/f1=0.5").path == ["val/f1"])
        #expect(throws: StoreError.self) { try KeyAssignment(parsing: "novalue") }
        #expect(throws: StoreError.self) { try KeyAssignment(parsing: "a..b=1") }
        #expect(throws: StoreError.self) { try KeyAssignment(parsing: "=1") }
    }

    @Test func assignmentsBuildNestedObjects() throws {
        let object = KeyAssignment.object(try ["model.arch=bert", "model.layers=12", "lr=1e-3"].map { try KeyAssignment(parsing: $0) })
        #expect(object == ["model": ["arch": "bert", "layers": 12], "lr": 0.001])
    }
}

@Suite struct TimestampTests {
    @Test func formatsAndParsesUTC() {
        #expect(Timestamp.format(0) == "1970-01-01T00:00:00Z")
        #expect(Timestamp.format(1_795_854_371.25) == "2026-11-28T08:26:11.25Z")
        #expect(Timestamp.format(951_782_400) == "2000-02-29T00:00:00Z")
        #expect(Timestamp.parse("2026-11-28T08:26:11.25Z") == 1_795_854_371.25)
        #expect(Timestamp.parse("2026-11-28 08:26:11") == 1_795_854_371)
        #expect(Timestamp.parse("2026-11-28T10:26:11+02:00") == 1_795_854_371)
        #expect(Timestamp.parse("2026-11-28") == 1_795_824_000)
        #expect(Timestamp.parse("2026-02-30") == nil)
        #expect(Timestamp.parse("yesterday") == nil)
        #expect(Timestamp.parse("2026-11-28T08:26:11Zjunk") == nil)
    }

    @Test func roundTripsOverCenturies() {
        for seconds in stride(from: -5_000_000_000.0, to: 10_000_000_000, by: 123_456_789.125) {
            #expect(Timestamp.parse(Timestamp.format(seconds)) == seconds)
        }
    }
}

@Suite struct StoreLayoutTests {
    @Test func namesBecomeSafePathComponents() {
        for name in ["acme", "text-classifier", "a b/c", "..", ".hidden", "ünï", "%41", "x.y"] {
            let encoded = StoreLayout.encode(name)
            #expect(!encoded.contains("/") && !encoded.hasPrefix("."), "\(name) → \(encoded)")
            #expect(StoreLayout.decode(encoded) == name)
        }
        #expect(StoreLayout.encode("a b") == "a%20b")
    }
}

@Suite struct JSONFastScannerTests {
    @Test func fastFloatsAreExactlyWhatTheFullConversionGives() {
        var state: UInt64 = 42
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 11
        }
        var literals = ["0.1", "0.2", "0.3", "1e-05", "2.5e+3", "-0.0", "123456.789", "9007199254740993.0", "1.7976931348623157e308", "5e-324", "0.000001234"]
        for _ in 0..<20_000 {
            let mantissa = next() % 10_000_000_000
            let scale = Int(next() % 30)
            var text = String(mantissa)
            if scale < text.count { text.insert(".", at: text.index(text.startIndex, offsetBy: text.count - scale)) } else { text = "0." + String(repeating: "0", count: scale - text.count) + text }
            if next() % 4 == 0 { text += "e" + (next() % 2 == 0 ? "-" : "+") + String(next() % 30) }
            literals.append((next() % 2 == 0 ? "-" : "") + text)
        }
        for literal in literals {
            var copy = literal
            let fast = copy.withUTF8 { JSONFastScanner.fastDouble($0) }
            if let fast { #expect(fast.bitPattern == Double(literal)?.bitPattern, "\(literal)") }
        }
    }

    @Test func membersMatchTheFullParser() throws {
        var line = #"{"_step": 3, "loss": 0.25, "name": "a\"b", "nested": {"x": [1, 2]}, "big": 123456789012345678901, "ok": true, "none": null, "n": NaN}"#
        var seen: [String] = []
        try line.withUTF8 { bytes in
            try JSONFastScanner.forEachMember(bytes) { key, _, value in
                let name = String(decoding: UnsafeBufferPointer(rebasing: bytes[key]), as: UTF8.self)
                switch value {
                case .int(let integer): seen.append("\(name)=int:\(integer)")
                case .double(let number): seen.append("\(name)=double:\(number)")
                case .string: seen.append("\(name)=string")
                case .other: seen.append("\(name)=other")
                case .bool(let flag): seen.append("\(name)=bool:\(flag)")
                case .null: seen.append("\(name)=null")
                }
            }
        }
        #expect(seen == ["_step=int:3", "loss=double:0.25", "name=string", "nested=other", "big=other", "ok=bool:true", "none=null", "n=double:nan"])
    }
}
