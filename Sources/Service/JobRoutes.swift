// /v1/jobs: store the upload and the job durably, answer 202 (a worker of any replica claims it
// later); GET /v1/jobs lists records, GET /v1/jobs/{id} reads one, DELETE cancels an unfinished
// job or removes a finished one. Any replica answers: everything is in the store.
import Affect
import Foundation
import HTTP
import Media

extension Service {
    /// The job's own fields besides the media and the analysis options (query parameters or parts).
    static let jobExtras = ["callback_url", "metadata"]
    static let maxMetadataBytes = 16 << 10
    static let maxIdempotencyKey = 255
    static let maxListLimit = 500

    func submitJob(_ request: HTTPRequest, _ exchange: Exchange) throws {
        let parsed = try input.clip(request, allowStream: false, extras: Self.jobExtras)
        guard case .clip(let upload) = parsed.work else { throw ProblemError(500, "a job is a clip") }
        let callback = try callbackURL(parsed.extras["callback_url"])
        let metadata = try metadata(parsed.extras["metadata"])
        let key = try idempotencyKey(request.head.headers["Idempotency-Key"])
        let options = try ResultJSON.encode(parsed.options)
        let uploadPart: Digest.Part =
            switch upload {
            case .memory(let data): .bytes(data)
            case .file(let path): .file(path)
            }
        let hash = try Digest.sha256([.bytes(options + [0] + Data((callback ?? "").utf8) + [0] + Data((metadata ?? "").utf8) + [0]), uploadPart])
        let job = NewJob(
            id: Self.newJobID(), options: String(decoding: options, as: UTF8.self), callbackURL: callback, metadata: metadata,
            idempotencyKey: key, bodyHash: hash)
        let created = try store { try jobs.create(job, upload: upload, maxUnfinished: config.maxJobRecords, now: Self.now) }
        switch created {
        case .created(let record):
            runner.wake.signal()
            exchange.send(try .json(202, record, headers: HTTPHeaders([("Location", "/v1/jobs/\(record.id)")])))
        case .replayed(let record):
            exchange.send(try .json(202, record, headers: HTTPHeaders([("Location", "/v1/jobs/\(record.id)"), ("Idempotent-Replayed", "true")])))
        case .conflict:
            throw ProblemError(409, "Idempotency-Key \(key ?? "") was used before with a different request (media, options, callback_url or metadata)")
        case .full:
            throw ProblemError(
                config.overloadStatus, "\(config.maxJobRecords) unfinished jobs exist (jobs.max_records); retry later", headers: retryAfter)
        }
    }

    func callbackURL(_ text: String?) throws(ProblemError) -> String? {
        guard let text else { return nil }
        guard let url = CallbackURL(text) else {
            throw ProblemError(400, "callback_url must be an http:// or https:// URL of at most \(CallbackURL.maxLength) characters")
        }
        guard url.isAllowed(by: config.webhookAllow) else {
            throw ProblemError(400, "callback_url \(url.origin) is not allowed: jobs.webhook_allow lists the origins callbacks may go to (none by default)")
        }
        return text
    }

    func metadata(_ text: String?) throws(ProblemError) -> String? {
        guard let text else { return nil }
        guard text.utf8.count <= Self.maxMetadataBytes else { throw ProblemError(413, "metadata exceeds \(Self.maxMetadataBytes) bytes") }
        guard case .object = JSONValue.parse(text) else { throw ProblemError(400, "metadata must be a JSON object") }
        return text
    }

    func idempotencyKey(_ text: String?) throws(ProblemError) -> String? {
        guard let text else { return nil }
        guard (1...Self.maxIdempotencyKey).contains(text.utf8.count), text.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw ProblemError(400, "Idempotency-Key must be 1 to \(Self.maxIdempotencyKey) visible ASCII characters")
        }
        return text
    }

    static func newJobID() -> String { Digest.hex((0..<12).map { _ in UInt8.random(in: 0...255) }) }

    func job(_ id: String) throws(ProblemError) -> JobRecord {
        guard let record = try store({ try jobs.get(id) }) else { throw ProblemError(404, "no job \(id) (unknown, or expired after jobs.retention)") }
        return record
    }

    /// GET /v1/jobs?status=&limit=&cursor=: records in creation order, without their results.
    func listJobs(_ query: Substring?) throws(ProblemError) -> JobList {
        var values = try QueryDecoder.parse(query)
        let status = try values.removeValue(forKey: "status").map { s throws(ProblemError) in
            guard let status = JobStatus(rawValue: s) else {
                throw ProblemError(400, "status must be one of \(JobStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return status
        }
        let limit = try values.removeValue(forKey: "limit").map { s throws(ProblemError) in
            guard let n = Int(s), (1...Self.maxListLimit).contains(n) else { throw ProblemError(400, "limit must be an integer in 1...\(Self.maxListLimit)") }
            return n
        }
        let cursor = try values.removeValue(forKey: "cursor").map { s throws(ProblemError) in
            guard let c = Int64(s), c >= 0 else { throw ProblemError(400, "cursor must be a next_cursor this listing returned") }
            return c
        }
        if let unknown = values.keys.sorted().first { throw ProblemError(400, "unknown parameter \"\(unknown)\" (status, limit, cursor)") }
        let page = try store { try jobs.list(status: status, cursor: cursor, limit: limit ?? 50) }
        return JobList(jobs: page.jobs.map(\.summary), nextCursor: page.nextCursor)
    }

    /// Cancels a job that has not finished (the record says so at once; the replica running it
    /// stops at its next lease renewal, this one at once); removes a finished one.
    func cancelJob(_ id: String) throws(ProblemError) -> JobRecord {
        guard let record = try store({ try jobs.cancel(id, now: Self.now) }) else {
            throw ProblemError(404, "no job \(id) (unknown, or expired after jobs.retention)")
        }
        if let ticket = runner.held.withLock({ $0[id]?.ticket }) {
            ticket.cancel(.userRequest)
            runner.drop(id)
        }
        webhooks.wake()
        return record
    }

    /// A store operation; its failure is the store's, answered 503 (another replica, or a retry, may succeed).
    func store<T>(_ body: () throws -> T) throws(ProblemError) -> T {
        do { return try body() } catch let p as ProblemError { throw p } catch {
            logger.error("job store failed", metadata: ["error": "\(error)"])
            throw ProblemError(503, "the job store is unavailable; retry later", headers: retryAfter)
        }
    }
}

/// GET /v1/jobs (openapi.yaml "JobList").
struct JobList: Encodable {
    let jobs: [JobRecord]
    let nextCursor: String?

    enum CodingKeys: String, CodingKey { case jobs, nextCursor = "next_cursor" }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(jobs, forKey: .jobs)
        try c.encode(nextCursor, forKey: .nextCursor)
    }
}
