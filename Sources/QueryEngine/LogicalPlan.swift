import ColumnIndex
import QuerySyntax

/// A column of the relation an expression is evaluated over. Its index is fixed once the
/// whole SELECT is bound (FROM's tables contribute columns as names resolve to them).
final class ColumnSlot: @unchecked Sendable {
    var index: Int
    let name: String

    init(index: Int = -1, name: String) {
        self.index = index
        self.name = name
    }
}

/// A column of the enclosing query read by a correlated subquery: the evaluator sets `value`
/// from the outer row before it runs the subquery.
final class OuterReference: @unchecked Sendable {
    let slot: ColumnSlot
    var value: Value = .null

    init(slot: ColumnSlot) {
        self.slot = slot
    }
}

/// An expression with its names resolved.
indirect enum BoundExpr {
    /// A column of the input relation.
    case column(ColumnSlot)
    /// A column of the enclosing query's current row (in a correlated subquery).
    case outer(OuterReference)
    case literal(Value)
    /// A scalar function or operator (`+`, `=`, `lower`, …).
    case call(ScalarFunction, [BoundExpr], span: SourceSpan)
    case and([BoundExpr])
    case or([BoundExpr])
    case not(BoundExpr)
    case isNull(BoundExpr, negated: Bool)
    case caseWhen([(condition: BoundExpr, result: BoundExpr)], otherwise: BoundExpr?)
    case cast(BoundExpr, DataType, isTry: Bool, span: SourceSpan)
    case inList(BoundExpr, [BoundExpr], negated: Bool)
    case like(BoundExpr, pattern: BoundExpr, escape: BoundExpr?, caseInsensitive: Bool, negated: Bool, span: SourceSpan)
    /// An uncorrelated subquery, run once: its single value, its set of values (IN), or whether it has rows (EXISTS).
    case scalarSubquery(SubqueryPlan, span: SourceSpan)
    case inSubquery(BoundExpr, SubqueryPlan, negated: Bool)
    case exists(SubqueryPlan, negated: Bool)

    /// Whether the value is the same for every row of the input: no input column is read (and a
    /// subquery is uncorrelated).
    var isRowIndependent: Bool {
        switch self {
        case .column: return false
        case .outer, .literal: return true
        case .call(_, let arguments, _): return arguments.allSatisfy(\.isRowIndependent)
        case .and(let terms), .or(let terms): return terms.allSatisfy(\.isRowIndependent)
        case .not(let inner), .isNull(let inner, _), .cast(let inner, _, _, _): return inner.isRowIndependent
        case .caseWhen(let branches, let otherwise):
            return branches.allSatisfy { $0.condition.isRowIndependent && $0.result.isRowIndependent } && (otherwise?.isRowIndependent ?? true)
        case .inList(let inner, let list, _): return inner.isRowIndependent && list.allSatisfy(\.isRowIndependent)
        case .like(let inner, let pattern, let escape, _, _, _):
            return inner.isRowIndependent && pattern.isRowIndependent && (escape?.isRowIndependent ?? true)
        case .scalarSubquery(let plan, _), .exists(let plan, _): return plan.outerReferences.isEmpty
        case .inSubquery(let inner, let plan, _): return inner.isRowIndependent && plan.outerReferences.isEmpty
        }
    }

    /// Anything but a column, an outer reference or a literal.
    var isCompound: Bool {
        switch self {
        case .column, .outer, .literal: return false
        default: return true
        }
    }

    /// Canonical text, for EXPLAIN and for matching expressions against GROUP BY.
    var key: String {
        switch self {
        case .column(let slot): return "#\(ObjectIdentifier(slot).hashValue)"
        case .outer(let reference): return "outer#\(ObjectIdentifier(reference.slot).hashValue)"
        case .literal(let value): return "lit(\(Render.text(value)):\(DataType.of(value)))"
        case .call(let function, let arguments, _): return "\(function.name)(\(arguments.map(\.key).joined(separator: ",")))"
        case .and(let terms): return "and(\(terms.map(\.key).joined(separator: ",")))"
        case .or(let terms): return "or(\(terms.map(\.key).joined(separator: ",")))"
        case .not(let inner): return "not(\(inner.key))"
        case .isNull(let inner, let negated): return "isnull(\(inner.key),\(negated))"
        case .caseWhen(let branches, let otherwise):
            return "case(\(branches.map { "\($0.condition.key)->\($0.result.key)" }.joined(separator: ","));\(otherwise?.key ?? ""))"
        case .cast(let inner, let type, let isTry, _): return "cast(\(inner.key),\(type),\(isTry))"
        case .inList(let inner, let list, let negated): return "in(\(inner.key);\(list.map(\.key).joined(separator: ","));\(negated))"
        case .like(let inner, let pattern, let escape, let caseInsensitive, let negated, _):
            return "like(\(inner.key),\(pattern.key),\(escape?.key ?? ""),\(caseInsensitive),\(negated))"
        case .scalarSubquery(let plan, _): return "subquery(\(ObjectIdentifier(plan).hashValue))"
        case .inSubquery(let inner, let plan, let negated): return "insub(\(inner.key),\(ObjectIdentifier(plan).hashValue),\(negated))"
        case .exists(let plan, let negated): return "exists(\(ObjectIdentifier(plan).hashValue),\(negated))"
        }
    }
}

/// A bound subquery. Uncorrelated, it runs once and keeps its `result`; correlated (it reads
/// `outerReferences`), it runs once per distinct combination of those outer values.
final class SubqueryPlan: @unchecked Sendable {
    let plan: LogicalPlan
    let outerReferences: [OuterReference]
    var result: Relation?

    init(plan: LogicalPlan, outerReferences: [OuterReference] = []) {
        self.plan = plan
        self.outerReferences = outerReferences
    }
}

/// One aggregate of an aggregation: `function([DISTINCT] arguments ORDER BY …) FILTER (WHERE filter)`.
struct BoundAggregate {
    var function: AggregateFunction
    var arguments: [BoundExpr]
    var distinct: Bool
    var filter: BoundExpr?
    var orderBy: [BoundOrder]
    var span: SourceSpan
}

struct BoundOrder {
    var expression: BoundExpr
    var descending: Bool
    var nullsFirst: Bool
}

/// What a FROM-clause table reads.
enum ScanSource {
    case runs
    case history
    case table(IndexTable)

    /// The table's name, for EXPLAIN.
    var name: String {
        switch self {
        case .runs: return "runs"
        case .history: return "history"
        case .table(let table): return table.name
        }
    }
}

/// One column a scan produces.
enum ScanField: Equatable {
    case builtin(String)
    case config([String])
    case summary([String])
    /// A history metric.
    case metric(String)
    /// A column of the run a history row belongs to (`run.name`).
    indirect case run(ScanField)
    /// A key path inside a column of JSON objects of an index table (`metadata.data.rows`).
    case nested(String, [String])
}

/// The operators of a query, as a tree.
indirect enum LogicalPlan {
    /// Reads `fields` of a table of the index.
    case scan(ScanSource, fields: [ScanField], names: [String])
    /// A relation of fixed rows (`SELECT 1` without FROM has one row and no columns).
    case values(Relation)
    case filter(LogicalPlan, BoundExpr)
    /// Evaluates `expressions` over the input; the output has exactly these columns.
    case project(LogicalPlan, [BoundExpr], names: [String])
    /// Groups by `groups` and computes `aggregates`; the output has the groups, then the aggregates.
    case aggregate(LogicalPlan, groups: [BoundExpr], aggregates: [BoundAggregate], names: [String])
    /// Computes window functions (`row_number() OVER (PARTITION BY run_id ORDER BY _step)`): the
    /// output has the input's columns, then one column per window function.
    case window(LogicalPlan, [BoundWindow])
    case sort(LogicalPlan, [BoundOrder])
    case limit(LogicalPlan, limit: Int?, offset: Int)
    case distinct(LogicalPlan)
    /// Joins two inputs; `leftKeys`/`rightKeys` are the equi-join keys (hash join), `residual`
    /// the rest of the condition, evaluated over the joined row.
    case join(JoinKind, LogicalPlan, LogicalPlan, leftKeys: [BoundExpr], rightKeys: [BoundExpr], residual: BoundExpr?, leftWidth: Int)
    case setOperation(SetOperator, all: Bool, LogicalPlan, LogicalPlan)
    /// Keeps the first `count` columns (drops the hidden ORDER BY columns).
    case truncateColumns(LogicalPlan, count: Int)
    /// A named relation computed once (a CTE referenced more than once).
    case shared(SharedPlan)
}

/// A CTE's plan, run once however often it is referenced.
final class SharedPlan: @unchecked Sendable {
    let name: String
    let plan: LogicalPlan
    var result: Relation?

    init(name: String, plan: LogicalPlan) {
        self.name = name
        self.plan = plan
    }
}

/// A materialised table: columns of equal length, and their names.
struct Relation {
    var columns: [Column]
    var names: [String]
    var count: Int

    init(columns: [Column], names: [String], count: Int) {
        self.columns = columns
        self.names = names
        self.count = count
    }

    func gather(_ rows: [Int]) -> Relation {
        Relation(columns: columns.map { $0.gather(rows) }, names: names, count: rows.count)
    }
}
