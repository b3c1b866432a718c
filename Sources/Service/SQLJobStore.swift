// The job store on SQL: the same tables and statements on SQLite (one replica, uploads as files in
// the data directory) and PostgreSQL (any number of replicas, uploads as bytea rows). See
// docs/jobs.md for why uploads live where they do.
import Foundation
import Media

final class SQLJobStore: JobStore, @unchecked Sendable {
    /// Where accepted uploads are kept until their job finishes.
    enum Uploads: Sendable {
        /// One file per job in this directory (fsynced before the 202).
        case files(String)
        /// A row of `job_uploads` in the same database, so every replica can read it.
        case table
    }

    private let connection: SQLConnection
    private let lock = NSLock()
    let uploads: Uploads
    var dialect: SQLDialect { connection.dialect }

    static let columns =
        "id, status, created, started, finished, frames, last_t, duration, result, error, attempts, callback_url, metadata, webhook_state, deliveries"

    init(connection: SQLConnection, uploads: Uploads) throws {
        self.connection = connection
        self.uploads = uploads
        if case .files(let dir) = uploads {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        try createSchema()
    }

    /// Opens the store `jobs.store` names: `sqlite:///path/jobs.db` (uploads beside it),
    /// `memory` (SQLite in memory, uploads under `scratch`; for tests) or `postgres://...`.
    static func open(_ url: String, scratch: String) throws -> SQLJobStore {
        if url == "memory" {
            return try SQLJobStore(
                connection: try SQLiteConnection(path: ":memory:"), uploads: .files(scratch + "/affectd-uploads-\(UUID().uuidString)"))
        }
        if url.hasPrefix("sqlite://") {
            let path = String(url.dropFirst("sqlite://".count))
            let dir = (path as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: dir.isEmpty ? "." : dir, withIntermediateDirectories: true)
            return try SQLJobStore(connection: try SQLiteConnection(path: path), uploads: .files((dir.isEmpty ? "." : dir) + "/uploads"))
        }
        return try SQLJobStore(connection: try PostgresConnection(url: url), uploads: .table)
    }

    @discardableResult
    private func locked<T>(_ body: (SQLConnection) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(connection)
    }

    private func createSchema() throws {
        let d = dialect
        let statements =
            [
                """
                CREATE TABLE IF NOT EXISTS jobs (
                  seq \(d.serialKey), id TEXT NOT NULL UNIQUE, status TEXT NOT NULL, created \(d.real) NOT NULL,
                  started \(d.real), finished \(d.real), options TEXT NOT NULL, frames INTEGER NOT NULL DEFAULT 0,
                  last_t \(d.real), duration \(d.real), result TEXT, error TEXT, attempts INTEGER NOT NULL DEFAULT 0,
                  lease_owner TEXT, lease_until \(d.real), idem_key TEXT UNIQUE, body_hash TEXT NOT NULL,
                  callback_url TEXT, metadata TEXT, webhook_state TEXT, webhook_next \(d.real), deliveries TEXT)
                """,
                "CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, seq)",
                "CREATE INDEX IF NOT EXISTS jobs_by_webhook ON jobs (webhook_state, webhook_next)",
                "CREATE TABLE IF NOT EXISTS job_uploads (id TEXT PRIMARY KEY, data \(d.blob) NOT NULL)",
            ]
            // Media does not compress: PostgreSQL should not try to (TOAST compression) on every upload.
            + (d == .postgres ? ["ALTER TABLE job_uploads ALTER COLUMN data SET STORAGE EXTERNAL"] : [])
        try locked { c in
            for s in statements {
                // Replicas starting together may race to create the same table: the loser retries once.
                do { try c.query(s) } catch { try c.query(s) }
            }
        }
    }

    // MARK: records

    func create(_ job: NewJob, upload: MediaSource, maxUnfinished: Int, now: Double) throws -> JobCreation {
        if let key = job.idempotencyKey, let existing = try replay(key: key, hash: job.bodyHash) { return existing }
        let bytes = try keep(upload, id: job.id)
        do {
            let outcome = try locked { c -> JobCreation in
                try c.transaction {
                    let unfinished = try c.query("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')").first?.int(0) ?? 0
                    guard unfinished < maxUnfinished else { return .full }
                    if let bytes { try c.query("INSERT INTO job_uploads (id, data) VALUES (?, ?)", .text(job.id), .blob(bytes)) }
                    try c.query(
                        """
                        INSERT INTO jobs (id, status, created, options, idem_key, body_hash, callback_url, metadata, deliveries)
                        VALUES (?, 'queued', ?, ?, ?, ?, ?, ?, '[]')
                        """, .text(job.id), .double(now), .text(job.options), Self.optional(job.idempotencyKey), .text(job.bodyHash),
                        Self.optional(job.callbackURL), Self.optional(job.metadata))
                    return .created(JobRecord(id: job.id, created: now, callbackURL: job.callbackURL, metadata: job.metadata.flatMap(JSONValue.parse)))
                }
            }
            if case .created = outcome { return outcome }
            removeUpload(job.id)
            return outcome
        } catch let e as SQLError where e.isUniqueViolation {
            // Another request with the same key won the race.
            removeUpload(job.id)
            if let key = job.idempotencyKey, let existing = try replay(key: key, hash: job.bodyHash) { return existing }
            throw e
        } catch {
            removeUpload(job.id)
            throw error
        }
    }

    private func replay(key: String, hash: String) throws -> JobCreation? {
        guard let row = try locked({ try $0.query("SELECT id, body_hash FROM jobs WHERE idem_key = ?", .text(key)) }).first else { return nil }
        guard row.text(1) == hash else { return .conflict }
        guard let id = row.text(0), let record = try get(id) else { return nil }
        return .replayed(record)
    }

    /// Makes the upload durable: a file in the data directory (returns nil), or the bytes for the table.
    private func keep(_ upload: MediaSource, id: String) throws -> [UInt8]? {
        switch uploads {
        case .table:
            switch upload {
            case .memory(let data): return Array(data)
            case .file(let path): return Array(try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped))
            }
        case .files(let dir):
            let target = dir + "/" + id
            switch upload {
            case .memory(let data): try data.write(to: URL(fileURLWithPath: target))
            case .file(let path):
                // The server deletes its spooled body after the answer: move it here (copy across file systems).
                if rename(path, target) != 0 { try FileManager.default.copyItem(atPath: path, toPath: target) }
            }
            try Self.sync(target)
            try Self.sync(dir)
            return nil
        }
    }

    private static func sync(_ path: String) throws {
        let fd = Foundation.open(path, O_RDONLY)
        guard fd >= 0 else { throw SQLError(message: "cannot open \(path) to sync it") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw SQLError(message: "fsync \(path) failed: errno \(errno)") }
    }

    private func removeUpload(_ id: String) {
        switch uploads {
        case .files(let dir): unlink(dir + "/" + id)
        case .table: _ = try? locked { try $0.query("DELETE FROM job_uploads WHERE id = ?", .text(id)) }
        }
    }

    func get(_ id: String) throws -> JobRecord? {
        try locked { try $0.query("SELECT \(Self.columns) FROM jobs WHERE id = ?", .text(id)) }.first.map(Self.record)
    }

    func list(status: JobStatus?, cursor: Int64?, limit: Int) throws -> JobPage {
        var sql = "SELECT \(Self.columns), seq FROM jobs WHERE seq > ?"
        var params: [SQLValue] = [.int(cursor ?? 0)]
        if let status {
            sql += " AND status = ?"
            params.append(.text(status.rawValue))
        }
        sql += " ORDER BY seq LIMIT ?"
        params.append(.int(Int64(limit)))
        let rows = try locked { try $0.query(sql, params) }
        let last = rows.count == limit ? rows.last?.int(15) : nil
        return JobPage(jobs: rows.map(Self.record), nextCursor: last.map { String($0) })
    }

    func counts() throws -> [JobStatus: Int] {
        var out: [JobStatus: Int] = [:]
        for row in try locked({ try $0.query("SELECT status, count(*) FROM jobs GROUP BY status") }) {
            if let s = row.text(0).flatMap(JobStatus.init(rawValue:)) { out[s] = Int(row.int(1) ?? 0) }
        }
        return out
    }

    func expire(before: Double) throws {
        try locked {
            try $0.query(
                "DELETE FROM jobs WHERE finished IS NOT NULL AND finished < ? AND (webhook_state IS NULL OR webhook_state <> 'pending')",
                .double(before))
        }
    }

    // MARK: work distribution

    func claim(owner: String, leaseUntil: Double, maxAttempts: Int, now: Double, scratch: String) throws -> (ClaimedJob?, expired: Int) {
        let skip = dialect.skipLocked
        let (claimed, abandoned, expired) = try locked { c -> ((id: String, options: String)?, [String], Int) in
            try c.transaction {
                let dead = try c.query(
                    "SELECT id, attempts FROM jobs WHERE status = 'running' AND lease_until < ? AND attempts >= ? ORDER BY seq\(skip)",
                    .double(now), .int(Int64(maxAttempts)))
                for row in dead {
                    let error = ProblemError(
                        500, "the job was started \(row.int(1) ?? 0) times and its replica stopped each time (lease expired; jobs.max_attempts)")
                    try Self.terminate(c, id: row.text(0) ?? "", status: .failed, result: nil, error: error, now: now, guardSQL: "status = 'running'", [])
                }
                guard
                    let row = try c.query(
                        "SELECT id, status, options FROM jobs WHERE status = 'queued' OR (status = 'running' AND lease_until < ?) ORDER BY seq LIMIT 1\(skip)",
                        .double(now)
                    ).first, let id = row.text(0)
                else { return (nil, dead.compactMap { $0.text(0) }, dead.count) }
                try c.query(
                    """
                    UPDATE jobs SET status = 'running', lease_owner = ?, lease_until = ?, attempts = attempts + 1,
                      started = ?, frames = 0, last_t = NULL WHERE id = ?
                    """, .text(owner), .double(leaseUntil), .double(now), .text(id))
                return ((id, row.text(2) ?? "{}"), dead.compactMap { $0.text(0) }, dead.count + (row.text(1) == "running" ? 1 : 0))
            }
        }
        abandoned.forEach(removeUpload)
        guard let claimed, let record = try get(claimed.id) else { return (nil, expired) }
        switch uploads {
        case .files(let dir):
            return (ClaimedJob(record: record, options: claimed.options, upload: dir + "/" + claimed.id, uploadIsCopy: false), expired)
        case .table:
            let copy = scratch + "/affectd-job-\(claimed.id)-\(UUID().uuidString)"
            let bytes = try locked { try $0.blob("SELECT data FROM job_uploads WHERE id = ?", [.text(claimed.id)]) } ?? []
            try Data(bytes).write(to: URL(fileURLWithPath: copy))
            return (ClaimedJob(record: record, options: claimed.options, upload: copy, uploadIsCopy: true), expired)
        }
    }

    func renew(_ progress: [JobProgress], owner: String, leaseUntil: Double) throws -> [String] {
        try locked { c in
            try progress.filter { p in
                try c.query(
                    """
                    UPDATE jobs SET lease_until = ?, frames = ?, last_t = ?, duration = ?
                    WHERE id = ? AND lease_owner = ? AND status = 'running' RETURNING id
                    """, .double(leaseUntil), .int(Int64(p.frames)), p.lastT.map(SQLValue.double) ?? .null,
                    p.duration.map(SQLValue.double) ?? .null, .text(p.id), .text(owner)
                ).isEmpty
            }.map(\.id)
        }
    }

    func finish(_ id: String, owner: String, status: JobStatus, result: String?, error: ProblemError?, progress: JobProgress?, now: Double) throws {
        if let progress { _ = try renew([progress], owner: owner, leaseUntil: now + 60) }
        try locked { c in
            try Self.terminate(
                c, id: id, status: status, result: result, error: error, now: now, guardSQL: "lease_owner = ? AND status = 'running'", [.text(owner)])
        }
        removeUpload(id)
    }

    func release(_ id: String, owner: String) throws {
        try locked {
            try $0.query(
                """
                UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_until = NULL, attempts = attempts - 1, frames = 0, last_t = NULL
                WHERE id = ? AND lease_owner = ? AND status = 'running'
                """, .text(id), .text(owner))
        }
    }

    func cancel(_ id: String, now: Double) throws -> JobRecord? {
        guard let record = try get(id) else { return nil }
        if record.status.isFinished {
            try locked { try $0.query("DELETE FROM jobs WHERE id = ?", .text(id)) }
            return record
        }
        try locked { c in
            try Self.terminate(
                c, id: id, status: .cancelled, result: nil, error: ProblemError(409, "the job was cancelled by DELETE"), now: now,
                guardSQL: "status IN ('queued', 'running')", [])
        }
        // A running job's worker has its upload open (or a local copy): removing it here is safe.
        removeUpload(id)
        return try get(id)
    }

    /// The one statement that ends a job; `guardSQL` says when it may (the first outcome wins).
    private static func terminate(
        _ c: SQLConnection, id: String, status: JobStatus, result: String?, error: ProblemError?, now: Double, guardSQL: String,
        _ guardParams: [SQLValue]
    ) throws {
        let errorJSON = try error.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        try c.query(
            """
            UPDATE jobs SET status = ?, finished = ?, result = ?, error = ?, lease_owner = NULL, lease_until = NULL,
              webhook_state = CASE WHEN callback_url IS NULL THEN NULL ELSE 'pending' END, webhook_next = ?
            WHERE id = ? AND \(guardSQL)
            """, [.text(status.rawValue), .double(now), optional(result), optional(errorJSON), .double(now), .text(id)] + guardParams)
    }

    // MARK: webhooks

    func claimDelivery(now: Double, holdUntil: Double) throws -> JobRecord? {
        let id = try locked { c -> String? in
            try c.transaction {
                guard
                    let id = try c.query(
                        "SELECT id FROM jobs WHERE webhook_state = 'pending' AND webhook_next <= ? ORDER BY webhook_next LIMIT 1\(dialect.skipLocked)",
                        .double(now)
                    ).first?.text(0)
                else { return nil }
                try c.query("UPDATE jobs SET webhook_next = ? WHERE id = ?", .double(holdUntil), .text(id))
                return id
            }
        }
        return try id.flatMap(get)
    }

    func recordDelivery(_ id: String, _ delivery: WebhookDelivery, state: WebhookState, next: Double?) throws {
        try locked { c in
            try c.transaction {
                let stored = try c.query("SELECT deliveries FROM jobs WHERE id = ?", .text(id)).first?.text(0) ?? "[]"
                var list = (try? JSONDecoder().decode([WebhookDelivery].self, from: Data(stored.utf8))) ?? []
                list.append(delivery)
                let text = String(decoding: try JSONEncoder().encode(list), as: UTF8.self)
                try c.query(
                    "UPDATE jobs SET deliveries = ?, webhook_state = ?, webhook_next = ? WHERE id = ?", .text(text), .text(state.rawValue),
                    next.map(SQLValue.double) ?? .null, .text(id))
            }
        }
    }

    // MARK: rows

    private static func optional(_ s: String?) -> SQLValue { s.map(SQLValue.text) ?? .null }

    private static func record(_ row: SQLRow) -> JobRecord {
        var r = JobRecord(id: row.text(0) ?? "", created: row.double(2) ?? 0)
        r.status = row.text(1).flatMap(JobStatus.init(rawValue:)) ?? .failed
        r.started = row.double(3)
        r.finished = row.double(4)
        r.framesDone = Int(row.int(5) ?? 0)
        r.lastT = row.double(6)
        r.duration = row.double(7)
        r.result = row.text(8).flatMap(JSONValue.parse)
        r.error = row.text(9).flatMap { try? JSONDecoder().decode(ProblemError.self, from: Data($0.utf8)) }
        r.attempts = Int(row.int(10) ?? 0)
        r.callbackURL = row.text(11)
        r.metadata = row.text(12).flatMap(JSONValue.parse)
        r.webhookState = row.text(13).flatMap(WebhookState.init(rawValue:))
        r.deliveries = row.text(14).flatMap { try? JSONDecoder().decode([WebhookDelivery].self, from: Data($0.utf8)) } ?? []
        return r
    }
}
