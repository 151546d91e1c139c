extension RunStore {
    public func readMetadata(_ location: RunLocation) throws -> RunMetadata {
        let path = layout.runFile(location, .metadata)
        guard let object = try Self.readJSONObject(path) else { throw StoreError("no run \(location) in the store at \(root)") }
        return try RunMetadata(json: object, source: path)
    }

    /// The content of `config.json` or `summary.json`; empty when the file is missing.
    public func readObject(_ location: RunLocation, _ file: RunFile) throws -> JSONObject {
        try Self.readJSONObject(layout.runFile(location, file)) ?? [:]
    }

    /// A file holding one JSON object; nil when the file does not exist.
    static func readJSONObject(_ path: String) throws -> JSONObject? {
        guard let bytes = try FileIO.read(path) else { return nil }
        return try parseJSONObject(bytes, path: path)
    }

    /// The bytes of a file holding one JSON object (`path` names it in errors).
    package static func parseJSONObject(_ bytes: [UInt8], path: String) throws -> JSONObject {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw StoreError("\(path): \(error)")
        }
        guard case .object(let object) = value else { throw StoreError("\(path): expected a JSON object") }
        return object
    }

    /// Every step of a run's history that can be read, with a warning for each line that cannot
    /// (a torn last line after a crash, or a malformed line); none of them is fatal.
    public func readHistory(_ location: RunLocation) throws -> HistoryLog {
        let path = layout.runFile(location, .history)
        guard let bytes = try FileIO.read(path) else { return HistoryLog(steps: [], warnings: []) }
        return HistoryLog.parse(bytes, path: path)
    }

    /// The run's summary as users see it: the last logged value of each history key (keys starting
    /// with `_` are bookkeeping and left out), overridden key by key by explicit summary writes.
    public func effectiveSummary(_ location: RunLocation, history: HistoryLog? = nil) throws -> JSONObject {
        let log = try history ?? readHistory(location)
        var summary = log.lastValues()
        for (key, value) in try readObject(location, .summary) { summary[key] = value }
        return summary
    }
}

/// The readable steps of a history file, and what was skipped.
public struct HistoryLog: Sendable {
    public var steps: [JSONObject]
    /// `path:line: reason` for every line that was skipped.
    public var warnings: [String]

    public static func parse(_ bytes: [UInt8], path: String) -> HistoryLog {
        var log = HistoryLog(steps: [], warnings: [])
        HistoryLines.forEach(bytes, path: path, warnings: &log.warnings) { line in
            guard case .object(let step) = try JSONParser.parse(line) else { throw JSONParseError(message: "expected a JSON object", offset: 0) }
            log.steps.append(step)
        }
        return log
    }

    /// The last value logged for each key that does not start with `_`, in first-logged key order.
    public func lastValues() -> JSONObject {
        var values = JSONObject()
        for step in steps {
            for (key, value) in step where !key.hasPrefix("_") { values[key] = value }
        }
        return values
    }
}

/// The lines of a history file, as every reader splits them: blank lines skipped; a line that is
/// not one JSON object skipped with `path:line: reason`; a last line without its newline that
/// does not parse reported as torn.
package enum HistoryLines {
    /// Calls `body` with each non-blank line; a throw from it skips the line with a warning.
    package static func forEach(
        _ bytes: [UInt8], path: String, warnings: inout [String], _ body: (UnsafeBufferPointer<UInt8>) throws -> Void
    ) {
        bytes.withUnsafeBufferPointer { buffer in
            var lineStart = 0
            var lineNumber = 0
            while lineStart < buffer.count {
                lineNumber += 1
                var lineEnd = lineStart
                while lineEnd < buffer.count, buffer[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
                let terminated = lineEnd < buffer.count
                let line = UnsafeBufferPointer(rebasing: buffer[lineStart..<lineEnd])
                lineStart = lineEnd + 1
                guard let first = line.firstIndex(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") && $0 != UInt8(ascii: "\r") }) else {
                    continue
                }
                do {
                    if line[first] != UInt8(ascii: "{") { throw JSONParseError(message: "expected a JSON object", offset: first) }
                    try body(line)
                } catch {
                    warnings.append(terminated
                        ? "\(path):\(lineNumber): \(error); line skipped"
                        : "\(path):\(lineNumber): torn last line (its writer stopped mid-line); skipped")
                }
            }
        }
    }
}
