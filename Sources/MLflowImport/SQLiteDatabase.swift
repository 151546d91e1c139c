import CSQLite
import Foundation
import RunStore

/// A SQLite database opened read-only through the system's `libsqlite3`: just enough to run a
/// query and read its rows by column name.
final class SQLiteDatabase {
    let path: String
    private var handle: OpaquePointer?

    /// Opens `path` read-only; a missing or non-SQLite file is an error naming it.
    init(path: String) throws {
        self.path = path
        var opened: OpaquePointer?
        let code = sqlite3_open_v2(path, &opened, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nil)
        handle = opened
        if code != SQLITE_OK {
            let message = opened.map { String(cString: sqlite3_errmsg($0)) } ?? "error \(code)"
            sqlite3_close(opened)
            handle = nil
            throw StoreError("\(path): cannot open as SQLite: \(message)")
        }
        sqlite3_busy_timeout(opened, 5000)
    }

    deinit {
        sqlite3_close(handle)
    }

    /// One result row: values by column name.
    struct Row {
        var values: [String: Value]
        /// The row's number in the result (1-based), for messages.
        var number: Int

        subscript(_ column: String) -> Value { values[column] ?? .null }
    }

    enum Value: Equatable {
        case null, integer(Int64), real(Double), text(String), blob([UInt8])

        var string: String? {
            switch self {
            case .text(let text): return text
            case .integer(let value): return String(value)
            case .real(let value): return String(value)
            case .null, .blob: return nil
            }
        }

        var integer: Int64? {
            switch self {
            case .integer(let value): return value
            case .real(let value): return Int64(exactly: value)
            case .text(let text): return Int64(text)
            case .null, .blob: return nil
            }
        }

        var double: Double? {
            switch self {
            case .integer(let value): return Double(value)
            case .real(let value): return value
            case .text(let text): return Double(text)
            case .null, .blob: return nil
            }
        }
    }

    /// Whether the database has a table of that name.
    func hasTable(_ name: String) throws -> Bool {
        var found = false
        try query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", [name]) { _ in found = true }
        return found
    }

    /// The column names of a table (empty when it does not exist).
    func columns(of table: String) throws -> Set<String> {
        var names: Set<String> = []
        try query("SELECT name FROM pragma_table_info(?)", [table]) { row in
            if let name = row["name"].string { names.insert(name) }
        }
        return names
    }

    /// Runs `sql` with text parameters and calls `body` with each row.
    func query(_ sql: String, _ parameters: [String] = [], _ body: (Row) throws -> Void) throws {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw StoreError("\(path): \(errorMessage) (in: \(sql))")
        }
        defer { sqlite3_finalize(statement) }
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for (index, parameter) in parameters.enumerated() {
            sqlite3_bind_text(statement, Int32(index + 1), parameter, -1, transient)
        }
        let columnCount = sqlite3_column_count(statement)
        let names = (0..<columnCount).map { String(cString: sqlite3_column_name(statement, $0)) }
        var rowNumber = 0
        while true {
            let code = sqlite3_step(statement)
            if code == SQLITE_DONE { break }
            guard code == SQLITE_ROW else { throw StoreError("\(path): \(errorMessage) (in: \(sql))") }
            rowNumber += 1
            var values: [String: Value] = [:]
            for column in 0..<columnCount {
                values[names[Int(column)]] = Self.value(statement, column)
            }
            try body(Row(values: values, number: rowNumber))
        }
    }

    private var errorMessage: String {
        handle.map { String(cString: sqlite3_errmsg($0)) } ?? "not open"
    }

    private static func value(_ statement: OpaquePointer, _ column: Int32) -> Value {
        switch sqlite3_column_type(statement, column) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, column))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(statement, column))
        case SQLITE_TEXT:
            guard let text = sqlite3_column_text(statement, column) else { return .text("") }
            let count = Int(sqlite3_column_bytes(statement, column))
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(statement, column))
            guard count > 0, let bytes = sqlite3_column_blob(statement, column) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default: return .null
        }
    }

    /// Whether the file starts with SQLite's header (`SQLite format 3\0`).
    static func looksLikeSQLite(_ path: String) -> Bool {
        guard let file = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? file.close() }
        let header = (try? file.read(upToCount: 16)) ?? Data()
        return Array(header) == Array("SQLite format 3\0".utf8)
    }
}
