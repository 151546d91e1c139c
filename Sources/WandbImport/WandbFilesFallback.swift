import RunStore

/// The text files in a run folder's `files/`: what an online run leaves besides its log.
///
/// Offline runs hold no `config.yaml` and at most a stub `wandb-summary.json`, so these are read
/// only when a folder has no transaction log.
enum WandbFilesFallback {
    /// `files/config.yaml`: `wandb_version` dropped, each `{desc, value}` (0.16) or `{value}`
    /// (wandb-core) unwrapped to its value; nil when the file is missing. A key nested deeper than
    /// the store keeps is left out, and named in `problems`.
    static func config(folder: String, problems: inout [String]) throws -> JSONObject? {
        let path = "\(folder)/files/config.yaml"
        guard let bytes = try LocalFiles.read(path) else { return nil }
        let document: JSONValue
        do {
            var dropped: [YAMLSubset.DroppedEntry] = []
            document = try YAMLSubset.parse(String(decoding: bytes, as: UTF8.self), droppingTooDeep: &dropped)
            for entry in dropped {
                problems.append("\(path): line \(entry.error.line): config key \(entry.key): \(entry.error.message); left out")
            }
        } catch let error as YAMLSubset.ParseError {
            throw WandbImportError(path: path, "line \(error.line): \(error.message)")
        }
        guard case .object(let top) = document else {
            throw WandbImportError(path: path, "expected a mapping of config keys")
        }
        var config: JSONObject = [:]
        for (key, value) in top where key != "wandb_version" {
            if case .object(let wrapped) = value, let inner = wrapped["value"] {
                config[key] = inner
            } else {
                config[key] = value
            }
        }
        return config
    }

    /// `files/wandb-summary.json`: the final summary of an online run; nil when missing.
    static func summary(folder: String) throws -> JSONObject? {
        try jsonObject("\(folder)/files/wandb-summary.json")
    }

    /// `files/wandb-metadata.json` (0.16 and online runs): user, program, args, host…
    static func legacyMetadata(folder: String) throws -> JSONObject? {
        try jsonObject("\(folder)/files/wandb-metadata.json")
    }

    private static func jsonObject(_ path: String) throws -> JSONObject? {
        guard let bytes = try LocalFiles.read(path) else { return nil }
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch let error as JSONParseError {
            throw WandbImportError(path: path, offset: error.offset, error.message)
        }
        guard case .object(let object) = value else { throw WandbImportError(path: path, "expected a JSON object") }
        return object
    }
}
