import Foundation

/// LIKE patterns and regular expressions.
enum Patterns {
    /// SQL LIKE: `%` any run of characters, `_` one character, `escape` makes the next one literal.
    static func like(_ text: String, _ pattern: String, escape: Character?, caseInsensitive: Bool) -> Bool {
        let subject = Array(caseInsensitive ? text.lowercased() : text)
        let tokens = Array(caseInsensitive ? pattern.lowercased() : pattern)
        // Iterative matching with backtracking to the last %, linear in practice.
        var subjectIndex = 0
        var patternIndex = 0
        var starPattern = -1
        var starSubject = 0
        func literal(at index: Int) -> (Character, Int)? {
            if let escape, tokens[index] == escape, index + 1 < tokens.count { return (tokens[index + 1], 2) }
            return nil
        }
        while subjectIndex < subject.count {
            if patternIndex < tokens.count {
                if let (character, width) = literal(at: patternIndex) {
                    if character == subject[subjectIndex] {
                        subjectIndex += 1
                        patternIndex += width
                        continue
                    }
                } else if tokens[patternIndex] == "%" {
                    starPattern = patternIndex
                    starSubject = subjectIndex
                    patternIndex += 1
                    continue
                } else if tokens[patternIndex] == "_" || tokens[patternIndex] == subject[subjectIndex] {
                    subjectIndex += 1
                    patternIndex += 1
                    continue
                }
            }
            guard starPattern >= 0 else { return false }
            patternIndex = starPattern + 1
            starSubject += 1
            subjectIndex = starSubject
        }
        while patternIndex < tokens.count, tokens[patternIndex] == "%" { patternIndex += 1 }
        return patternIndex == tokens.count
    }

    private static let cache = RegexCache()

    /// Whether `pattern` matches somewhere in `text` (POSIX-style partial match, as DuckDB's `~`).
    static func regexMatches(_ text: String, _ pattern: String) throws(FunctionFailure) -> Bool {
        if pattern.isEmpty { return true }
        let regex = try cache.regex(pattern)
        let range = NSRange(text.startIndex..., in: text)
        return regex.firstMatch(in: text, range: range) != nil
    }

    /// `regexp_replace`: the first match (all with `global`) replaced; `\1` in the replacement is a group.
    static func regexReplace(_ text: String, _ pattern: String, _ replacement: String, global: Bool) throws(FunctionFailure) -> String {
        let regex = try cache.regex(pattern)
        let template = replacement.replacingOccurrences(of: "$", with: "\\$").replacingOccurrences(
            of: #"\\(\d)"#, with: "\\$$1", options: .regularExpression)
        let range = NSRange(text.startIndex..., in: text)
        if global { return regex.stringByReplacingMatches(in: text, range: range, withTemplate: template) }
        guard let match = regex.firstMatch(in: text, range: range) else { return text }
        let replaced = regex.replacementString(for: match, in: text, offset: 0, template: template)
        let nsText = text as NSString
        return nsText.replacingCharacters(in: match.range, with: replaced)
    }

    /// `regexp_extract`: group `group` (0: the whole match) of the first match, or '' without one.
    static func regexExtract(_ text: String, _ pattern: String, group: Int) throws(FunctionFailure) -> String {
        let regex = try cache.regex(pattern)
        guard let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) else { return "" }
        guard group >= 0, group < match.numberOfRanges else {
            throw FunctionFailure(.invalidInput, "regexp_extract: the pattern has no group \(group)")
        }
        guard let range = Range(match.range(at: group), in: text) else { return "" }
        return String(text[range])
    }
}

/// Compiled regular expressions by pattern, shared by all evaluations.
final class RegexCache: @unchecked Sendable {
    private let lock = NSLock()
    private var compiled: [String: NSRegularExpression] = [:]

    func regex(_ pattern: String) throws(FunctionFailure) -> NSRegularExpression {
        lock.lock()
        defer { lock.unlock() }
        if let regex = compiled[pattern] { return regex }
        do {
            let regex = try NSRegularExpression(pattern: pattern)
            if compiled.count > 256 { compiled.removeAll() }
            compiled[pattern] = regex
            return regex
        } catch {
            throw FunctionFailure(.invalidInput, "invalid regular expression '\(pattern)'")
        }
    }
}
