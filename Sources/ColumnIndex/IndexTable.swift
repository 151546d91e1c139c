import Foundation
import RunStore

/// A table of the index with fixed, typed columns: `artifacts`, `artifact_files`, `lineage`, and
/// the result of a lineage walk (`upstream('REF')`).
///
/// A column of JSON objects (`metadata`) is also walked by path, as `config` is in `runs`:
/// `metadata.data.rows` is extracted on first use (NULL where a row lacks the key), and
/// `objectKeys` lists every path for `metadata.*`, "did you mean" and completion.
public final class IndexTable: Sendable {
    /// The table's name, as SHOW TABLES and EXPLAIN show it.
    public let name: String
    public let count: Int
    /// The columns in `SELECT *` order.
    public let columns: [(name: String, column: Column)]
    /// For each column of JSON objects, every key path its rows hold (with how many rows hold it).
    public let objectKeys: [(name: String, keys: KeyCatalog)]
    private let extracted = ExtractedColumns()

    /// A table of these columns, all `count` rows long.
    public init(name: String, count: Int, columns: [(name: String, column: Column)]) {
        self.name = name
        self.count = count
        self.columns = columns.map { (name: $0.name, column: RunsTable.dictionaryEncoded($0.column)) }
        var objectKeys: [(name: String, keys: KeyCatalog)] = []
        for (columnName, column) in columns where column.type == .object {
            var catalog = KeyCatalog()
            for rowIndex in 0..<count {
                if case .object(let object) = column.value(at: rowIndex) { catalog.add(object) }
            }
            objectKeys.append((columnName, catalog))
        }
        self.objectKeys = objectKeys
    }

    public func column(_ name: String) -> Column? {
        columns.first { $0.name == name }?.column
    }

    /// The keys of a column of JSON objects, or nil when there is no such column.
    public func keys(of name: String) -> KeyCatalog? {
        objectKeys.first { $0.name == name }?.keys
    }

    /// The values at a key path inside every row's object in column `name` (NULL where a row lacks it).
    public func nestedColumn(_ name: String, path: [String]) -> Column {
        extracted.column([name] + path) {
            guard let objects = column(name) else { return Column.constant(.null, count: count) }
            return Column.from((0..<count).map { rowIndex -> Value in
                guard case .object(let object) = objects.value(at: rowIndex) else { return .null }
                return object.value(at: path).map(Value.init) ?? .null
            })
        }
    }
}

/// Builds the columns of an `IndexTable` row by row, one typed column per name.
struct TableBuilder {
    private let names: [String]
    private let types: [DataType]
    private var values: [[Value]]
    private(set) var count = 0

    init(_ columns: [(String, DataType)]) {
        names = columns.map(\.0)
        types = columns.map(\.1)
        values = Array(repeating: [], count: columns.count)
    }

    /// Appends a row: a value for each named column, NULL for the others.
    mutating func append(_ row: [String: Value]) {
        for (position, name) in names.enumerated() { values[position].append(row[name] ?? .null) }
        count += 1
    }

    func finish(name: String) -> IndexTable {
        let columns = names.indices.map { position -> (name: String, column: Column) in
            var column = Column.from(values[position], type: types[position])
            // A list column whose lists are all empty is still a list of its declared element type.
            if case .list = types[position], case .list = column.type { column.type = types[position] }
            return (name: names[position], column: column)
        }
        return IndexTable(name: name, count: count, columns: columns)
    }

    /// The columns' names and types, for DESCRIBE of a table that is built per query.
    var schema: [(name: String, type: DataType)] {
        names.indices.map { (names[$0], types[$0]) }
    }
}
