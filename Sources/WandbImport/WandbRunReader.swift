import RunStore

/// Reads one run's folders into a `WandbRun`: the transaction log when there is one (the source
/// of truth), else the `files/config.yaml` and `files/wandb-summary.json` an online run leaves.
enum WandbRunReader {
    static func read(_ source: WandbRunSource) throws -> WandbRun {
        var assembler = WandbRunAssembler(id: source.runID)
        for folder in source.folders {
            assembler.addFolder(folder.path)
            if let logPath = folder.logPath {
                try readLog(logPath, into: &assembler)
            } else {
                var problems: [String] = []
                let config = try WandbFilesFallback.config(folder: folder.path, problems: &problems)
                for problem in problems { assembler.note(problem) }
                let summary = try WandbFilesFallback.summary(folder: folder.path)
                assembler.note(
                    config == nil && summary == nil
                        ? "\(folder.path): no run-\(folder.runID).wandb, files/config.yaml or files/wandb-summary.json: nothing to read"
                        : "\(folder.path): no run-\(folder.runID).wandb: config and summary read from files/; history and exit state unknown")
                assembler.setFallback(config: config, summary: summary)
            }
            if let metadata = try WandbFilesFallback.legacyMetadata(folder: folder.path) {
                assembler.setLegacyMetadata(
                    user: metadata["username"]?.stringValue, program: metadata["program"]?.stringValue,
                    args: metadata["args"].flatMap(Self.strings), host: metadata["host"]?.stringValue,
                    startedAt: metadata["startedAt"]?.stringValue.flatMap(Timestamp.parse))
            }
        }
        var run = assembler.run
        run.config.removeValue(forKey: "_wandb")
        run.summary.removeValue(forKey: "_wandb")
        // A crashed wandb-core run loses its last unflushed block; files/output.log may hold more.
        if run.exitCode == nil, let last = source.folders.last,
            let bytes = try LocalFiles.read("\(last.path)/files/output.log"), bytes.count > run.console.utf8.count
        {
            run.console = String(decoding: bytes, as: UTF8.self)
        }
        return run
    }

    /// Replays every readable record of one log; damage and undecodable records become notes.
    private static func readLog(_ path: String, into assembler: inout WandbRunAssembler) throws {
        guard let bytes = try LocalFiles.read(path) else { throw WandbImportError(path: path, "no such file") }
        var reader = try WandbLogReader(bytes: bytes, path: path)
        var firstFailure: String?
        var failures = 0
        reader.forEachRecord { offset, payload in
            let location = "\(path): offset \(offset)"
            do {
                let record = try WandbRecord.decode(payload)
                try assembler.apply(record, location: location)
            } catch let error as ProtoError {
                failures += 1
                if firstFailure == nil { firstFailure = "\(location): malformed record (\(error.message) at byte \(error.offset) of it)" }
            } catch {
                failures += 1
                if firstFailure == nil { firstFailure = "\(error)" }
            }
        }
        if let firstFailure {
            assembler.note(failures == 1 ? "\(firstFailure); skipped" : "\(firstFailure); \(failures) records skipped in all")
        }
        for damage in reader.damage {
            assembler.note("\(path): damaged \(damage)")
        }
    }

    private static func strings(_ value: JSONValue) -> [String]? {
        guard case .array(let elements) = value else { return nil }
        return elements.compactMap(\.stringValue)
    }
}
