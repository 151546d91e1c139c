import ColumnIndex
import Foundation
import QuerySyntax
import RunStore

/// The query engine: RunQL text in, results out.
///
/// ```
/// text ──Parser──▶ [Statement] ──Binder(index)──▶ LogicalPlan ──Executor──▶ QueryResult
/// ```
public final class Engine {
    public private(set) var index: RunIndex
    /// The store whose index cache `index` came from: rebuilt from it if the cache turns out damaged.
    private let cachedStore: RunStore?

    public init(index: RunIndex) {
        self.index = index
        cachedStore = nil
    }

    /// Opens the store and indexes it (reading every run; no cache involved).
    public convenience init(store: RunStore) {
        self.init(index: RunIndex.build(from: store))
    }

    /// Indexes the store through its index cache (`IndexCache`): loaded when fresh, refreshed
    /// when some runs changed, built otherwise. `progress` is told runs read of runs to read.
    public init(cachedIndexOf store: RunStore, progress: ((Int, Int) -> Void)? = nil) {
        index = IndexCache.index(of: store, progress: progress)
        cachedStore = store
    }

    /// The statements of a script, or the first syntax error.
    public func parse(_ source: String) throws -> [Statement] {
        try Parser.parse(source)
    }

    /// Runs one statement of `source` (the text it was parsed from, for result names and errors).
    public func execute(_ statement: Statement, source: String, isCancelled: @escaping @Sendable () -> Bool = { false }) throws -> QueryResult {
        // Binding and evaluation recurse over the expression tree (up to the parser's depth limit):
        // run them on a thread whose stack is large enough for the deepest tree in any build.
        let work = LargeStackWork { try self.executeHere(statement, source: source, isCancelled: isCancelled) }
        let outcome = Result { try work.run() }
        // A part of the index cache read during this statement was damaged: its answer is not
        // to be trusted. Rebuild the index from the store and answer again.
        if index.isDamaged, let cachedStore {
            index = IndexCache.rebuild(cachedStore)
            return try execute(statement, source: source, isCancelled: isCancelled)
        }
        return try outcome.get()
    }

    private func executeHere(_ statement: Statement, source: String, isCancelled: @escaping @Sendable () -> Bool) throws -> QueryResult {
        let executor = Executor(index: index, isCancelled: isCancelled)
        switch statement {
        case .query(let query):
            let bound = try Binder(index: index, source: source).bind(query, outer: nil)
            let relation = try executor.execute(bound.plan)
            return QueryResult(names: bound.names, columns: relation.columns, rowCount: relation.count)
        case .explain(let query, _):
            let bound = try Binder(index: index, source: source).bind(query, outer: nil)
            let lines = Explain.render(bound.plan)
            return QueryResult(names: ["explain"], columns: [Column.from(lines.map(Value.string), type: .varchar)], rowCount: lines.count)
        case .showTables:
            let tables = Self.tableNames
            return QueryResult(names: ["name"], columns: [Column.from(tables.map(Value.string), type: .varchar)], rowCount: tables.count)
        case .describe(let name, _):
            return try describe(name)
        case .showKeys(let section, _):
            return try showKeys(section)
        }
    }

    /// The tables SHOW TABLES lists, sorted.
    static let tableNames = (["runs", "history"] + ArtifactTables.tableNames).sorted()

    /// Parses and runs every statement of `source`, returning the last result.
    @discardableResult
    public func run(_ source: String) throws -> QueryResult {
        var last = QueryResult(names: [], columns: [], rowCount: 0)
        for statement in try parse(source) { last = try execute(statement, source: source) }
        return last
    }

    private func describe(_ name: Name) throws -> QueryResult {
        var rows: [(String, String)] = []
        switch name.text.lowercased() {
        case "runs":
            for (column, values) in index.runs.builtins { rows.append((column, values.type.description)) }
        case "history":
            for (column, values) in index.history.columns { rows.append((column, values.type.description)) }
        case "upstream", "downstream":
            // A lineage walk's columns, whatever version it starts from.
            for (column, type) in ArtifactTables.walkSchema { rows.append((column, type.description)) }
        default:
            guard let table = index.artifacts.table(named: name.text.lowercased()) else {
                throw Diagnostic(.catalog, "Table with name \(name.text) does not exist!", at: name.span,
                                 candidates: Suggest.candidates(for: name.text, among: Self.tableNames))
            }
            for (column, values) in table.columns { rows.append((column, values.type.description)) }
        }
        return QueryResult(
            names: ["column_name", "column_type"],
            columns: [Column.from(rows.map { Value.string($0.0) }, type: .varchar), Column.from(rows.map { Value.string($0.1) }, type: .varchar)],
            rowCount: rows.count)
    }

    private func showKeys(_ section: Name?) throws -> QueryResult {
        // For metadata, `runs` counts the artifact versions that hold the key.
        let sections: [(String, KeyCatalog)] = [
            ("config", index.runs.configKeys), ("summary", index.runs.summaryKeys), ("history", index.history.keys),
            ("metadata", index.artifacts.artifacts.keys(of: "metadata") ?? KeyCatalog()),
        ]
        let chosen: [(String, KeyCatalog)]
        if let section {
            chosen = sections.filter { $0.0 == section.text.lowercased() }
            if chosen.isEmpty {
                throw Diagnostic(.parser, "SHOW KEYS takes config, summary, history or metadata, not \(section.text)", at: section.span)
            }
        } else {
            chosen = sections
        }
        var rows: [[Value]] = []
        for (name, catalog) in chosen {
            for entry in catalog.sorted {
                let types = entry.types.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
                rows.append([.string(name), .string(entry.path.map(Binder.quoteIfNeeded).joined(separator: ".")), .int(Int64(entry.runs)), .string(types)])
            }
        }
        let names = ["section", "key", "runs", "types"]
        let columns = names.indices.map { columnIndex in Column.from(rows.map { $0[columnIndex] }) }
        return QueryResult(names: names, columns: columns, rowCount: rows.count)
    }
}

/// The names a user can type, for completion in the shell.
public struct Vocabulary: Sendable {
    public var tables: [String]
    public var runsColumns: [String]
    public var historyColumns: [String]
    /// The columns of `artifacts`, `artifact_files`, `lineage` and the lineage walks.
    public var artifactColumns: [String]
    /// The table functions of FROM (`upstream`, `downstream`).
    public var tableFunctions: [String]
    /// `config.model.arch`, `summary."val/f1"`: every key path as it is written.
    public var keyPaths: [String]
    /// `metadata.data.rows`: every key path of the artifact versions' metadata.
    public var metadataPaths: [String]
    /// Keys a bare name finds: summary and config keys, quoted where needed (`"val/f1"`), their
    /// normalised forms (`val_f1`), and history keys.
    public var bareKeys: [String]
    public var functions: [String]
}

extension Engine {
    public var vocabulary: Vocabulary {
        let runs = index.runs
        let paths = runs.configKeys.entries.map { "config." + $0.path.map(Binder.quoteIfNeeded).joined(separator: ".") }
            + runs.summaryKeys.entries.map { "summary." + $0.path.map(Binder.quoteIfNeeded).joined(separator: ".") }
        let topLevel = (runs.summaryKeys.entries + runs.configKeys.entries).filter { $0.path.count == 1 }.map { $0.path[0] }
        let metadataPaths = index.artifacts.artifacts.objectKeys.flatMap { object in
            object.keys.entries.map { object.name + "." + $0.path.map(Binder.quoteIfNeeded).joined(separator: ".") }
        }
        let historyKeys = index.history.keys.entries.map { $0.path[0] }
        return Vocabulary(
            tables: Self.tableNames,
            runsColumns: Binder.runsBuiltins,
            historyColumns: Binder.historyBuiltins,
            artifactColumns: ArtifactTables.columnNames,
            tableFunctions: [ArtifactTables.Direction.upstream.rawValue, ArtifactTables.Direction.downstream.rawValue],
            keyPaths: paths,
            metadataPaths: metadataPaths,
            bareKeys: (topLevel + historyKeys).flatMap { [Binder.quoteIfNeeded($0), Binder.normalise($0)] },
            functions: Functions.names + AggregateFunction.names + WindowFunction.names)
    }
}

/// A result: named columns of equal length.
public struct QueryResult: Sendable {
    public let names: [String]
    public let columns: [Column]
    public let rowCount: Int

    public init(names: [String], columns: [Column], rowCount: Int) {
        self.names = names
        self.columns = columns
        self.rowCount = rowCount
    }

    public func value(row: Int, column: Int) -> Value {
        columns[column].value(at: row)
    }
}

/// Runs a closure on a thread with a 512 MiB stack (address space, committed only as used) and waits for it.
private final class LargeStackWork<Result>: @unchecked Sendable {
    private let body: () throws -> Result
    private var outcome: Swift.Result<Result, any Error>?
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping () throws -> Result) {
        self.body = body
    }

    func run() throws -> Result {
        let thread = Thread { [self] in
            outcome = Swift.Result { try body() }
            done.signal()
        }
        thread.stackSize = 512 << 20
        thread.start()
        done.wait()
        guard let outcome else { throw Diagnostic(.interrupted, "the query thread ended without a result") }
        return try outcome.get()
    }
}
