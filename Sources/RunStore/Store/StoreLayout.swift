/// Where everything lives inside a store directory (format v1; `docs/STORE.md` is the reference).
///
/// ```
/// STORE/
///   runql-store.json                         {"format": "runql-store", "version": 1}
///   entities/ENTITY/PROJECT/runs/ID/         one folder per run
///     run.json  config.json  summary.json    small files, replaced atomically
///     history.jsonl                          append-only, one JSON object per step
///     output.log                             console output (optional), replaced atomically
///   entities/ENTITY/PROJECT/artifacts/NAME/  an artifact collection
///     collection.json  aliases.json          its type and description; alias → version
///     versions/vN.json                       immutable version manifests
///   entities/ENTITY/PROJECT/lineage.jsonl    artifact versions the project's runs used
///   blobs/sha256/XX/DIGEST                   content-addressed file contents
///   index/                                   derived query index cache, safe to delete
///   tmp/                                     staging area for new runs
/// ```
public struct StoreLayout: Sendable {
    public static let markerFile = "runql-store.json"
    public static let formatVersion: Int64 = 1

    public let root: String

    public init(root: String) {
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
    }

    public var marker: String { "\(root)/\(Self.markerFile)" }
    public var entities: String { "\(root)/entities" }
    public var temporary: String { "\(root)/tmp" }
    public var blobs: String { "\(root)/blobs" }
    public var index: String { "\(root)/index" }

    public func entity(_ entity: String) -> String { "\(entities)/\(Self.encode(entity))" }
    public func project(_ entity: String, _ project: String) -> String { "\(self.entity(entity))/\(Self.encode(project))" }
    public func runs(_ entity: String, _ project: String) -> String { "\(self.project(entity, project))/runs" }

    public func artifacts(_ entity: String, _ project: String) -> String { "\(self.project(entity, project))/artifacts" }

    public func artifactCollection(_ name: ArtifactName) -> String {
        "\(artifacts(name.entity, name.project))/\(Self.encode(name.name))"
    }

    public func artifactVersion(_ name: ArtifactName, _ version: Int) -> String {
        "\(artifactCollection(name))/versions/v\(version).json"
    }

    /// The uses of artifact versions by the runs of a project, one JSON object per line.
    public func lineage(_ entity: String, _ project: String) -> String { "\(self.project(entity, project))/lineage.jsonl" }

    /// The blob of a SHA-256 digest (64 hex digits), fanned out by its first two.
    public func blob(_ hexDigest: String) -> String { "\(blobs)/sha256/\(hexDigest.prefix(2))/\(hexDigest)" }

    public func run(_ location: RunLocation) -> String {
        "\(runs(location.entity, location.project))/\(Self.encode(location.id))"
    }

    public func runFile(_ location: RunLocation, _ file: RunFile) -> String {
        "\(run(location))/\(file.rawValue)"
    }

    /// A name as a directory name: bytes outside `[A-Za-z0-9_.-]`, and a leading `.`, become `%XX`
    /// so that any entity, project or run id maps to exactly one safe path component.
    public static func encode(_ name: String) -> String {
        func isSafe(_ byte: UInt8, at offset: Int) -> Bool {
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
                || (byte == UInt8(ascii: ".") && offset > 0)
        }
        // Most names (run ids, projects) need no escapes: they are their own encoding.
        if !name.isEmpty, name.utf8.enumerated().allSatisfy({ isSafe($1, at: $0) }) { return name }
        var encoded = ""
        for (offset, byte) in name.utf8.enumerated() {
            if isSafe(byte, at: offset) {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                encoded += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return encoded
    }

    /// The inverse of `encode`; nil for a name `encode` could not have written.
    public static func decode(_ component: String) -> String? {
        if !component.utf8.contains(UInt8(ascii: "%")) { return component }
        var bytes: [UInt8] = []
        var iterator = component.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                    let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
                else { return nil }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}

/// The files of a run folder.
public enum RunFile: String, Sendable, CaseIterable {
    case metadata = "run.json"
    case config = "config.json"
    case summary = "summary.json"
    case history = "history.jsonl"
    /// The run's console output (stdout and stderr as the source recorded them), plain text.
    case output = "output.log"
    /// The advisory lock writers of the run's small files take (hidden; never read).
    case lock = ".lock"
}

/// Where a run lives: `entity/project/id`.
public struct RunLocation: Hashable, Sendable, CustomStringConvertible {
    public var entity: String
    public var project: String
    public var id: String

    public init(entity: String, project: String, id: String) {
        self.entity = entity
        self.project = project
        self.id = id
    }

    public var description: String { "\(entity)/\(project)/\(id)" }
}
