// Where async jobs live (docs/jobs.md): their records, their uploads, who runs them. Every replica
// reads and writes the same store, so any replica answers for any job, and a job outlives the
// process that accepted it.
import Foundation
import Media

/// A job to create: what the client sent, already checked.
struct NewJob: Sendable {
    let id: String
    /// The analysis options as JSON (AnalysisOptions), read again when a worker claims the job.
    let options: String
    let callbackURL: String?
    let metadata: String?
    let idempotencyKey: String?
    /// SHA-256 of the upload, the options, the callback and the metadata: what the key stands for.
    let bodyHash: String
}

enum JobCreation: Sendable {
    case created(JobRecord)
    /// The idempotency key was used before with the same body: that job.
    case replayed(JobRecord)
    /// The idempotency key was used before with another body.
    case conflict
    /// `jobs.max_records` unfinished jobs exist.
    case full
}

/// A job a worker of this replica now holds a lease on: its options and a local path to its upload.
struct ClaimedJob: Sendable {
    let record: JobRecord
    let options: String
    let upload: String
    /// Whether the path is a local copy (of an upload kept in the database) to delete after the run.
    let uploadIsCopy: Bool
}

/// What a worker reports with each lease renewal.
struct JobProgress: Sendable {
    let id: String
    let frames: Int
    let lastT: Double?
    let duration: Double?
}

struct JobPage: Sendable {
    let jobs: [JobRecord]
    let nextCursor: String?
}

protocol JobStore: Sendable {
    /// Stores the upload durably, then the record (or finds the job an idempotency key names).
    func create(_ job: NewJob, upload: MediaSource, maxUnfinished: Int, now: Double) throws -> JobCreation
    func get(_ id: String) throws -> JobRecord?
    /// Records in creation order after `cursor`, optionally of one status.
    func list(status: JobStatus?, cursor: Int64?, limit: Int) throws -> JobPage
    /// Fails jobs whose lease expired `maxAttempts` times, then takes the oldest queued job or one
    /// whose lease expired. Returns it (if any) and how many expired leases it found.
    func claim(owner: String, leaseUntil: Double, maxAttempts: Int, now: Double, scratch: String) throws -> (ClaimedJob?, expired: Int)
    /// Extends the leases `owner` holds and saves progress; returns the ids that are no longer its
    /// (cancelled, or taken over after its lease expired).
    func renew(_ progress: [JobProgress], owner: String, leaseUntil: Double) throws -> [String]
    /// Records the outcome and the last progress unless the job is no longer `owner`'s (the first outcome wins).
    func finish(_ id: String, owner: String, status: JobStatus, result: String?, error: ProblemError?, progress: JobProgress?, now: Double) throws
    /// Gives a running job back to the queue (shutdown); its attempt does not count.
    func release(_ id: String, owner: String) throws
    /// Cancels an unfinished job (the running replica notices at its next renewal) or deletes a
    /// finished one; nil when there is no such job.
    func cancel(_ id: String, now: Double) throws -> JobRecord?
    func counts() throws -> [JobStatus: Int]
    /// Deletes finished records older than `before` whose webhook is not pending.
    func expire(before: Double) throws
    /// Takes the oldest due webhook, holding it until `holdUntil` so other replicas skip it.
    func claimDelivery(now: Double, holdUntil: Double) throws -> JobRecord?
    func recordDelivery(_ id: String, _ delivery: WebhookDelivery, state: WebhookState, next: Double?) throws
}

extension ProblemError: Decodable {
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(try c.decode(Int.self, forKey: .status), try c.decode(String.self, forKey: .detail))
    }
}
