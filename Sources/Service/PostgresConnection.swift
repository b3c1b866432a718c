// The shared job store's database: one libpq connection to PostgreSQL per replica (the store
// serialises its use). Parameters go as text, blobs as binary; answers come as text. A connection
// that broke (the server restarted) is reset once before a statement fails.
import CLibPQ
import Foundation

final class PostgresConnection: SQLConnection {
    let dialect = SQLDialect.postgres
    let conn: OpaquePointer

    init(url: String) throws(SQLError) {
        guard let conn = PQconnectdb(url) else { throw SQLError(message: "postgres: out of memory") }
        self.conn = conn
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(conn)
            throw SQLError(message: "postgres: cannot connect: \(message)")
        }
        // Notices (CREATE TABLE IF NOT EXISTS on an existing table) would go to stderr as plain text.
        try query("SET client_min_messages TO warning")
    }

    deinit { PQfinish(conn) }

    @discardableResult
    func query(_ sql: String, _ params: [SQLValue]) throws(SQLError) -> [SQLRow] {
        let result = try execute(sql, params, binary: false)
        defer { PQclear(result) }
        let rows = PQntuples(result)
        let columns = PQnfields(result)
        return (0..<rows).map { r in
            SQLRow(values: (0..<columns).map { c in PQgetisnull(result, r, c) == 1 ? .null : .text(String(cString: PQgetvalue(result, r, c))) })
        }
    }

    /// Asks for the answer in binary: a bytea column arrives as its bytes, not as hex text.
    func blob(_ sql: String, _ params: [SQLValue]) throws(SQLError) -> [UInt8]? {
        let result = try execute(sql, params, binary: true)
        defer { PQclear(result) }
        guard PQntuples(result) > 0, PQgetisnull(result, 0, 0) == 0, let value = PQgetvalue(result, 0, 0) else { return nil }
        return Array(UnsafeRawBufferPointer(start: value, count: Int(PQgetlength(result, 0, 0))))
    }

    /// Runs one statement; the caller clears the result.
    private func execute(_ sql: String, _ params: [SQLValue], binary: Bool) throws(SQLError) -> OpaquePointer? {
        if PQstatus(conn) != CONNECTION_OK { PQreset(conn) }
        let text = Self.numbered(sql)
        let values: [[UInt8]?] = params.map { p in
            switch p {
            case .null: nil
            case .int(let v): Array(String(v).utf8) + [0]
            case .double(let v): Array("\(v)".utf8) + [0]
            case .text(let s): Array(s.utf8) + [0]
            case .blob(let b): b
            }
        }
        let lengths = params.map { p -> Int32 in if case .blob(let b) = p { Int32(b.count) } else { 0 } }
        let formats = params.map { p -> Int32 in if case .blob = p { 1 } else { 0 } }
        let result = Self.withPointers(values) { pointers in
            PQexecParams(conn, text, Int32(params.count), nil, pointers, lengths, formats, binary ? 1 : 0)
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK: return result
        default:
            defer { PQclear(result) }
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let message = String(cString: PQresultErrorMessage(result)).trimmingCharacters(in: .whitespacesAndNewlines)
            throw SQLError(message: "postgres: \(message) (in \(sql.prefix(60)))", isUniqueViolation: state == "23505")
        }
    }

    /// `?` placeholders as PostgreSQL's `$1, $2, ...` (the store's SQL has no `?` inside literals).
    static func numbered(_ sql: String) -> String {
        var out = ""
        var n = 0
        for ch in sql {
            if ch == "?" {
                n += 1
                out += "$\(n)"
            } else {
                out.append(ch)
            }
        }
        return out
    }

    private static func withPointers<R>(_ values: [[UInt8]?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
        var pointers: [UnsafePointer<CChar>?] = []
        var buffers: [UnsafeMutablePointer<CChar>] = []
        defer { buffers.forEach { $0.deallocate() } }
        for v in values {
            guard let v else {
                pointers.append(nil)
                continue
            }
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: max(1, v.count))
            v.withUnsafeBytes { bytes in if let base = bytes.baseAddress { memcpy(buffer, base, bytes.count) } }
            buffers.append(buffer)
            pointers.append(UnsafePointer(buffer))
        }
        return body(pointers)
    }
}
