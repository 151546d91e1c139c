#if canImport(Glibc)
import Glibc
#endif

/// A runql store on disk: the library API the CLI, the importers and the tests write and read through.
///
/// Every write keeps the store readable at every instant: small files are replaced atomically,
/// history lines are appended whole under an advisory lock, and a new run appears in one rename.
/// See `docs/STORE.md` for the format.
public struct RunStore: Sendable {
    public let layout: StoreLayout
    /// Whether each small-file write is fsynced before it is renamed into place. Bulk writers
    /// (importers) turn it off and call `syncToDisk()` once at the end instead.
    public var syncEachWrite = true

    public var root: String { layout.root }

    private init(root: String) {
        layout = StoreLayout(root: root)
    }

    /// Where the store is: `--store PATH`, else `$RUNQL_STORE`, else `./.runql`.
    public static func location(explicit: String?, environment: [String: String]) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let fromEnvironment = environment["RUNQL_STORE"], !fromEnvironment.isEmpty { return fromEnvironment }
        return ".runql"
    }

    /// Creates an empty store at `path` (the directory may exist, but must not hold a store already).
    @discardableResult
    public static func create(at path: String) throws -> RunStore {
        let store = RunStore(root: path)
        if FileIO.exists(store.layout.marker) {
            throw StoreError("a runql store already exists at \(path)")
        }
        if FileIO.exists(path), !FileIO.isDirectory(path) {
            throw StoreError("cannot create a store at \(path): it is a file")
        }
        try FileIO.makeDirectories(store.layout.entities)
        try FileIO.makeDirectories(store.layout.temporary)
        let marker: JSONValue = ["format": "runql-store", "version": .int(StoreLayout.formatVersion)]
        try FileIO.writeAtomically(JSONWriter.pretty(marker), to: store.layout.marker)
        return store
    }

    /// Opens the store at `path`, checking that it is one and that this runql reads its version.
    public static func open(at path: String) throws -> RunStore {
        let store = RunStore(root: path)
        guard let marker = try readJSONObject(store.layout.marker) else {
            if FileIO.isDirectory(path) {
                throw StoreError("\(path) is not a runql store (it has no \(StoreLayout.markerFile)); create one with `runql init \(path)`")
            }
            throw StoreError("no runql store at \(path); create one with `runql init \(path)`, or point to one with --store PATH or $RUNQL_STORE")
        }
        guard marker["format"] == "runql-store", let version = marker["version"]?.integerValue else {
            throw StoreError("\(store.layout.marker) does not describe a runql store")
        }
        guard version <= StoreLayout.formatVersion else {
            throw StoreError("\(path) is a version \(version) store; this runql reads versions up to \(StoreLayout.formatVersion)")
        }
        return store
    }

    // MARK: Finding runs

    /// Every run in the store (optionally of one entity and/or project), in path order.
    public func runLocations(entity: String? = nil, project: String? = nil) -> [RunLocation] {
        var locations: [RunLocation] = []
        let entities = entity.map { [StoreLayout.encode($0)] } ?? FileIO.list(layout.entities)
        for entityComponent in entities {
            guard let entityName = StoreLayout.decode(entityComponent) else { continue }
            let projects = project.map { [StoreLayout.encode($0)] } ?? FileIO.list("\(layout.entities)/\(entityComponent)")
            for projectComponent in projects {
                guard let projectName = StoreLayout.decode(projectComponent) else { continue }
                for runComponent in FileIO.list(layout.runs(entityName, projectName)) {
                    guard let id = StoreLayout.decode(runComponent) else { continue }
                    locations.append(RunLocation(entity: entityName, project: projectName, id: id))
                }
            }
        }
        return locations
    }

    public func exists(_ location: RunLocation) -> Bool {
        FileIO.exists(layout.runFile(location, .metadata))
    }

    /// The run a user means by `RUN`: an id, or `entity/project/id` when the id alone is ambiguous.
    public func resolveRun(_ reference: String) throws -> RunLocation {
        let parts = reference.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 3, parts.allSatisfy({ !$0.isEmpty }) {
            let location = RunLocation(entity: parts[0], project: parts[1], id: parts[2])
            guard exists(location) else { throw StoreError("no run \(reference) in the store at \(root)") }
            return location
        }
        guard parts.count == 1, !reference.isEmpty else {
            throw StoreError("\"\(reference)\" is not a run reference; write a run id or entity/project/id")
        }
        var matches: [RunLocation] = []
        for entityComponent in FileIO.list(layout.entities) {
            guard let entityName = StoreLayout.decode(entityComponent) else { continue }
            for projectComponent in FileIO.list("\(layout.entities)/\(entityComponent)") {
                guard let projectName = StoreLayout.decode(projectComponent) else { continue }
                let candidate = RunLocation(entity: entityName, project: projectName, id: reference)
                if exists(candidate) { matches.append(candidate) }
            }
        }
        switch matches.count {
        case 0: throw StoreError("no run with id \(reference) in the store at \(root)")
        case 1: return matches[0]
        default:
            throw StoreError("run id \(reference) is ambiguous; write one of: \(matches.map(\.description).joined(separator: ", "))")
        }
    }

    /// Flushes everything written so far to disk (`sync`), for writers that did not sync each write.
    public func syncToDisk() {
        sync()
    }

    /// A number that changes when any run is added, removed or written (sizes and modification
    /// times of every run's files): a cheap way for a long-lived reader to notice new data.
    public func fingerprint() -> Int {
        var hasher = Hasher()
        for location in runLocations() {
            hasher.combine(location)
            for file in [RunFile.metadata, .config, .summary, .history] {
                var info = stat()
                guard stat(layout.runFile(location, file), &info) == 0 else {
                    hasher.combine(-1)
                    continue
                }
                hasher.combine(info.st_size)
                hasher.combine(info.st_mtim.tv_sec)
                hasher.combine(info.st_mtim.tv_nsec)
            }
        }
        return hasher.finalize()
    }

    // MARK: Run identifiers

    private static let idAlphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)

    /// A fresh run id: 8 lowercase letters and digits.
    public static func makeRunID() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<8).map { _ in idAlphabet[Int(generator.next(upperBound: UInt64(idAlphabet.count)))] }
        return String(decoding: bytes, as: UTF8.self)
    }
}
