import ColumnIndex
import QuerySyntax

/// A table of a FROM clause as the binder sees it: the columns names have resolved to so far.
///
/// `runs`, `history` and the index's other tables (`artifacts`, a lineage walk) grow a column
/// for each field a name resolves to (a config key, a metric, a metadata path); a derived table
/// (subquery, CTE) has fixed columns. Once the SELECT is bound,
/// `offset` places the table's columns in the joined relation and every slot gets its index.
final class TableBinding {
    enum Kind {
        case runs
        case history
        /// `artifacts`, `artifact_files`, `lineage`, or the result of `upstream(…)`/`downstream(…)`.
        case table(IndexTable)
        case derived(LogicalPlan)
    }

    let name: String
    let kind: Kind
    private(set) var fields: [ScanField] = []
    private(set) var fieldNames: [String] = []
    private(set) var slots: [ColumnSlot] = []
    var offset = 0

    init(name: String, kind: Kind, derivedNames: [String] = []) {
        self.name = name
        self.kind = kind
        for (position, columnName) in derivedNames.enumerated() {
            fields.append(.builtin("#\(position)"))
            fieldNames.append(columnName)
            slots.append(ColumnSlot(name: columnName))
        }
    }

    var isDerived: Bool {
        if case .derived = kind { return true }
        return false
    }

    /// The slot of a field, adding it on first use.
    func slot(for field: ScanField, name: String) -> ColumnSlot {
        if let position = fields.firstIndex(of: field) { return slots[position] }
        fields.append(field)
        fieldNames.append(name)
        let slot = ColumnSlot(name: name)
        slots.append(slot)
        return slot
    }

    /// Gives every slot its index in the joined relation.
    func assignIndices() {
        for (position, slot) in slots.enumerated() { slot.index = offset + position }
    }

    var width: Int { slots.count }

    func owns(_ slot: ColumnSlot) -> Bool { slots.contains { $0 === slot } }

    /// The plan producing this table's columns, in slot order.
    var plan: LogicalPlan {
        switch kind {
        case .runs: return .scan(.runs, fields: fields, names: fieldNames)
        case .history: return .scan(.history, fields: fields, names: fieldNames)
        case .table(let table): return .scan(.table(table), fields: fields, names: fieldNames)
        case .derived(let plan): return plan
        }
    }
}

/// The tree of a FROM clause.
indirect enum FromNode {
    case table(TableBinding)
    /// A join whose condition is not bound yet.
    case join(JoinKind, FromNode, FromNode, condition: JoinCondition, span: SourceSpan)
    /// A join with its condition bound (ON), or its USING columns paired.
    case bound(JoinKind, FromNode, FromNode, condition: BoundExpr?, using: [(ColumnSlot, ColumnSlot)], span: SourceSpan)

    var tables: [TableBinding] {
        switch self {
        case .table(let table): return [table]
        case .join(_, let left, let right, _, _), .bound(_, let left, let right, _, _, _): return left.tables + right.tables
        }
    }

    /// The column pairs of every `USING (…)`: (left, right).
    var usingPairs: [(ColumnSlot, ColumnSlot)] {
        switch self {
        case .table, .join: return []
        case .bound(_, let left, let right, _, let using, _): return left.usingPairs + right.usingPairs + using
        }
    }
}

/// The names visible where an expression is bound.
final class Scope {
    let tables: [TableBinding]
    let parent: Scope?
    /// `USING` columns: an unqualified name that matches both sides means the left one.
    let usingPairs: [(ColumnSlot, ColumnSlot)]

    init(tables: [TableBinding], parent: Scope?, usingPairs: [(ColumnSlot, ColumnSlot)] = []) {
        self.tables = tables
        self.parent = parent
        self.usingPairs = usingPairs
    }

    /// Whether `slot` is the right-hand column of a `USING` pair (merged into its left one).
    func isMergedAway(_ slot: ColumnSlot) -> Bool {
        usingPairs.contains { $0.1 === slot }
    }
}
