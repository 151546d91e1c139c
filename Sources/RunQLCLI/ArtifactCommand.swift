import ArgumentParser
import Foundation
import RunStore

struct ArtifactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "artifact",
        abstract: "Version datasets and models: log, use, get, alias, list, show, verify, expire.",
        discussion: """
            REF is [entity/][project/]name[:vN|:alias], :latest when no version is given. Without \
            entity and project, the name must be unique in the store.
            """,
        subcommands: [
            LogArtifact.self, UseArtifact.self, GetArtifact.self, AliasArtifact.self, UnaliasArtifact.self,
            ListArtifacts.self, ShowArtifact.self, VerifyArtifacts.self, CollectArtifactGarbage.self,
        ]
    )
}

struct LogArtifact: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Log a new version of an artifact and print it as entity/project/name:vN.",
        discussion: """
            Files keep their names: --file data/train.csv as train.csv, --dir data/raw as raw/…; with \
            one --file or --dir, --name chooses that name instead. Content identical to the newest \
            version logs nothing new and prints that version. The user, the host, the time and the git \
            commit (inside a work tree) are recorded with every version.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: ArgumentHelp("The artifact: [entity/][project/]name.", valueName: "name"))
    var nameReference: String

    @Option(help: "What it is, e.g. dataset or model (fixed by the first version).")
    var type: String

    @Option(help: "The project (default: the project in NAME, else the run's).")
    var project: String?

    @Option(help: "The entity (default: the entity in NAME, else the run's, else $RUNQL_ENTITY or your login name).")
    var entity: String?

    @Option(name: .customLong("run"), help: "The run that produced it (lineage).")
    var runReference: String?

    @Option(name: .customLong("file"), help: ArgumentHelp("A file to include (repeatable).", valueName: "path"))
    var files: [String] = []

    @Option(name: .customLong("dir"), help: ArgumentHelp("A directory to include, recursively (repeatable).", valueName: "path"))
    var directories: [String] = []

    @Option(help: "The name of the single --file or --dir inside the artifact.")
    var name: String?

    @Option(help: "A description.")
    var description: String?

    @Option(help: ArgumentHelp("A JSON object of metadata.", valueName: "json"))
    var metadata: String?

    @Option(name: .customLong("alias"), help: ArgumentHelp("An alias to move onto this version (repeatable).", valueName: "alias"))
    var aliases: [String] = []

    @Option(help: ArgumentHelp("How long the version lives before `artifact gc` may delete it: 30m, 12h, 7d, 2w.", valueName: "duration"))
    var ttl: String?

    func validate() throws {
        if files.isEmpty, directories.isEmpty { throw ValidationError("give at least one --file or --dir") }
        if name != nil, files.count + directories.count != 1 { throw ValidationError("--name needs exactly one --file or --dir") }
        if let ttl, TTL.seconds(ttl) == nil { throw ValidationError("--ttl \(ttl): write a duration such as 30m, 12h, 7d or 2w") }
    }

    func run() throws {
        let store = try storeOptions.open()
        let reference = try ArtifactReference(parsing: nameReference)
        guard case .alias("latest") = reference.selector, !nameReference.hasSuffix(":latest") else {
            throw StoreError("log takes a name without :version or :alias (add aliases with --alias)")
        }
        let runLocation = try runReference.map { try store.resolveRun($0) }
        // Where it goes: as written, else the run's project, else the one collection of that name.
        let existing = reference.project == nil && project == nil && runLocation == nil
            ? try? store.resolveArtifactName(reference) : nil
        guard let projectName = reference.project ?? project ?? runLocation?.project ?? existing?.project else {
            throw StoreError("which project? Write project/name, or give --project or --run")
        }
        let entityName = reference.entity ?? entity ?? runLocation?.entity ?? existing?.entity ?? Environment.defaultEntity
        var draft = ArtifactDraft(name: ArtifactName(entity: entityName, project: projectName, name: reference.name), type: type)
        draft.description = description
        draft.aliases = aliases
        draft.ttlSeconds = ttl.flatMap(TTL.seconds)
        draft.loggedBy = runLocation
        draft.createdAt = Environment.recordedNow
        draft.createdBy = Environment.userName
        draft.host = Environment.hostName
        draft.gitCommit = Environment.gitCommit(in: Environment.workingDirectory)
        if let metadata {
            guard case .object(let object) = try parseJSON(metadata, what: "--metadata") else {
                throw StoreError("--metadata must be a JSON object")
            }
            draft.metadata = object
        }
        for file in files {
            draft.files.append(ArtifactDraftFile(path: try name ?? Self.ownName(of: file), source: .file(file)))
        }
        for directory in directories {
            let prefix = try name ?? Self.ownName(of: directory)
            for (relative, path) in try SourceTree.files(under: directory) {
                draft.files.append(ArtifactDraftFile(path: "\(prefix)/\(relative)", source: .file(path)))
            }
        }
        let (version, created) = try store.logArtifact(draft)
        Console.output(version.reference + "\n")
        if !created {
            var note = "unchanged: identical to \(version.reference), so no new version"
            if draft.ttlSeconds != version.ttlSeconds { note += " (a version's TTL is fixed when it is logged)" }
            Console.info(note)
        }
    }

    /// The name a file or directory keeps inside the artifact: its own name (of the resolved
    /// path, so `.` is the current directory's name).
    private static func ownName(of path: String) throws -> String {
        let name = URL(fileURLWithPath: path).standardizedFileURL.lastPathComponent
        guard !name.isEmpty, name != "/", name != ".", name != ".." else {
            throw StoreError("\(path) has no name of its own to keep in the artifact; give one with --name")
        }
        return name
    }

    private func parseJSON(_ text: String, what: String) throws -> JSONValue {
        do {
            return try JSONParser.parse(text)
        } catch {
            throw StoreError("\(what): \(error)")
        }
    }
}

/// The files of a directory to log: regular files, and symlinks to files inside it. A symlink that
/// leads outside is an error, not a silent skip.
enum SourceTree {
    static func files(under directory: String) throws -> [(relative: String, path: String)] {
        let root = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw StoreError("\(directory) is not a directory")
        }
        var found: [(String, String)] = []
        try walk(root: root, relative: "", into: &found)
        return found.sorted { $0.0 < $1.0 }
    }

    private static func walk(root: String, relative: String, into found: inout [(String, String)]) throws {
        let here = relative.isEmpty ? root : "\(root)/\(relative)"
        let names = try FileManager.default.contentsOfDirectory(atPath: here).sorted()
        for name in names {
            let childRelative = relative.isEmpty ? name : "\(relative)/\(name)"
            let path = "\(root)/\(childRelative)"
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            switch attributes[.type] as? FileAttributeType {
            case .typeDirectory?:
                try walk(root: root, relative: childRelative, into: &found)
            case .typeRegular?:
                found.append((childRelative, path))
            case .typeSymbolicLink?:
                let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
                guard target.hasPrefix(root + "/") else {
                    throw StoreError("\(path) is a symlink leading outside \(root); refusing to log it")
                }
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: target, isDirectory: &isDirectory), !isDirectory.boolValue else {
                    throw StoreError("\(path) is a symlink to a directory; log that directory itself")
                }
                found.append((childRelative, target))
            default:
                throw StoreError("\(path) is neither a file nor a directory; refusing to log it")
            }
        }
    }
}

/// Durations like `30m`, `12h`, `7d`, `2w` (and `90s`).
enum TTL {
    static func seconds(_ text: String) -> Int64? {
        guard let unit = text.last, let count = Int64(text.dropLast()), count > 0 else { return nil }
        let scale: Int64
        switch unit {
        case "s": scale = 1
        case "m": scale = 60
        case "h": scale = 3600
        case "d": scale = 86_400
        case "w": scale = 604_800
        default: return nil
        }
        let (seconds, overflow) = count.multipliedReportingOverflow(by: scale)
        return overflow ? nil : seconds
    }

}

struct UseArtifact: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "use", abstract: "Record that a run consumed an artifact version (lineage), and print that version.")

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: ArgumentHelp("The version.", valueName: "ref"))
    var reference: String

    @Option(name: .customLong("run"), help: "The run that used it.")
    var runReference: String

    func run() throws {
        let store = try storeOptions.open()
        let version = try store.resolveArtifact(ArtifactReference(parsing: reference))
        try store.useArtifact(version.name, version: version.version, by: try store.resolveRun(runReference), at: Environment.recordedNow)
        Console.output(version.reference + "\n")
    }
}

struct GetArtifact: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Write a version's files into a directory, verifying every digest.",
        discussion: "Files already there with the same content are left alone; different ones are an error unless --force."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: ArgumentHelp("The version.", valueName: "ref"))
    var reference: String

    @Option(help: ArgumentHelp("Where to write (default: ./artifacts/NAME:vN).", valueName: "dir"))
    var to: String?

    @Flag(help: "Overwrite files that differ.")
    var force = false

    func run() throws {
        let store = try storeOptions.open()
        let version = try store.resolveArtifact(ArtifactReference(parsing: reference))
        let directory = to ?? "artifacts/\(version.name.name):v\(version.version)"
        try FileIO.makeDirectories(directory)
        let report = try store.materialize(version, to: directory, force: force)
        Console.output(directory + "\n")
        var line = "\(version.reference): wrote \(report.written.count) file\(report.written.count == 1 ? "" : "s")"
        if !report.unchanged.isEmpty { line += ", \(report.unchanged.count) already up to date" }
        Console.info(line)
    }
}

struct AliasArtifact: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alias",
        abstract: "Move an alias onto a version (it leaves whichever version had it).")

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: ArgumentHelp("The version.", valueName: "ref"))
    var reference: String

    @Argument(help: "The alias, e.g. staging or production.")
    var alias: String

    func run() throws {
        let store = try storeOptions.open()
        let version = try store.resolveArtifact(ArtifactReference(parsing: reference))
        let previous = try store.artifactVersions(version.name).first { $0.aliases.contains(alias) }
        try store.moveAlias(alias, to: version.name, version: version.version)
        Console.output("\(version.name):\(alias) → v\(version.version)\n")
        if let previous, previous.version != version.version { Console.info("(was on v\(previous.version))") }
    }
}

struct UnaliasArtifact: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unalias", abstract: "Take an alias off an artifact.")

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: ArgumentHelp("The artifact: [entity/][project/]name.", valueName: "name"))
    var name: String

    @Argument(help: "The alias.")
    var alias: String

    func run() throws {
        let store = try storeOptions.open()
        let collection = try store.resolveArtifactName(ArtifactReference(parsing: name))
        guard let version = try store.removeAlias(alias, from: collection) else {
            throw StoreError("\(collection) has no alias \(alias)")
        }
        Console.info("removed \(alias) from \(collection):v\(version)")
    }
}

struct ListArtifacts: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List artifacts, or the versions of one.")

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: ArgumentHelp("An artifact name: list its versions.", valueName: "name"))
    var name: String?

    func run() throws {
        let store = try storeOptions.open()
        if let name {
            let collection = try store.resolveArtifactName(ArtifactReference(parsing: name))
            let versions = try store.artifactVersions(collection)
            let rows = versions.map { version in
                [
                    "v\(version.version)", Timestamp.format(version.createdAt), String(version.files.count),
                    Self.bytes(version.size), version.aliases.joined(separator: ","),
                    version.expiresAt.map(Timestamp.format) ?? "",
                ]
            }
            Console.output(PlainTable.render(header: ["version", "created_at", "files", "size", "aliases", "expires_at"], rows: rows))
            return
        }
        var rows: [[String]] = []
        for collection in store.artifactNames() {
            let versions = try store.artifactVersions(collection)
            guard let newest = versions.last else { continue }
            let custom = versions.flatMap { version in
                version.aliases.filter { $0 != "latest" }.map { "\($0)=v\(version.version)" }
            }
            rows.append([collection.description, newest.type, String(versions.count), "v\(newest.version)", custom.joined(separator: ",")])
        }
        Console.output(PlainTable.render(header: ["artifact", "type", "versions", "latest", "aliases"], rows: rows))
        Console.info("\(rows.count) artifact\(rows.count == 1 ? "" : "s")")
    }

    static func bytes(_ count: Int64) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var value = Double(count)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }
}

struct ShowArtifact: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Print a version as JSON: metadata, files, aliases and lineage.")

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: ArgumentHelp("The version.", valueName: "ref"))
    var reference: String

    func run() throws {
        let store = try storeOptions.open()
        let version = try store.resolveArtifact(ArtifactReference(parsing: reference))
        var object: JSONObject = ["reference": .string(version.reference)]
        object["aliases"] = .array(version.aliases.map(JSONValue.string))
        object["expires_at"] = version.expiresAt.map { .string(Timestamp.format($0)) } ?? .null
        let uses = try store.artifactUses()
        object["used_by"] = .array(
            uses.filter { $0.artifact == version.name && $0.version == version.version }.map { .string($0.run.description) })
        if let run = version.loggedBy {
            object["inputs"] = .array(uses.filter { $0.run == run }.map { use in
                .string(use.artifact.map { "\($0):v\(use.version ?? 0)" } ?? use.unresolvedReference ?? "")
            })
        }
        for (key, value) in version.json where object[key] == nil { object[key] = value }
        Console.output(JSONWriter.pretty(.object(object)))
    }
}

struct VerifyArtifacts: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that every stored file matches its digest; reports damage, never repairs it (exit 1 when damaged).")

    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        let store = try storeOptions.open()
        let bar = ProgressBar("verifying", unit: "blobs")
        let result = store.verifyArtifacts { bar.update($0, of: $1) }
        bar.finish()
        for damage in result.damage { Console.error("damaged: \(damage)") }
        Console.info("checked \(result.versions) versions and \(result.blobs) blobs: \(result.damage.isEmpty ? "all intact" : "\(result.damage.count) problems")")
        if !result.damage.isEmpty { throw ExitCode(1) }
    }
}

struct CollectArtifactGarbage: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Delete versions past their TTL (never one with a custom alias), then blobs no version references.")

    @OptionGroup var storeOptions: StoreOptions

    @Flag(name: .customLong("dry-run"), help: "Say what would be deleted, delete nothing.")
    var dryRun = false

    func run() throws {
        let store = try storeOptions.open()
        let report = try store.collectGarbage(dryRun: dryRun)
        let verb = dryRun ? "would delete" : "deleted"
        for reference in report.expiredVersions { Console.output("\(verb) \(reference) (expired)\n") }
        for kept in report.keptForAlias { Console.info("kept \(kept): expired, but an alias is on it") }
        Console.info("\(verb) \(report.expiredVersions.count) expired version\(report.expiredVersions.count == 1 ? "" : "s") and \(report.blobs) unreferenced blob\(report.blobs == 1 ? "" : "s") (\(ListArtifacts.bytes(report.bytes)))")
    }
}
