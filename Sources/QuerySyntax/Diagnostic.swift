/// An error a user's query caused, with where it happened: a value, rendered by `render(in:)`.
public struct Diagnostic: Error, Sendable, Equatable, CustomStringConvertible {
    /// The stage that found the problem, as DuckDB names them.
    public enum Phase: String, Sendable {
        case parser = "Parser Error"
        case binder = "Binder Error"
        case catalog = "Catalog Error"
        case conversion = "Conversion Error"
        case invalidInput = "Invalid Input Error"
        case outOfRange = "Out of Range Error"
        case notImplemented = "Not implemented Error"
        case io = "IO Error"
        case interrupted = "Interrupt Error"
    }

    public var phase: Phase
    public var message: String
    public var span: SourceSpan?
    /// "Did you mean …" candidates, best first.
    public var candidates: [String]

    public init(_ phase: Phase, _ message: String, at span: SourceSpan? = nil, candidates: [String] = []) {
        self.phase = phase
        self.message = message
        self.span = span
        self.candidates = candidates
    }

    public var description: String { "\(phase.rawValue): \(message)" }

    /// DuckDB's rendering: `Binder Error: message`, the candidates, a blank line, the line of the
    /// query that holds the span as `LINE n: …`, and carets under the span.
    public func render(in source: String) -> String {
        var text = "\(phase.rawValue): \(message)"
        if !candidates.isEmpty {
            text += "\n" + (candidates.count == 1 ? "Did you mean \"\(candidates[0])\"?" : "Did you mean one of: \(candidates.map { "\"\($0)\"" }.joined(separator: ", "))?")
        }
        guard let span else { return text }
        let bytes = Array(source.utf8)
        let start = min(max(span.start, 0), bytes.count)
        let end = min(max(span.end, start), bytes.count)
        var lineStart = start
        while lineStart > 0, bytes[lineStart - 1] != UInt8(ascii: "\n") { lineStart -= 1 }
        var lineEnd = start
        while lineEnd < bytes.count, bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
        let lineNumber = bytes[..<lineStart].reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
        let prefix = "LINE \(lineNumber): "
        let line = String(decoding: bytes[lineStart..<lineEnd], as: UTF8.self).replacingTabs()
        // Carets are placed by characters, not bytes, so that non-ASCII text lines up.
        let column = String(decoding: bytes[lineStart..<start], as: UTF8.self).count
        let width = max(1, String(decoding: bytes[start..<min(end, lineEnd)], as: UTF8.self).count)
        text += "\n\n" + prefix + line + "\n" + String(repeating: " ", count: prefix.count + column) + String(repeating: "^", count: width)
        return text
    }
}

extension String {
    fileprivate func replacingTabs() -> String {
        String(map { $0 == "\t" ? " " : $0 })
    }
}
