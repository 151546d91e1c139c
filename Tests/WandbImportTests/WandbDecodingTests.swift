import Testing
@testable import RunStore
@testable import WandbImport

/// The hand-written protobuf decoder and the YAML subset, on bytes and text built here.
@Suite struct WandbDecodingTests {
    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var bytes: [UInt8] = []
        repeat {
            var byte = UInt8(value & 0x7F)
            value >>= 7
            if value != 0 { byte |= 0x80 }
            bytes.append(byte)
        } while value != 0
        return bytes
    }

    static func field(_ number: Int, _ payload: [UInt8]) -> [UInt8] {
        varint(UInt64(number << 3 | 2)) + varint(UInt64(payload.count)) + payload
    }

    static func string(_ number: Int, _ text: String) -> [UInt8] { field(number, Array(text.utf8)) }

    @Test func decodesAnExitRecordWithANegativeCodeAndSkipsUnknownFields() throws {
        // exit_code -2 (int32 on the wire: a ten-byte varint), an unknown fixed64 and fixed32 field.
        let exit = [0x08] + Self.varint(UInt64(bitPattern: -2)) + [0x29] + [UInt8](repeating: 1, count: 8) + [0x35, 1, 2, 3, 4]
        guard case .exit(let code, _) = try WandbRecord.decode((Self.field(18, exit) + [0x08, 0x07])[...]) else {
            Issue.record("not an exit record")
            return
        }
        #expect(code == -2)
    }

    @Test func readsHistoryItemsByNestedKeyOrKeyAndTypedValues() throws {
        let nested = Self.string(2, "eval") + Self.string(2, "acc") + Self.string(16, "0.77")
        let plain = Self.string(1, "val/f1") + Self.string(16, "NaN")
        let typed = Self.string(1, "n") + [0x28] + Self.varint(3)  // sint64 zigzag 3 = -2
        let step = Self.field(2, [0x08, 0x05])
        let record = Self.field(2, Self.field(1, nested) + Self.field(1, plain) + Self.field(1, typed) + step)
        var assembler = WandbRunAssembler(id: "x")
        try assembler.apply(try WandbRecord.decode(record[...]), location: "test")
        let row = try #require(assembler.run.history.first)
        #expect(row["_step"] == 5)
        #expect(row["eval"] == .object(["acc": 0.77]))
        #expect(row["val/f1"]?.doubleValue?.isNaN == true)
        #expect(row["n"] == -2)
        #expect(row.keys.first == "_step")
    }

    @Test func truncatedProtobufIsAnErrorWithItsOffset() {
        let record = Self.field(17, Self.string(1, "abc")).dropLast(2)
        #expect(throws: ProtoError.self) { try WandbRecord.decode(record[...]) }
    }

    @Test func configRecordsSetAndRemoveInOrder() throws {
        let set = Self.field(5, Self.field(1, Self.string(1, "a") + Self.string(16, "{\"b\": 1}")) + Self.field(1, Self.string(1, "val/x") + Self.string(16, "2")))
        let remove = Self.field(5, Self.field(2, Self.string(2, "a") + Self.string(2, "b")))
        var assembler = WandbRunAssembler(id: "x")
        try assembler.apply(try WandbRecord.decode(set[...]), location: "test")
        try assembler.apply(try WandbRecord.decode(remove[...]), location: "test")
        #expect(assembler.run.config == ["a": .object([:]), "val/x": 2])
    }

    @Test func md5MatchesKnownDigests() {
        #expect(MD5.base64Digest(of: [UInt8]()) == "1B2M2Y8AsgTpgAmY7PhCfg==")
        #expect(MD5.base64Digest(of: Array("The quick brown fox jumps over the lazy dog".utf8)) == "nhB9nTcrtoJr2B01QqQZ1g==")
    }

    @Test func readsPyYAMLConfigFiles() throws {
        let text = """
            wandb_version: 1

            lr:
              desc: null
              value: 0.001
            optimizer:
              desc: null
              value:
                name: adam
                betas:
                - 0.9
                - 0.999
                eps: 1.0e-08
            long:
              desc: null
              value: 'lorem ipsum it''s
                folded here'
            _wandb:
              desc: null
              value:
                t:
                  1:
                  - 55
                  4: 3.11.7
            """
        let value = try YAMLSubset.parse(text)
        let object = try #require(value.objectValue)
        #expect(object["lr"]?.objectValue?["value"] == 0.001)
        #expect(object["optimizer"]?.objectValue?["value"] == .object(["name": "adam", "betas": [0.9, 0.999], "eps": .double(1e-08)]))
        #expect(object["long"]?.objectValue?["value"] == "lorem ipsum it's folded here")
        #expect(object["_wandb"]?.objectValue?["value"]?.objectValue?["t"] == .object(["1": [55], "4": "3.11.7"]))
    }

    @Test func readsWandbCoreConfigFiles() throws {
        let text = """
            batch_size:
                value: 32
            layers:
                value:
                    - 64
                    - 128
            notes:
                value: |-
                    two
                    lines
            empty:
                value: []
            mapping:
                value: {a: 1, b: [x, "y z"]}
            items:
                value:
                    - name: first
                      size: 1
                    - name: second
            """
        let object = try #require(try YAMLSubset.parse(text).objectValue)
        #expect(object["batch_size"] == .object(["value": 32]))
        #expect(object["layers"] == .object(["value": [64, 128]]))
        #expect(object["notes"] == .object(["value": "two\nlines"]))
        #expect(object["empty"] == .object(["value": []]))
        #expect(object["mapping"] == .object(["value": ["a": 1, "b": ["x", "y z"]]]))
        #expect(object["items"] == .object(["value": [["name": "first", "size": 1], ["name": "second"]]]))
    }
}
