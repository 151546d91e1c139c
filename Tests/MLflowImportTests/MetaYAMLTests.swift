import Testing
@testable import MLflowImport

@Suite struct MetaYAMLTests {
    @Test func readsWhatMLflowWrites() throws {
        let value = try MetaYAML.parse("""
            aliases:
              champion: '1'
            creation_timestamp: 1795852859808
            deployment_job_id: null
            description: tiny linear model
            experiment_id: '961493392394604608'
            quoted: 'it''s'
            double: "tab\\there \\u00e9"
            tags: []
            empty: {}
            long: a plain scalar that
              continues here

              and after a blank line
            folded: 'one
              two'
            """)
        #expect(value["aliases"]?["champion"] == .scalar("1", quoted: true))
        #expect(value["creation_timestamp"]?.integer == 1_795_852_859_808)
        #expect(value["deployment_job_id"] == .null)
        #expect(value["description"]?.string == "tiny linear model")
        #expect(value["experiment_id"]?.integer == 961_493_392_394_604_608)
        #expect(value["quoted"]?.string == "it's")
        #expect(value["double"]?.string == "tab\there é")
        #expect(value["tags"] == .emptyList)
        #expect(value["empty"] == .mapping([]))
        #expect(value["long"]?.string == "a plain scalar that continues here\nand after a blank line")
        #expect(value["folded"]?.string == "one two")
    }

    @Test func namesTheLineOfWhatItCannotRead() {
        #expect(throws: MetaYAML.ParseError(line: 2, message: "block sequences are not supported in MLflow meta files")) {
            try MetaYAML.parse("a: 1\n- b\n")
        }
        #expect(throws: MetaYAML.ParseError(line: 1, message: "unterminated quoted string")) {
            try MetaYAML.parse("a: 'open\n")
        }
        #expect(throws: MetaYAML.ParseError(line: 1, message: "expected 'key: value'")) {
            try MetaYAML.parse("just text\n")
        }
    }

    @Test func paramsBecomeNumbersOnlyWhenTheyAreNumbers() {
        #expect(RunMapping.typedParam("32") == .int(32))
        #expect(RunMapping.typedParam("-3") == .int(-3))
        #expect(RunMapping.typedParam("0.001") == .double(0.001))
        #expect(RunMapping.typedParam("1e-05") == .double(1e-05))
        #expect(RunMapping.typedParam(".5") == .double(0.5))
        for text in ["True", "[64, 128]", "adam", "nan", "inf", "1.2.3", "", "0x10", "1e", "-", "99999999999999999999"] {
            #expect(RunMapping.typedParam(text) == .string(text), "\(text)")
        }
    }
}
