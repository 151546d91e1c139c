import Foundation
import RunStore

/// The artifact tables of the index, read from the store with the runs:
///
/// - `artifacts`: one row per version (aliases a list, metadata nested JSON);
/// - `artifact_files`: one row per file of a version;
/// - `lineage`: one row per edge: a run logged a version (`kind = 'logged'`), or a run used a
///   version (`kind = 'used'`, also for references runql could not resolve);
/// - `walk(from:_:)`: every node reachable upstream or downstream of a version, for the table
///   functions `upstream('REF')` and `downstream('REF')`.
public struct ArtifactTables: Sendable {
    /// Every version, ordered by entity, project, name and version.
    public let versions: [ArtifactVersion]
    /// Every recorded use, in the order the store lists them.
    public let uses: [ArtifactUse]
    public let artifacts: IndexTable
    public let files: IndexTable
    public let lineage: IndexTable
    private let graph: LineageGraph
    private let runs: RunLookup

    /// The tables' names, as SHOW TABLES lists them.
    public static let tableNames = ["artifacts", "artifact_files", "lineage"]

    /// The columns of `artifacts`.
    public static let artifactsSchema: [(String, DataType)] = [
        ("entity", .varchar), ("project", .varchar), ("name", .varchar), ("version", .bigint), ("type", .varchar),
        ("aliases", .list(.varchar)), ("digest", .varchar), ("size", .bigint), ("file_count", .bigint), ("metadata", .object),
        ("description", .varchar), ("created_at", .timestamp), ("created_by", .varchar), ("host", .varchar),
        ("git_commit", .varchar), ("logged_by", .varchar), ("ttl", .interval), ("expires_at", .timestamp),
    ]

    /// The columns of `artifact_files`.
    public static let filesSchema: [(String, DataType)] = [
        ("entity", .varchar), ("project", .varchar), ("name", .varchar), ("version", .bigint), ("type", .varchar),
        ("path", .varchar), ("digest", .varchar), ("size", .bigint),
    ]

    /// The columns of `lineage`: the run's side, then the version's side (named as in `artifacts`).
    public static let lineageSchema: [(String, DataType)] = [
        ("kind", .varchar), ("run_entity", .varchar), ("run_project", .varchar), ("run_id", .varchar), ("run_name", .varchar),
        ("entity", .varchar), ("project", .varchar), ("name", .varchar), ("version", .bigint), ("type", .varchar),
        ("reference", .varchar), ("at", .timestamp),
    ]

    /// The columns of a lineage walk: the node, then its artifact columns (NULL for runs) and its
    /// run columns (NULL for versions).
    public static let walkSchema: [(String, DataType)] = [
        ("depth", .bigint), ("kind", .varchar), ("entity", .varchar), ("project", .varchar),
        ("name", .varchar), ("version", .bigint), ("type", .varchar), ("aliases", .list(.varchar)), ("reference", .varchar),
        ("digest", .varchar), ("size", .bigint), ("metadata", .object),
        ("run_id", .varchar), ("run_name", .varchar), ("run_state", .varchar), ("created_at", .timestamp), ("via", .varchar),
    ]

    /// Every column name of these tables and of lineage walks (for completion and result names).
    public static var columnNames: [String] {
        var seen: Set<String> = []
        return (artifactsSchema + filesSchema + lineageSchema + walkSchema).map(\.0).filter { seen.insert($0).inserted }
    }

    /// Reads every artifact version and lineage record of the store; a collection or lineage file
    /// that cannot be read is skipped with a warning.
    static func build(from store: RunStore, runs runsTable: RunsTable, warnings: inout [String]) -> ArtifactTables {
        var versions: [ArtifactVersion] = []
        for name in store.artifactNames() {
            do {
                versions += try store.artifactVersions(name)
            } catch {
                warnings.append("\(error); artifact \(name) skipped")
            }
        }
        var uses: [ArtifactUse] = []
        do {
            uses = try store.artifactUses()
        } catch {
            warnings.append("\(error); lineage of used artifacts skipped")
        }
        return ArtifactTables(versions: versions, uses: uses, runs: runsTable)
    }

    init(versions unsorted: [ArtifactVersion], uses: [ArtifactUse], runs runsTable: RunsTable) {
        let versions = unsorted.sorted { ($0.name, $0.version) < ($1.name, $1.version) }
        let runs = RunLookup(runsTable, isEmpty: versions.isEmpty && uses.isEmpty)
        let graph = LineageGraph(versions: versions, uses: uses)
        self.versions = versions
        self.uses = uses
        self.runs = runs
        self.graph = graph

        var artifacts = TableBuilder(Self.artifactsSchema)
        var files = TableBuilder(Self.filesSchema)
        var lineage = TableBuilder(Self.lineageSchema)
        for version in versions {
            var row = Self.identity(version)
            row["aliases"] = .list(version.aliases.map(Value.string))
            row["digest"] = .string(version.digest)
            row["size"] = .int(version.size)
            row["file_count"] = .int(Int64(version.files.count))
            row["metadata"] = .object(version.metadata)
            row["description"] = version.description.map(Value.string)
            row["created_at"] = Self.timestamp(version.createdAt)
            row["created_by"] = version.createdBy.map(Value.string)
            row["host"] = version.host.map(Value.string)
            row["git_commit"] = version.gitCommit.map(Value.string)
            row["logged_by"] = version.loggedBy.map { .string($0.id) }
            row["ttl"] = version.ttlSeconds.map { .interval(Interval(days: $0 / 86_400, micros: $0 % 86_400 * 1_000_000)) }
            row["expires_at"] = version.expiresAt.flatMap(Self.timestamp)
            artifacts.append(row)
            for file in version.files {
                var fileRow = Self.identity(version)
                fileRow["path"] = .string(file.path)
                fileRow["digest"] = .string(file.digest)
                fileRow["size"] = .int(file.size)
                files.append(fileRow)
            }
            if let run = version.loggedBy {
                var edge = runs.edgeColumns(run)
                for (key, value) in Self.identity(version) { edge[key] = value }
                edge["kind"] = .string("logged")
                edge["reference"] = .string(Self.reference(version.name, version.version))
                edge["at"] = Self.timestamp(version.createdAt)
                lineage.append(edge)
            }
        }
        for use in uses {
            var edge = runs.edgeColumns(use.run)
            edge["kind"] = .string("used")
            if let name = use.artifact, let number = use.version {
                edge["entity"] = .string(name.entity)
                edge["project"] = .string(name.project)
                edge["name"] = .string(name.name)
                edge["version"] = .int(Int64(number))
                edge["type"] = graph.row(of: name, number).map { .string(versions[$0].type) }
                edge["reference"] = .string(Self.reference(name, number))
            } else {
                edge["reference"] = use.unresolvedReference.map(Value.string)
            }
            edge["at"] = use.usedAt.flatMap(Self.timestamp)
            lineage.append(edge)
        }
        self.artifacts = artifacts.finish(name: "artifacts")
        self.files = files.finish(name: "artifact_files")
        self.lineage = lineage.finish(name: "lineage")
    }

    /// The table named `name` (`artifacts`, `artifact_files` or `lineage`).
    public func table(named name: String) -> IndexTable? {
        switch name {
        case "artifacts": return artifacts
        case "artifact_files": return files
        case "lineage": return lineage
        default: return nil
        }
    }

    // MARK: Resolving and walking

    /// The version a reference means, as `RunStore.resolveArtifact` resolves it in the store, but
    /// over the versions of this index (so that a walk starts from a version the index holds).
    public func resolve(_ reference: ArtifactReference) throws -> ArtifactVersion {
        let name = try reference.matchingName(among: Set(versions.map(\.name)).sorted(), in: "the store")
        return try reference.select(from: versions.filter { $0.name == name }, of: name)
    }

    /// Which way a walk follows lineage.
    public enum Direction: String, Sendable {
        /// What a version was built from: the run that logged it, the versions that run used, the
        /// runs that logged those, …
        case upstream
        /// What was built from a version: the runs that used it, the versions those runs logged, …
        case downstream
    }

    /// Every node reachable from `start` (not `start` itself), nearest first: breadth-first, so
    /// `depth` is the length of the shortest path; each node appears once, so cycles end.
    public func walk(from start: ArtifactVersion, _ direction: Direction) -> IndexTable {
        var table = TableBuilder(Self.walkSchema)
        guard let startRow = graph.row(of: start.name, start.version) else { return table.finish(name: "\(direction.rawValue)(\(start.reference))") }
        let origin = LineageGraph.Node.version(startRow)
        var seen: Set<LineageGraph.Node> = [origin]
        var frontier: [(node: LineageGraph.Node, via: LineageGraph.Node)] = []
        for next in graph.neighbours(of: origin, direction) where seen.insert(next).inserted { frontier.append((next, origin)) }
        var depth: Int64 = 1
        while !frontier.isEmpty {
            var following: [(node: LineageGraph.Node, via: LineageGraph.Node)] = []
            for (node, via) in frontier {
                var row = nodeColumns(node)
                row["depth"] = .int(depth)
                row["via"] = label(via)
                table.append(row)
                for next in graph.neighbours(of: node, direction) where seen.insert(next).inserted { following.append((next, node)) }
            }
            frontier = following
            depth += 1
        }
        return table.finish(name: "\(direction.rawValue)(\(start.reference))")
    }

    private func nodeColumns(_ node: LineageGraph.Node) -> [String: Value] {
        switch node {
        case .version(let row):
            let version = versions[row]
            var columns = Self.identity(version)
            columns["kind"] = .string("artifact")
            columns["aliases"] = .list(version.aliases.map(Value.string))
            columns["reference"] = .string(Self.reference(version.name, version.version))
            columns["digest"] = .string(version.digest)
            columns["size"] = .int(version.size)
            columns["metadata"] = .object(version.metadata)
            columns["created_at"] = Self.timestamp(version.createdAt)
            return columns
        case .run(let location):
            var columns: [String: Value] = [
                "kind": .string("run"), "entity": .string(location.entity), "project": .string(location.project),
                "run_id": .string(location.id),
            ]
            if let row = runs.row(location) {
                columns["run_name"] = runs.name(row)
                columns["run_state"] = runs.state(row)
                columns["created_at"] = runs.createdAt(row)
            }
            return columns
        }
    }

    private func label(_ node: LineageGraph.Node) -> Value {
        switch node {
        case .version(let row): return .string(Self.reference(versions[row].name, versions[row].version))
        case .run(let location): return .string(location.id)
        }
    }

    // MARK: Helpers

    /// The columns that name a version: entity, project, name, version, type.
    private static func identity(_ version: ArtifactVersion) -> [String: Value] {
        [
            "entity": .string(version.name.entity), "project": .string(version.name.project), "name": .string(version.name.name),
            "version": .int(Int64(version.version)), "type": .string(version.type),
        ]
    }

    /// `name:vN`, as a user writes it.
    private static func reference(_ name: ArtifactName, _ version: Int) -> String {
        "\(name.name):v\(version)"
    }

    private static func timestamp(_ seconds: Double) -> Value? {
        Int64(roundingChecked: seconds * 1e6).map(Value.timestamp)
    }
}

/// The runs of the index by location, for the run columns of lineage rows.
private struct RunLookup: Sendable {
    private let rows: [RunLocation: Int]
    private let names: Column?
    private let states: Column?
    private let created: Column?

    /// The rows of the runs lineage names; a store without artifacts reads no runs column at all.
    init(_ runs: RunsTable, isEmpty: Bool) {
        guard !isEmpty else {
            (rows, names, states, created) = ([:], nil, nil, nil)
            return
        }
        var rows: [RunLocation: Int] = [:]
        if let entities = runs.builtin("entity"), let projects = runs.builtin("project") {
            for (row, id) in runs.ids.enumerated() {
                guard case .string(let entity) = entities.value(at: row), case .string(let project) = projects.value(at: row) else { continue }
                rows[RunLocation(entity: entity, project: project, id: id)] = row
            }
        }
        self.rows = rows
        names = runs.builtin("name")
        states = runs.builtin("state")
        created = runs.builtin("created_at")
    }

    func row(_ location: RunLocation) -> Int? { rows[location] }
    func name(_ row: Int) -> Value { names?.value(at: row) ?? .null }
    func state(_ row: Int) -> Value { states?.value(at: row) ?? .null }
    func createdAt(_ row: Int) -> Value { created?.value(at: row) ?? .null }

    /// The run's side of a lineage edge (its name is NULL when the run is not in the store).
    func edgeColumns(_ location: RunLocation) -> [String: Value] {
        var columns: [String: Value] = [
            "run_entity": .string(location.entity), "run_project": .string(location.project), "run_id": .string(location.id),
        ]
        if let row = rows[location] { columns["run_name"] = name(row) }
        return columns
    }
}

/// Lineage as a graph: versions and runs are nodes; a run points to the versions it logged, and
/// a version to the runs that used it.
private struct LineageGraph: Sendable {
    enum Node: Hashable, Sendable {
        /// A version, by its position in `ArtifactTables.versions`.
        case version(Int)
        case run(RunLocation)
    }

    private struct VersionKey: Hashable {
        var name: ArtifactName
        var version: Int
    }

    private let rows: [VersionKey: Int]
    /// For each version, the run that logged it.
    private let loggedBy: [Int: RunLocation]
    /// For each run, the versions it logged, oldest first.
    private let logged: [RunLocation: [Int]]
    /// For each version, the runs that used it, in the order recorded.
    private let usedBy: [Int: [RunLocation]]
    /// For each run, the versions it used, in the order recorded.
    private let used: [RunLocation: [Int]]

    init(versions: [ArtifactVersion], uses: [ArtifactUse]) {
        var rows: [VersionKey: Int] = [:]
        var loggedBy: [Int: RunLocation] = [:]
        var logged: [RunLocation: [Int]] = [:]
        for (row, version) in versions.enumerated() {
            rows[VersionKey(name: version.name, version: version.version)] = row
            if let run = version.loggedBy {
                loggedBy[row] = run
                logged[run, default: []].append(row)
            }
        }
        var usedBy: [Int: [RunLocation]] = [:]
        var used: [RunLocation: [Int]] = [:]
        for use in uses {
            guard let name = use.artifact, let number = use.version, let row = rows[VersionKey(name: name, version: number)] else { continue }
            if !(usedBy[row]?.contains(use.run) ?? false) { usedBy[row, default: []].append(use.run) }
            if !(used[use.run]?.contains(row) ?? false) { used[use.run, default: []].append(row) }
        }
        self.rows = rows
        self.loggedBy = loggedBy
        self.logged = logged
        self.usedBy = usedBy
        self.used = used
    }

    func row(of name: ArtifactName, _ version: Int) -> Int? {
        rows[VersionKey(name: name, version: version)]
    }

    /// The nodes one step away: upstream, what `node` came from; downstream, what came from it.
    func neighbours(of node: Node, _ direction: ArtifactTables.Direction) -> [Node] {
        switch (node, direction) {
        case (.version(let row), .upstream): return loggedBy[row].map { [.run($0)] } ?? []
        case (.run(let run), .upstream): return (used[run] ?? []).map(Node.version)
        case (.version(let row), .downstream): return (usedBy[row] ?? []).map(Node.run)
        case (.run(let run), .downstream): return (logged[run] ?? []).map(Node.version)
        }
    }
}
