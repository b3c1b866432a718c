// The embedded job store's database: one SQLite file in the data directory, in WAL mode (readers do
// not wait for the writer) with synchronous=FULL (a committed job survives power loss).
import CSQLite
import Foundation

final class SQLiteConnection: SQLConnection {
    let dialect = SQLDialect.sqlite
    let db: OpaquePointer

    /// `path` ":memory:" is a private in-memory database.
    init(path: String) throws(SQLError) {
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        guard sqlite3_open_v2(path, &handle, flags, nil) == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(handle)
            throw SQLError(message: "cannot open \(path): \(message)")
        }
        db = handle
        // A second process on the same file (a restart overlapping the old one) waits instead of failing.
        sqlite3_busy_timeout(db, 10_000)
        try query("PRAGMA journal_mode=WAL")
        try query("PRAGMA synchronous=FULL")
    }

    deinit { sqlite3_close(db) }

    @discardableResult
    func query(_ sql: String, _ params: [SQLValue]) throws(SQLError) -> [SQLRow] {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else { throw error(sql) }
        defer { sqlite3_finalize(statement) }
        for (i, p) in params.enumerated() {
            let index = Int32(i + 1)
            let rc: Int32
            switch p {
            case .null: rc = sqlite3_bind_null(statement, index)
            case .int(let v): rc = sqlite3_bind_int64(statement, index, v)
            case .double(let v): rc = sqlite3_bind_double(statement, index, v)
            case .text(let s): rc = sqlite3_bind_text(statement, index, s, -1, csqlite_transient())
            case .blob(let b): rc = b.withUnsafeBytes { sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), csqlite_transient()) }
            }
            guard rc == SQLITE_OK else { throw error(sql) }
        }
        var rows: [SQLRow] = []
        while true {
            switch sqlite3_step(statement) {
            case SQLITE_DONE: return rows
            case SQLITE_ROW: rows.append(row(statement))
            default: throw error(sql)
            }
        }
    }

    func blob(_ sql: String, _ params: [SQLValue]) throws(SQLError) -> [UInt8]? { try query(sql, params).first?.blob(0) }

    private func row(_ statement: OpaquePointer) -> SQLRow {
        SQLRow(
            values: (0..<sqlite3_column_count(statement)).map { i in
                switch sqlite3_column_type(statement, i) {
                case SQLITE_INTEGER: return .int(sqlite3_column_int64(statement, i))
                case SQLITE_FLOAT: return .double(sqlite3_column_double(statement, i))
                case SQLITE_TEXT: return .text(String(cString: sqlite3_column_text(statement, i)))
                case SQLITE_BLOB:
                    let n = Int(sqlite3_column_bytes(statement, i))
                    guard n > 0, let p = sqlite3_column_blob(statement, i) else { return .blob([]) }
                    return .blob(Array(UnsafeRawBufferPointer(start: p, count: n)))
                default: return .null
                }
            })
    }

    private func error(_ sql: String) -> SQLError {
        let code = sqlite3_extended_errcode(db)
        return SQLError(
            message: "sqlite: \(String(cString: sqlite3_errmsg(db))) (in \(sql.prefix(60)))",
            isUniqueViolation: csqlite_is_unique_violation(code) != 0)
    }
}
