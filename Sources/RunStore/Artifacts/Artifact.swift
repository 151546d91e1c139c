/// The name of an artifact collection: `entity/project/name`. Its versions are `name:v0`, `name:v1`, …
public struct ArtifactName: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var entity: String
    public var project: String
    public var name: String

    public init(entity: String, project: String, name: String) {
        self.entity = entity
        self.project = project
        self.name = name
    }

    public var description: String { "\(entity)/\(project)/\(name)" }

    public static func < (lhs: ArtifactName, rhs: ArtifactName) -> Bool {
        (lhs.entity, lhs.project, lhs.name) < (rhs.entity, rhs.project, rhs.name)
    }
}

/// One file of a version.
///
/// `digest` is `sha256:<64 hex digits>` when the content is in the store's blob store; an imported
/// manifest entry whose content was not available keeps the source's digest with its scheme
/// (e.g. `md5:<base64>` from a W&B manifest), and `get` cannot materialise it.
public struct ArtifactFile: Sendable, Equatable {
    public var path: String
    public var digest: String
    public var size: Int64

    public init(path: String, digest: String, size: Int64) {
        self.path = path
        self.digest = digest
        self.size = size
    }

    /// The hex SHA-256 of the content when it is in the blob store.
    public var blobDigest: String? {
        digest.hasPrefix("sha256:") ? String(digest.dropFirst("sha256:".count)) : nil
    }
}

/// A file of a version about to be logged.
public struct ArtifactDraftFile: Sendable {
    public enum Source: Sendable {
        /// A local file: streamed into the blob store.
        case file(String)
        /// Content not available: a manifest entry only.
        case reference(digest: String, size: Int64)
    }

    /// The file's name inside the version (relative, `/`-separated, no `..`).
    public var path: String
    public var source: Source

    public init(path: String, source: Source) {
        self.path = path
        self.source = source
    }
}

/// What logging content that is already stored does.
public enum ArtifactReuse: Sendable {
    /// Content identical to the newest version gives that version; nothing new (the CLI's rule).
    case newest
    /// Content identical to any version gives that version (importers: importing twice changes nothing).
    case anyVersion
}

/// A version about to be logged.
public struct ArtifactDraft: Sendable {
    public var name: ArtifactName
    public var type: String
    public var description: String? = nil
    public var metadata: JSONObject = [:]
    public var files: [ArtifactDraftFile] = []
    /// Moved onto the resulting version (never `latest`, which is always the newest).
    public var aliases: [String] = []
    public var ttlSeconds: Int64? = nil
    /// Lineage: the run that logged this version.
    public var loggedBy: RunLocation? = nil
    /// Seconds since the epoch; nil is now.
    public var createdAt: Double? = nil
    public var createdBy: String? = nil
    public var host: String? = nil
    public var gitCommit: String? = nil
    public var reuse: ArtifactReuse = .newest

    public init(name: ArtifactName, type: String) {
        self.name = name
        self.type = type
    }
}

/// One immutable version of an artifact: the content of `versions/vN.json`, plus its aliases.
public struct ArtifactVersion: Sendable, Equatable {
    public var name: ArtifactName
    public var version: Int
    public var type: String
    /// `sha256:` of the manifest (every file's path, digest and size): equal digests, equal content.
    public var digest: String
    public var size: Int64
    public var files: [ArtifactFile]
    public var metadata: JSONObject
    public var description: String?
    public var createdAt: Double
    public var createdBy: String?
    public var host: String?
    public var gitCommit: String?
    public var loggedBy: RunLocation?
    public var ttlSeconds: Int64?
    /// Custom aliases, plus `latest` on the newest version.
    public var aliases: [String] = []

    /// `entity/project/name:vN`.
    public var reference: String { "\(name):v\(version)" }

    /// When the TTL runs out (seconds since the epoch), or nil without a TTL.
    public var expiresAt: Double? { ttlSeconds.map { createdAt + Double($0) } }
}

/// Lineage: a run consumed an artifact version (or something runql could not resolve).
public struct ArtifactUse: Sendable, Equatable {
    public var run: RunLocation
    public var artifact: ArtifactName?
    public var version: Int?
    /// The reference as the source wrote it, when it did not resolve to a stored version.
    public var unresolvedReference: String?
    public var usedAt: Double?
}

/// A user's reference to a version: `[entity/][project/]name[:vN|:alias]`, `:latest` by default.
public struct ArtifactReference: Sendable, Equatable, CustomStringConvertible {
    public enum Selector: Sendable, Equatable {
        case version(Int)
        case alias(String)
    }

    public var entity: String?
    public var project: String?
    public var name: String
    public var selector: Selector

    public init(entity: String? = nil, project: String? = nil, name: String, selector: Selector = .alias("latest")) {
        self.entity = entity
        self.project = project
        self.name = name
        self.selector = selector
    }

    /// Parses `[entity/][project/]name[:vN|:alias]`.
    public init(parsing text: String) throws {
        var path = Substring(text)
        var selector = Selector.alias("latest")
        if let colon = text.lastIndex(of: ":") {
            let tag = text[text.index(after: colon)...]
            path = text[..<colon]
            guard !tag.isEmpty else { throw StoreError("\"\(text)\": nothing after ':' (write :vN or an alias)") }
            if tag.first == "v", tag.count > 1, let number = Int(tag.dropFirst()), number >= 0, tag.dropFirst().allSatisfy(\.isNumber) {
                selector = .version(number)
            } else {
                selector = .alias(String(tag))
            }
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (1...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else {
            throw StoreError("\"\(text)\" is not an artifact reference; write [entity/][project/]name[:vN|:alias]")
        }
        self.name = parts[parts.count - 1]
        self.project = parts.count >= 2 ? parts[parts.count - 2] : nil
        self.entity = parts.count == 3 ? parts[0] : nil
        self.selector = selector
    }

    public var description: String {
        var text = [entity, project].compactMap { $0 }.map { $0 + "/" }.joined() + name
        switch selector {
        case .version(let number): text += ":v\(number)"
        case .alias(let alias): text += ":\(alias)"
        }
        return text
    }
}

extension ArtifactReference {
    /// The one collection among `names` this reference names: its entity and project when written,
    /// else the only collection of that name. `place` says where in errors ("the store at …").
    public func matchingName(among names: [ArtifactName], in place: String) throws -> ArtifactName {
        let candidates = names.filter { candidate in
            candidate.name == name && (project.map { candidate.project == $0 } ?? true) && (entity.map { candidate.entity == $0 } ?? true)
        }
        switch candidates.count {
        case 1: return candidates[0]
        case 0:
            let spelled = [entity, project, name].compactMap { $0 }.joined(separator: "/")
            throw StoreError("no artifact named \(spelled) in \(place)")
        default:
            throw StoreError("artifact name \(name) is ambiguous; write one of: \(candidates.map(\.description).joined(separator: ", "))")
        }
    }

    /// The version of `collection` this reference selects among its `versions` (aliases filled in).
    public func select(from versions: [ArtifactVersion], of collection: ArtifactName) throws -> ArtifactVersion {
        let found: ArtifactVersion? = switch selector {
        case .version(let number): versions.first { $0.version == number }
        case .alias(let alias): versions.first { $0.aliases.contains(alias) }
        }
        if let found { return found }
        var message = "\(self) matches no version of \(collection)"
        switch selector {
        case .version:
            let numbers = versions.map { "v\($0.version)" }
            if let first = numbers.first, let last = numbers.last {
                message += " (it has \(numbers.count <= 8 ? numbers.joined(separator: ", ") : "\(first) … \(last)"))"
            }
        case .alias:
            let known = Set(versions.flatMap(\.aliases)).subtracting(["latest"]).sorted()
            if !known.isEmpty { message += " (aliases: \(known.joined(separator: ", ")))" }
        }
        throw StoreError(message)
    }
}
