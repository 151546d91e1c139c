import ColumnIndex

/// EXPLAIN: the plan as an indented tree, one operator per line.
enum Explain {
    static func render(_ plan: LogicalPlan) -> [String] {
        var lines: [String] = []
        walk(plan, depth: 0, into: &lines)
        return lines
    }

    private static func walk(_ plan: LogicalPlan, depth: Int, into lines: inout [String]) {
        let indent = String(repeating: "  ", count: depth)
        switch plan {
        case .scan(let source, let fields, _):
            lines.append(indent + "SCAN \(source.name) [\(fields.map(describe).joined(separator: ", "))]")
        case .values(let relation):
            lines.append(indent + "VALUES (\(relation.count) row\(relation.count == 1 ? "" : "s"))")
        case .filter(let input, let predicate):
            lines.append(indent + "FILTER \(predicate.explained)")
            walk(input, depth: depth + 1, into: &lines)
        case .project(let input, let expressions, let names):
            lines.append(indent + "PROJECT " + zip(expressions, names).map { $0.explained + ($1.isEmpty ? "" : " AS \($1)") }.joined(separator: ", "))
            walk(input, depth: depth + 1, into: &lines)
        case .aggregate(let input, let groups, let aggregates, _):
            let groupText = groups.isEmpty ? "" : " BY " + groups.map(\.explained).joined(separator: ", ")
            lines.append(indent + "AGGREGATE " + aggregates.map { "\($0.function.name)(\($0.distinct ? "DISTINCT " : "")\($0.arguments.isEmpty ? "*" : $0.arguments.map(\.explained).joined(separator: ", ")))" + ($0.filter.map { " FILTER \($0.explained)" } ?? "") }.joined(separator: ", ") + groupText)
            walk(input, depth: depth + 1, into: &lines)
        case .window(let input, let windows):
            lines.append(indent + "WINDOW " + windows.map(describe).joined(separator: ", "))
            walk(input, depth: depth + 1, into: &lines)
        case .sort(let input, let keys):
            lines.append(indent + "SORT " + describe(keys))
            walk(input, depth: depth + 1, into: &lines)
        case .limit(let input, let limit, let offset):
            lines.append(indent + "LIMIT \(limit.map(String.init) ?? "ALL")" + (offset > 0 ? " OFFSET \(offset)" : ""))
            walk(input, depth: depth + 1, into: &lines)
        case .distinct(let input):
            lines.append(indent + "DISTINCT")
            walk(input, depth: depth + 1, into: &lines)
        case .join(let kind, let left, let right, let leftKeys, let rightKeys, let residual, _):
            let keys = zip(leftKeys, rightKeys).map { "\($0.explained) = \($1.explained)" }.joined(separator: " AND ")
            lines.append(indent + "\(leftKeys.isEmpty ? "NESTED LOOP" : "HASH") JOIN \(kind.rawValue)" + (keys.isEmpty ? "" : " ON \(keys)") + (residual.map { " WHERE \($0.explained)" } ?? ""))
            walk(left, depth: depth + 1, into: &lines)
            walk(right, depth: depth + 1, into: &lines)
        case .setOperation(let op, let all, let left, let right):
            lines.append(indent + op.rawValue + (all ? " ALL" : ""))
            walk(left, depth: depth + 1, into: &lines)
            walk(right, depth: depth + 1, into: &lines)
        case .truncateColumns(let input, _):
            walk(input, depth: depth, into: &lines)
        case .shared(let shared):
            lines.append(indent + "CTE \(shared.name)")
            walk(shared.plan, depth: depth + 1, into: &lines)
        }
    }

    private static func describe(_ keys: [BoundOrder]) -> String {
        keys.map { "\($0.expression.explained) \($0.descending ? "DESC" : "ASC")\($0.nullsFirst ? " NULLS FIRST" : "")" }.joined(separator: ", ")
    }

    /// `row_number() OVER (PARTITION BY #0 ORDER BY #2 DESC)`, with the frame where it applies.
    private static func describe(_ window: BoundWindow) -> String {
        var clauses: [String] = []
        if !window.partitionBy.isEmpty { clauses.append("PARTITION BY " + window.partitionBy.map(\.explained).joined(separator: ", ")) }
        if !window.orderBy.isEmpty { clauses.append("ORDER BY " + describe(window.orderBy)) }
        if window.function.usesFrame, window.frame != .standard { clauses.append(window.frame.text) }
        let arguments = window.star ? "*" : (window.distinct ? "DISTINCT " : "") + window.arguments.map(\.explained).joined(separator: ", ")
        return "\(window.function.name)(\(arguments)\(window.ignoreNulls ? " IGNORE NULLS" : ""))" + (window.filter.map { " FILTER \($0.explained)" } ?? "") + " OVER (\(clauses.joined(separator: " ")))"
    }

    private static func describe(_ field: ScanField) -> String {
        switch field {
        case .builtin(let name), .metric(let name): return name
        case .config(let path): return "config." + path.map(Binder.quoteIfNeeded).joined(separator: ".")
        case .summary(let path): return "summary." + path.map(Binder.quoteIfNeeded).joined(separator: ".")
        case .run(let inner): return "run." + describe(inner)
        case .nested(let column, let path): return ([column] + path.map(Binder.quoteIfNeeded)).joined(separator: ".")
        }
    }
}

extension BoundExpr {
    /// A readable form for EXPLAIN.
    var explained: String {
        switch self {
        case .column(let slot): return "#\(slot.index)" + (slot.name.isEmpty ? "" : "(\(slot.name))")
        case .outer(let reference): return "outer.#\(reference.slot.index)(\(reference.slot.name))"
        case .literal(let value):
            if case .string(let text) = value { return "'\(text)'" }
            return Render.text(value)
        case .call(let function, let arguments, _):
            if arguments.count == 2, !function.name.first!.isLetter { return "(\(arguments[0].explained) \(function.name) \(arguments[1].explained))" }
            return "\(function.name)(\(arguments.map(\.explained).joined(separator: ", ")))"
        case .and(let terms): return "(" + terms.map(\.explained).joined(separator: " AND ") + ")"
        case .or(let terms): return "(" + terms.map(\.explained).joined(separator: " OR ") + ")"
        case .not(let inner): return "NOT \(inner.explained)"
        case .isNull(let inner, let negated): return "\(inner.explained) IS \(negated ? "NOT " : "")NULL"
        case .caseWhen(let branches, let otherwise):
            return "CASE " + branches.map { "WHEN \($0.condition.explained) THEN \($0.result.explained)" }.joined(separator: " ") + (otherwise.map { " ELSE \($0.explained)" } ?? "") + " END"
        case .cast(let inner, let type, let isTry, _): return "\(isTry ? "TRY_CAST" : "CAST")(\(inner.explained) AS \(type))"
        case .inList(let inner, let list, let negated): return "\(inner.explained) \(negated ? "NOT " : "")IN (\(list.map(\.explained).joined(separator: ", ")))"
        case .like(let inner, let pattern, _, let caseInsensitive, let negated, _):
            return "\(inner.explained) \(negated ? "NOT " : "")\(caseInsensitive ? "ILIKE" : "LIKE") \(pattern.explained)"
        case .scalarSubquery: return "(SUBQUERY)"
        case .inSubquery(let inner, _, let negated): return "\(inner.explained) \(negated ? "NOT " : "")IN (SUBQUERY)"
        case .exists(_, let negated): return "\(negated ? "NOT " : "")EXISTS (SUBQUERY)"
        }
    }
}
