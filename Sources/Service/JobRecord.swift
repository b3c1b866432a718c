// An async job as the store keeps it and GET /v1/jobs/{id} shows it (openapi.yaml "Job"): status,
// progress, result or error, attempts, and the webhook's deliveries.
import Foundation

enum JobStatus: String, Codable, CaseIterable, Sendable {
    case queued, running, succeeded, failed, cancelled

    var isFinished: Bool { self == .succeeded || self == .failed || self == .cancelled }
}

/// A webhook's state: pending until delivered or given up.
enum WebhookState: String, Codable, Sendable { case pending, delivered, failed }

/// One POST to the callback URL: when, and the status the receiver answered or why it got none.
struct WebhookDelivery: Codable, Sendable, Equatable {
    let at: String
    let status: Int?
    let error: String?
    let durationMs: Int

    enum CodingKeys: String, CodingKey { case at, status, error, durationMs = "duration_ms" }
}

struct JobRecord: Sendable {
    let id: String
    var status: JobStatus = .queued
    let created: Double
    var started: Double?
    var finished: Double?
    /// Analysed frames so far, and the clip's duration and last frame time when known.
    var framesDone = 0
    var lastT: Double?
    var duration: Double?
    /// The result as stored: JSON text of the analysis output.
    var result: JSONValue?
    var error: ProblemError?
    /// How many times a worker started the job (a replica that died holding it counts; one that
    /// gave it back at shutdown does not).
    var attempts = 0
    var callbackURL: String?
    var metadata: JSONValue?
    var webhookState: WebhookState?
    var deliveries: [WebhookDelivery] = []

    var progress: Double {
        if status == .succeeded { return 1 }
        if status == .running, let t = lastT, let d = duration, d > 0 { return min(0.99, max(0, t / d)) }
        return 0
    }

    /// The listing shows records without their (large) result.
    var summary: JobRecord {
        var r = self
        r.result = nil
        return r
    }
}

/// `started` and `finished` are null until then; `error`, `result`, `callback_url`, `metadata` and
/// `webhook` appear once the job has them.
extension JobRecord: Encodable {
    enum CodingKeys: String, CodingKey {
        case id, status, created, started, finished, progress, framesAnalyzed = "frames_analyzed", error, result, attempts
        case callbackURL = "callback_url", metadata, webhook
    }

    struct Webhook: Encodable {
        let state: WebhookState
        let deliveries: [WebhookDelivery]
    }

    static func time(_ t: Double) -> String { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: t)) }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(status, forKey: .status)
        try c.encode(Self.time(created), forKey: .created)
        try c.encode(started.map(Self.time), forKey: .started)
        try c.encode(finished.map(Self.time), forKey: .finished)
        try c.encode(progress, forKey: .progress)
        try c.encode(framesDone, forKey: .framesAnalyzed)
        try c.encode(attempts, forKey: .attempts)
        try c.encodeIfPresent(error, forKey: .error)
        try c.encodeIfPresent(result, forKey: .result)
        try c.encodeIfPresent(callbackURL, forKey: .callbackURL)
        try c.encodeIfPresent(metadata, forKey: .metadata)
        if let webhookState { try c.encode(Webhook(state: webhookState, deliveries: deliveries), forKey: .webhook) }
    }
}
