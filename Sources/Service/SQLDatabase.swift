// The little SQL the job store needs, over SQLite or PostgreSQL: one statement at a time with bound
// parameters (`?` placeholders in both dialects), rows of loosely typed values, transactions.
import Foundation

enum SQLValue: Sendable, Equatable {
    case null
    case int(Int64)
    case double(Double)
    case text(String)
    case blob([UInt8])
}

/// One result row. PostgreSQL answers every column as text; the accessors convert.
struct SQLRow: Sendable {
    let values: [SQLValue]

    func int(_ i: Int) -> Int64? {
        switch values[i] {
        case .int(let v): v
        case .double(let v): Int64(v)
        case .text(let s): Int64(s)
        default: nil
        }
    }

    func double(_ i: Int) -> Double? {
        switch values[i] {
        case .int(let v): Double(v)
        case .double(let v): v
        case .text(let s): Double(s)
        default: nil
        }
    }

    func text(_ i: Int) -> String? {
        switch values[i] {
        case .text(let s): s
        case .int(let v): String(v)
        case .double(let v): String(v)
        case .blob(let b): String(decoding: b, as: UTF8.self)
        case .null: nil
        }
    }

    func blob(_ i: Int) -> [UInt8]? {
        if case .blob(let b) = values[i] { return b }
        return nil
    }
}

struct SQLError: Error, CustomStringConvertible {
    let message: String
    /// A unique constraint refused the statement (a concurrent insert of the same idempotency key).
    var isUniqueViolation = false
    var description: String { message }
}

/// Where the two dialects differ in what the store writes.
enum SQLDialect: Sendable {
    case sqlite, postgres

    /// Row locking for a claim: PostgreSQL skips rows another replica holds; SQLite's write
    /// transaction already excludes every other writer.
    var skipLocked: String { self == .postgres ? " FOR UPDATE SKIP LOCKED" : "" }
    var beginWrite: String { self == .postgres ? "BEGIN" : "BEGIN IMMEDIATE" }
    var serialKey: String { self == .postgres ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT" }
    var real: String { self == .postgres ? "DOUBLE PRECISION" : "REAL" }
    var blob: String { self == .postgres ? "BYTEA" : "BLOB" }
}

/// One connection; the store serialises its use (a Mutex around it).
protocol SQLConnection: AnyObject {
    var dialect: SQLDialect { get }
    @discardableResult
    func query(_ sql: String, _ params: [SQLValue]) throws(SQLError) -> [SQLRow]
    /// The first column of the first row as bytes (an upload), without a text round trip.
    func blob(_ sql: String, _ params: [SQLValue]) throws(SQLError) -> [UInt8]?
}

extension SQLConnection {
    @discardableResult
    func query(_ sql: String, _ params: SQLValue...) throws(SQLError) -> [SQLRow] { try query(sql, params) }

    /// Runs `body` in a write transaction: committed when it returns, rolled back when it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try query(dialect.beginWrite)
        do {
            let value = try body()
            try query("COMMIT")
            return value
        } catch {
            _ = try? query("ROLLBACK")
            throw error
        }
    }
}
