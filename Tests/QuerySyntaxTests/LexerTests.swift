import Testing
@testable import QuerySyntax

@Suite struct LexerTests {
    /// The kinds and texts of the tokens of `source`, without the end-of-input token.
    func lex(_ source: String) throws -> [(TokenKind, String)] {
        try Lexer.tokenize(source).dropLast().map { ($0.kind, $0.text) }
    }

    func kinds(_ source: String) throws -> [TokenKind] {
        try lex(source).map(\.0)
    }

    @Test func wordsAndKeywordsAreIdentifiers() throws {
        let tokens = try lex("SELECT name, _x1, x$y, ünï FROM runs")
        #expect(tokens.map(\.0) == [.identifier, .identifier, .comma, .identifier, .comma, .identifier, .comma, .identifier, .identifier, .identifier])
        #expect(tokens.map(\.1) == ["SELECT", "name", ",", "_x1", ",", "x$y", ",", "ünï", "FROM", "runs"])
        let select = try Lexer.tokenize("select")[0]
        #expect(select.isWord("SELECT") && !select.isWord("SELECTS") && !select.isWord("FROM"))
        #expect(select.isWord(in: ["FROM", "SELECT"]))
        let quoted = try Lexer.tokenize("\"select\"")[0]
        #expect(!quoted.isWord("SELECT"))
    }

    @Test func quotedIdentifiersAndStrings() throws {
        #expect(try lex("\"val/f1\" \"a\"\"b\" 'it''s' '' 'multi\nline'").map(\.1) == ["val/f1", "a\"b", "it's", "", "multi\nline"])
        #expect(try kinds("\"x\" 'y'") == [.quotedIdentifier, .string])
    }

    @Test func numbers() throws {
        let tokens = try lex("42 0 0.5 .5 1. 1e-3 2E+5 1.5e10 99999999999999999999999 1e999999")
        #expect(tokens.map(\.1) == ["42", "0", "0.5", ".5", "1.", "1e-3", "2E+5", "1.5e10", "99999999999999999999999", "1e999999"])
        #expect(tokens.map(\.0) == [.integer, .integer, .decimal, .decimal, .decimal, .decimal, .decimal, .decimal, .integer, .decimal])
        // A dot between names is punctuation, a dot before digits starts a number.
        #expect(try kinds("a.b") == [.identifier, .dot, .identifier])
        #expect(try kinds("a .5") == [.identifier, .decimal])
        // An exponent needs digits; a number directly followed by a word is an error.
        #expect(throws: Diagnostic.self) { try Lexer.tokenize("1e") }
        #expect(throws: Diagnostic.self) { try Lexer.tokenize("1abc") }
        #expect(throws: Diagnostic.self) { try Lexer.tokenize("10OFFSET") }
    }

    @Test func operatorsLongestMatchFirst() throws {
        let source = "+ - * / // % || = == <> != < <= > >= ~ !~ :: ( ) [ ] , . ;"
        #expect(try kinds(source) == [
            .plus, .minus, .star, .slash, .doubleSlash, .percent, .concat, .equal, .equal, .notEqual, .notEqual, .less, .lessOrEqual,
            .greater, .greaterOrEqual, .regexMatch, .regexNotMatch, .doubleColon, .leftParen, .rightParen, .leftBracket, .rightBracket,
            .comma, .dot, .semicolon,
        ])
        #expect(try kinds("a<=b") == [.identifier, .lessOrEqual, .identifier])
        #expect(try kinds("x::int[]") == [.identifier, .doubleColon, .identifier, .leftBracket, .rightBracket])
        #expect(try kinds("1-2") == [.integer, .minus, .integer])
        #expect(try kinds("a//b") == [.identifier, .doubleSlash, .identifier])
    }

    @Test func commentsAndWhitespaceAreSkipped() throws {
        #expect(try lex("SELECT -- comment ; 'x'\n1 /* block */ /* nested /* inner */ still */ + 2 -- end").map(\.1) == ["SELECT", "1", "+", "2"])
        #expect(try lex("\u{FEFF}SELECT\u{A0}1\t\r\n\u{B}\u{C}").map(\.1) == ["SELECT", "1"])
        #expect(try lex("").isEmpty)
        #expect(try lex("   -- only a comment").isEmpty)
        #expect(try kinds("a - - b") == [.identifier, .minus, .minus, .identifier])
        #expect(try kinds("a --b") == [.identifier])
    }

    @Test func spansAreUTF8ByteOffsets() throws {
        let tokens = try Lexer.tokenize("SELECT 'é', \"ü\" -- x\n FROM t")
        #expect(tokens.map(\.span) == [
            SourceSpan(start: 0, end: 6), SourceSpan(start: 7, end: 11), SourceSpan(start: 11, end: 12), SourceSpan(start: 13, end: 17),
            SourceSpan(start: 24, end: 28), SourceSpan(start: 29, end: 30), SourceSpan(start: 30, end: 30),
        ])
        #expect(tokens.last?.kind == .endOfInput)
    }

    @Test func errorsPointAtTheOpening() {
        let cases: [(String, String)] = [
            ("SELECT 1️⃣'2️⃣abc", "unterminated quoted string"),
            ("SELECT 1️⃣'2️⃣it''s", "unterminated quoted string"),
            ("SELECT 1️⃣\"2️⃣abc\"\"", "unterminated quoted identifier"),
            ("SELECT 1 1️⃣/*2️⃣ a /* b */", "unterminated /* comment"),
            ("SELECT 1️⃣@2️⃣", "syntax error at or near \"@\""),
            ("SELECT 1️⃣!2️⃣ x", "syntax error at or near \"!\""),
            ("SELECT a 1️⃣|2️⃣ b", "syntax error at or near \"|\""),
            ("SELECT a1️⃣:2️⃣b", "syntax error at or near \":\""),
            ("SELECT 1️⃣\u{0}2️⃣", "invalid character U+0000"),
            ("SELECT 1️⃣\u{7F}2️⃣", "invalid character U+007F"),
            ("SELECT 1️⃣1e2️⃣", "trailing junk after numeric literal at or near \"1e\""),
            ("SELECT 1️⃣\"\"2️⃣", "zero-length delimited identifier at or near \"\"\"\""),
        ]
        for (marked, message) in cases {
            let (source, offsets) = removingMarkers(marked)
            do {
                _ = try Lexer.tokenize(source)
                Issue.record("expected an error: \(marked)")
            } catch {
                #expect(error.phase == .parser)
                #expect(error.message == message, "\(marked)")
                #expect(error.span == markedSpan(offsets), "\(marked)")
            }
        }
    }

    @Test func randomBytesNeverCrashTheLexer() {
        var generator = SeededGenerator(state: 42)
        for _ in 0..<5_000 {
            let length = Int.random(in: 0...64, using: &generator)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let source = String(decoding: bytes, as: UTF8.self)
            do {
                let tokens = try Lexer.tokenize(source)
                #expect(tokens.last?.kind == .endOfInput)
                // Tokens are in order, do not overlap and stay inside the text.
                var previousEnd = 0
                for token in tokens {
                    #expect(token.span.start >= previousEnd && token.span.end >= token.span.start && token.span.end <= source.utf8.count)
                    previousEnd = token.span.end
                }
            } catch {
                #expect(error.phase == .parser)
                #expect(error.span.map { $0.end <= source.utf8.count } == true)
            }
        }
    }
}
