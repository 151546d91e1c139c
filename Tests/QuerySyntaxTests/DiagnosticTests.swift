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
