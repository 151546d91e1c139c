import Testing
import QuerySyntax

@Suite struct DiagnosticTests {
    @Test func rendersCaretsUnderTheSpan() {
        let source = "SELECT name,\n       lossx FROM runs"
        let start = Array(source.utf8).firstIndex(of: UInt8(ascii: "l"))!
        let diagnostic = Diagnostic(.binder, "Referenced column \"lossx\" not found", at: SourceSpan(start: start, end: start + 5), candidates: ["loss"])
        #expect(diagnostic.render(in: source) == """
            Binder Error: Referenced column "lossx" not found
            Did you mean "loss"?

            LINE 2:        lossx FROM runs
                           ^^^^^
            """)
    }
}

@Suite struct StatementBoundaryTests {
    @Test func aStatementEndsAtASemicolonOutsideQuotesAndComments() {
        #expect(StatementBoundary.endsStatement("SELECT 1;"))
        #expect(StatementBoundary.endsStatement("SELECT 1;  -- done\n"))
        #expect(StatementBoundary.endsStatement("SELECT 1; SELECT 2;"))
        #expect(!StatementBoundary.endsStatement("SELECT 1"))
        #expect(!StatementBoundary.endsStatement("SELECT 1; SELECT 2"))
        #expect(!StatementBoundary.endsStatement("SELECT ';"))
        #expect(!StatementBoundary.endsStatement("SELECT \"a;"))
        #expect(!StatementBoundary.endsStatement("SELECT 1 -- ;"))
        #expect(!StatementBoundary.endsStatement("SELECT 1 /* ; */"))
        #expect(!StatementBoundary.endsStatement("SELECT 1; /* open"))
        #expect(StatementBoundary.endsStatement("SELECT 'it''s;';"))
        #expect(StatementBoundary.endsStatement("SELECT 1 /* x */;"))
    }
}
