// Delivers finished jobs to their callback URLs on a thread of its own (a worker never waits for a
// receiver): the job record as JSON, signed like Stripe's webhooks, retried with exponential
// backoff and jitter until `jobs.webhook_retry_for` after the job finished. Every attempt is
// recorded on the job. Any replica delivers any due webhook (the store hands each to one).
import Affect
import Foundation
import Synchronization

final class WebhookSender: Sendable {
    let store: JobStore
    let config: ServiceConfig
    let metrics: ServiceMetrics
    let tls: WebhookTLS
    let stopped = Atomic<Bool>(false)
    let signal = DispatchSemaphore(value: 0)
    let exited = DispatchSemaphore(value: 0)

    /// The longest wait between two attempts.
    static let maxBackoff = 300.0

    init(store: JobStore, config: ServiceConfig, metrics: ServiceMetrics) throws(ConfigError) {
        self.store = store
        self.config = config
        self.metrics = metrics
        tls = try WebhookTLS(caFile: config.webhookCAFile)
    }

    func start() {
        let t = Thread { [self] in loop() }
        t.name = "webhooks"
        t.start()
    }

    func wake() { signal.signal() }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        signal.signal()
        exited.wait()
    }

    func loop() {
        while !stopped.load(ordering: .relaxed) {
            let now = Date().timeIntervalSince1970
            // Held long enough for one attempt; a replica that dies mid-attempt leaves it due again after that.
            if let record = try? store.claimDelivery(now: now, holdUntil: now + config.webhookTimeout + 30) {
                deliver(record)
                continue
            }
            _ = signal.wait(timeout: .now() + 0.25)
        }
        exited.signal()
    }

    /// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
    static func signature(secret: String, time: Int, body: [UInt8]) -> String {
        "t=\(time),v1=\(Digest.hmacSHA256(key: secret, Array("\(time).".utf8) + body))"
    }

    func deliver(_ record: JobRecord) {
        let started = Date()
        var status: Int?
        var failure: String?
        let url = record.callbackURL.flatMap(CallbackURL.init).flatMap { $0.isAllowed(by: config.webhookAllow) ? $0 : nil }
        if let url {
            do {
                let body = Array(try ResultJSON.encode(record))
                let headers = [
                    ("Content-Type", "application/json"),
                    ("affectd-signature", Self.signature(secret: config.webhookSecret, time: Int(started.timeIntervalSince1970), body: body)),
                    ("affectd-job-id", record.id),
                ]
                status = try WebhookClient(timeout: config.webhookTimeout, tls: tls).post(url, headers: headers, body: body)
                if let s = status, !(200..<300).contains(s) { failure = "the receiver answered \(s)" }
            } catch {
                failure = "\(error)"
            }
        } else {
            failure = "\(record.callbackURL ?? "") is not allowed by jobs.webhook_allow"
        }
        let attempts = record.deliveries.count + 1
        let delivery = WebhookDelivery(
            at: JobRecord.time(started.timeIntervalSince1970), status: status, error: failure,
            durationMs: Int(Date().timeIntervalSince(started) * 1000))
        let outcome: (WebhookState, Double?, String)
        if failure == nil {
            outcome = (.delivered, nil, "delivered")
        } else {
            // Equal jitter: half the backoff fixed, half random, so retries of many jobs spread out.
            let backoff = min(Self.maxBackoff, config.webhookBackoff * pow(2, Double(attempts - 1)))
            let next = Date().timeIntervalSince1970 + backoff * Double.random(in: 0.5...1)
            let giveUp = url == nil || next > (record.finished ?? 0) + config.webhookRetryFor
            outcome = giveUp ? (.failed, nil, "gave_up") : (.pending, next, "retry")
        }
        metrics.webhookDelivery(outcome: outcome.2)
        try? store.recordDelivery(record.id, delivery, state: outcome.0, next: outcome.1)
    }
}
