import Foundation
import ColumnIndex
import QuerySyntax

/// Name resolution, exactly as PRODUCT.md §4 says:
/// - `t.x` looks in the table named or aliased `t`; `run.x` in `history` reaches the run's columns;
/// - `config.a.b` walks nested config keys, `summary."val/f1"` names a key with special characters,
///   `config."a.b"` is the literal key `a.b`;
/// - a bare name in `runs` is a built-in column, else a summary key, else a config key, else the one
///   key whose normalised form (lowercase, non-alphanumerics as `_`) matches (`val_f1` → `val/f1`);
/// - a bare name in `history` is a built-in column or a history key, found the same way;
/// - unquoted names match case-insensitively (an exact match wins), quoted names exactly;
/// - a name matching in several places is an error listing them; a name matching nowhere is an
///   error with the nearest names as candidates.
extension Binder {
    static let runsBuiltins = [
        "id", "name", "entity", "project", "state", "group", "job_type", "tags", "notes", "user", "host", "created_at",
        "updated_at", "runtime", "exit_code", "git_commit", "command", "cwd", "config", "summary",
    ]
    static let historyBuiltins = ["run_id", "_step", "_timestamp", "_runtime"]
    /// Every built-in column name of every table, as a result column is named after it.
    static let builtinColumnNames = runsBuiltins + historyBuiltins + ArtifactTables.columnNames

    /// A resolved name: its slot and the column name it gives a result.
    struct Resolved {
        var slot: ColumnSlot
        var name: String
    }

    func resolveColumn(_ path: [Name], in scope: Scope, span: SourceSpan) throws -> Resolved {
        if let resolved = try resolveLocally(path, in: scope, span: span) { return resolved }
        if let outer = scope.parent, (try? resolveLocally(path, in: outer, span: span)) ?? nil != nil {
            throw Diagnostic(.binder, "\(describe(path)) refers to the outer query here", at: span)
        }
        throw notFound(path, in: scope, span: span)
    }

    /// A column reference in an expression: of this query, or (in a subquery) of the query
    /// around it, which makes the subquery correlated.
    func bindReference(_ path: [Name], in scope: Scope, span: SourceSpan) throws -> BoundExpr {
        if let resolved = try resolveLocally(path, in: scope, span: span) { return .column(resolved.slot) }
        if let parent = scope.parent, let resolved = try resolveLocally(path, in: parent, span: span) {
            guard !correlation.isEmpty else { throw notFound(path, in: scope, span: span) }
            let reference = OuterReference(slot: resolved.slot)
            correlation[correlation.count - 1].append(reference)
            return .outer(reference)
        }
        // SQL's niladic functions, written without parentheses.
        if path.count == 1, !path[0].quoted, ["current_timestamp", "current_date"].contains(path[0].text.lowercased()), let now = Functions.lookup("now") {
            let call = BoundExpr.call(now, [], span: span)
            return path[0].text.lowercased() == "current_date" ? .call(Functions.lookup("date_trunc") ?? now, [.literal(.string("day")), call], span: span) : call
        }
        var outer = scope.parent?.parent
        while let ancestor = outer {
            if (try? resolveLocally(path, in: ancestor, span: span)) ?? nil != nil {
                throw Diagnostic(.notImplemented, "a subquery may refer to the query just around it, not further out (\(describe(path)))", at: span)
            }
            outer = ancestor.parent
        }
        if let alias = selectAlias(path) { return alias }
        throw notFound(path, in: scope, span: span)
    }

    private func resolveLocally(_ path: [Name], in scope: Scope, span: SourceSpan) throws -> Resolved? {
        guard let first = path.first else { return nil }
        // A qualified name: the first part names a table.
        if path.count > 1 {
            let qualified = scope.tables.filter { matches(first, $0.name) }
            if qualified.count > 1 {
                throw Diagnostic(.binder, "table name \"\(first.text)\" is ambiguous", at: first.span)
            }
            if let table = qualified.first {
                guard let resolved = try resolve(Array(path.dropFirst()), in: table, span: span) else {
                    throw notFound(Array(path.dropFirst()), in: Scope(tables: [table], parent: nil), span: span, table: table.name)
                }
                return resolved
            }
        }
        var found: [(TableBinding, Resolved)] = []
        for table in scope.tables {
            if let resolved = try resolve(path, in: table, span: span) { found.append((table, resolved)) }
        }
        if found.count > 1 { found.removeAll { scope.isMergedAway($0.1.slot) } }
        if found.count > 1 {
            throw Diagnostic(.binder, "Ambiguous reference to column name \"\(describe(path))\" (use: \(found.map { "\"\($0.0.name).\(describe(path))\"" }.joined(separator: " or ")))", at: span)
        }
        return found.first?.1
    }

    /// Resolves a path within one table, or nil when the table has no such column.
    func resolve(_ path: [Name], in table: TableBinding, span: SourceSpan) throws -> Resolved? {
        guard let first = path.first else { return nil }
        switch table.kind {
        case .derived:
            guard path.count == 1 else { return nil }
            let positions = table.fieldNames.indices.filter { matches(first, table.fieldNames[$0]) }
            let exact = positions.filter { table.fieldNames[$0] == first.text }
            let chosen = exact.count == 1 ? exact : positions
            if chosen.count > 1 {
                throw Diagnostic(.binder, "Ambiguous reference to column name \"\(first.text)\" in \(table.name)", at: span)
            }
            guard let position = chosen.first else { return nil }
            return Resolved(slot: table.slots[position], name: table.fieldNames[position])
        case .runs:
            guard let field = try resolveRunsField(path, span: span) else { return nil }
            return Resolved(slot: table.slot(for: field.field, name: field.name), name: field.name)
        case .history:
            if path.count > 1, matches(first, "run") {
                guard let inner = try resolveRunsField(Array(path.dropFirst()), span: span) else {
                    throw notFound(Array(path.dropFirst()), inRuns: true, span: span, prefix: "run.")
                }
                return Resolved(slot: table.slot(for: .run(inner.field), name: inner.name), name: inner.name)
            }
            guard path.count == 1 else { return nil }
            if let builtin = Self.historyBuiltins.first(where: { matches(first, $0) }) {
                return Resolved(slot: table.slot(for: .builtin(builtin), name: builtin), name: builtin)
            }
            let keys = index.history.keys.entries.map { $0.path[0] }
            guard let key = try matchKey(first, among: keys, span: span) else { return nil }
            return Resolved(slot: table.slot(for: .metric(key), name: first.quoted ? key : first.text), name: first.quoted ? key : first.text)
        case .table(let indexTable):
            // A column, or a key path inside a JSON column (`metadata.data.rows`); bare names are
            // columns only, so metadata keys never shadow run keys in a join.
            if path.count == 1, let column = indexTable.columns.first(where: { matches(first, $0.name) }) {
                return Resolved(slot: table.slot(for: .builtin(column.name), name: column.name), name: column.name)
            }
            guard path.count > 1, let object = indexTable.objectKeys.first(where: { matches(first, $0.name) }) else { return nil }
            let keyPath = try resolveKeyPath(Array(path.dropFirst()), in: object.keys, section: object.name, holder: "artifact version", span: span)
            let name = path.last.map { $0.quoted ? $0.text : keyPath.last ?? $0.text } ?? ""
            return Resolved(slot: table.slot(for: .nested(object.name, keyPath), name: name), name: name)
        }
    }

    /// A field of `runs`: built-in column, config or summary path, or a bare key.
    func resolveRunsField(_ path: [Name], span: SourceSpan) throws -> (field: ScanField, name: String)? {
        guard let first = path.first else { return nil }
        if path.count == 1, let builtin = Self.runsBuiltins.first(where: { matches(first, $0) }) {
            return (.builtin(builtin), builtin)
        }
        if path.count > 1, matches(first, "config") || matches(first, "summary") {
            let isConfig = matches(first, "config")
            let catalog = isConfig ? index.runs.configKeys : index.runs.summaryKeys
            let keyPath = try resolveKeyPath(Array(path.dropFirst()), in: catalog, section: isConfig ? "config" : "summary", holder: "run", span: span)
            let name = path.last.map { $0.quoted ? $0.text : keyPath.last ?? $0.text } ?? ""
            return (isConfig ? .config(keyPath) : .summary(keyPath), name)
        }
        guard path.count == 1 else { return nil }
        let summaryKeys = index.runs.summaryKeys.entries.filter { $0.path.count == 1 }.map { $0.path[0] }
        if let key = try matchKey(first, among: summaryKeys, span: span, normalised: false) {
            return (.summary([key]), first.quoted ? key : first.text)
        }
        let configKeys = index.runs.configKeys.entries.filter { $0.path.count == 1 }.map { $0.path[0] }
        if let key = try matchKey(first, among: configKeys, span: span, normalised: false) {
            return (.config([key]), first.quoted ? key : first.text)
        }
        // The one key, anywhere in summary or config, whose normalised form matches (unquoted names only).
        if first.quoted { return nil }
        let target = Self.normalise(first.text)
        var candidates: [(ScanField, String)] = []
        for entry in index.runs.summaryKeys.entries where Self.normalise(entry.path.joined(separator: "_")) == target {
            candidates.append((.summary(entry.path), "summary." + entry.path.map(Self.quoteIfNeeded).joined(separator: ".")))
        }
        for entry in index.runs.configKeys.entries where Self.normalise(entry.path.joined(separator: "_")) == target {
            candidates.append((.config(entry.path), "config." + entry.path.map(Self.quoteIfNeeded).joined(separator: ".")))
        }
        if candidates.count > 1 {
            throw Diagnostic(.binder, "Ambiguous name \"\(first.text)\": it could be \(candidates.map(\.1).joined(separator: " or ")); write the one you mean", at: span)
        }
        return candidates.first.map { ($0.0, first.text) }
    }

    /// A key path below `config` or `summary`: each step matches a key (exactly, or without case
    /// when unquoted and unambiguous).
    private func resolveKeyPath(_ names: [Name], in catalog: KeyCatalog, section: String, holder: String, span: SourceSpan) throws -> [String] {
        var resolved: [String] = []
        for name in names {
            let children = catalog.entries.filter { $0.path.count == resolved.count + 1 && Array($0.path.dropLast()) == resolved }.map { $0.path.last ?? "" }
            if let exact = children.first(where: { $0 == name.text }) {
                resolved.append(exact)
                continue
            }
            let folded = name.quoted ? [] : children.filter { $0.lowercased() == name.text.lowercased() }
            if folded.count == 1 {
                resolved.append(folded[0])
                continue
            }
            let written = section + "." + (resolved + [name.text]).map(Self.quoteIfNeeded).joined(separator: ".")
            var suggestions = catalog.entries.map { section + "." + $0.path.map(Self.quoteIfNeeded).joined(separator: ".") }
            // `config.a.b` where the key `a.b` exists: suggest quoting it.
            let remaining = names.dropFirst(resolved.count).map(\.text).joined(separator: ".")
            if children.contains(remaining) {
                suggestions = [section + "." + (resolved + [remaining]).map(Self.quoteIfNeeded).joined(separator: ".")]
            }
            throw Diagnostic(.binder, "Referenced \(section) key \"\(written)\" not found in any \(holder)", at: span,
                             candidates: Suggest.candidates(for: written, among: suggestions))
        }
        return resolved
    }

    /// The key `name` means among `keys`: exact, else case-insensitive (unquoted names), else the
    /// unique normalised match when `normalised`.
    private func matchKey(_ name: Name, among keys: [String], span: SourceSpan, normalised: Bool = true) throws -> String? {
        if keys.contains(name.text) { return name.text }
        if name.quoted { return nil }
        let folded = keys.filter { $0.lowercased() == name.text.lowercased() }
        if folded.count == 1 { return folded[0] }
        if folded.count > 1 {
            throw Diagnostic(.binder, "Ambiguous name \"\(name.text)\": it could be \(folded.map { "\"\($0)\"" }.joined(separator: " or "))", at: span)
        }
        guard normalised else { return nil }
        let target = Self.normalise(name.text)
        let matching = keys.filter { Self.normalise($0) == target }
        if matching.count > 1 {
            throw Diagnostic(.binder, "Ambiguous name \"\(name.text)\": it could be \(matching.map { "\"\($0)\"" }.joined(separator: " or "))", at: span)
        }
        return matching.first
    }

    func matches(_ name: Name, _ candidate: String) -> Bool {
        name.quoted ? name.text == candidate : name.text.lowercased() == candidate.lowercased()
    }

    static func normalise(_ text: String) -> String {
        String(text.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    static func quoteIfNeeded(_ key: String) -> String {
        let plain = !key.isEmpty && key.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" } && !(key.first?.isNumber ?? true)
        return plain ? key : "\"" + key.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    func describe(_ path: [Name]) -> String {
        path.map { $0.quoted ? "\"\($0.text)\"" : $0.text }.joined(separator: ".")
    }

    /// Every name a user could have meant, for "did you mean".
    private func knownNames(in scope: Scope) -> [String] {
        var names: [String] = []
        for table in scope.tables {
            switch table.kind {
            case .derived: names += table.fieldNames
            case .runs: names += runsNames()
            case .history:
                names += Self.historyBuiltins + index.history.keys.entries.map { Self.quoteIfNeeded($0.path[0]) }
                names += index.history.keys.entries.map { Self.normalise($0.path[0]) } + runsNames().map { "run." + $0 }
            case .table(let indexTable):
                names += indexTable.columns.map(\.name)
                for object in indexTable.objectKeys {
                    names += object.keys.entries.map { object.name + "." + $0.path.map(Self.quoteIfNeeded).joined(separator: ".") }
                }
            }
        }
        return names
    }

    private func runsNames() -> [String] {
        Self.runsBuiltins
            + index.runs.summaryKeys.entries.map { "summary." + $0.path.map(Self.quoteIfNeeded).joined(separator: ".") }
            + index.runs.configKeys.entries.map { "config." + $0.path.map(Self.quoteIfNeeded).joined(separator: ".") }
            + index.runs.summaryKeys.entries.filter { $0.path.count == 1 }.map { Self.normalise($0.path[0]) }
    }

    private func notFound(_ path: [Name], in scope: Scope, span: SourceSpan, table: String? = nil) -> Diagnostic {
        let written = path.count == 1 ? path[0].text : describe(path)
        if path.count > 1, let first = path.first, !scope.tables.contains(where: { matches(first, $0.name) }),
            !["config", "summary", "run", "metadata"].contains(where: { matches(first, $0) })
        {
            return Diagnostic(.binder, "Referenced table \"\(first.text)\" not found", at: first.span,
                              candidates: Suggest.candidates(for: first.text, among: scope.tables.map(\.name)))
        }
        if scope.tables.isEmpty {
            return Diagnostic(.binder, "Referenced column \"\(written)\" not found: the query has no FROM clause", at: span)
        }
        let candidates = Suggest.candidates(for: written, among: knownNames(in: scope))
        let place = table.map { " in table \"\($0)\"" } ?? " in FROM clause"
        return Diagnostic(.binder, "Referenced column \"\(written)\" not found\(place)", at: span, candidates: candidates)
    }

    private func notFound(_ path: [Name], inRuns: Bool, span: SourceSpan, prefix: String) -> Diagnostic {
        let written = prefix + describe(path)
        return Diagnostic(.binder, "Referenced column \"\(written)\" not found in the run's columns", at: span,
                          candidates: Suggest.candidates(for: written, among: runsNames().map { prefix + $0 }))
    }
}
