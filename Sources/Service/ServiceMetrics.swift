// The service's metrics, recorded through swift-metrics into a swift-prometheus registry of its own
// (no global bootstrap, so several services can live in one test process) and served at /metrics.
import CoreMetrics
import Metrics
import Pipeline
import Prometheus
import Synchronization

public final class ServiceMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory

    let queueDepth: CoreMetrics.Gauge
    let inFlight: CoreMetrics.Gauge
    let busyWorkers: CoreMetrics.Gauge
    let queueWait: Metrics.Timer
    let decodeTime: Metrics.Timer
    let framesAnalysed: CoreMetrics.Counter
    let facesFound: CoreMetrics.Counter
    /// Request counters and durations by (route, status), made on first use.
    let requestMetrics = Mutex<[String: (CoreMetrics.Counter, Metrics.Timer)]>([:])
    let rejected = Mutex<[String: CoreMetrics.Counter]>([:])
    let stageTimers = Mutex<[String: Metrics.Timer]>([:])
    /// In-flight requests, counted here because gauges only take absolute values.
    let inFlightCount = Mutex(0)
    /// Jobs in the store by status (the whole store, as every replica sees it; the autoscaler reads `queued`).
    let jobsByStatus: [String: CoreMetrics.Gauge]
    let leaseExpiries: CoreMetrics.Counter
    let webhookDeliveries: [String: CoreMetrics.Counter]
    static let webhookOutcomes = ["delivered", "retry", "gave_up"]
    /// Per work class: a chunk's wait in its request's queue, and compute-thread seconds spent on it.
    let chunkWait: [WorkClass: Metrics.Timer]
    let busySeconds: [WorkClass: CoreMetrics.FloatingPointCounter]
    /// Live streams: sessions open, frames by outcome, and an analysed frame's arrival-to-estimate time.
    let streamSessionsOpen: CoreMetrics.Gauge
    let streamFrames: [StreamFrameOutcome: CoreMetrics.Counter]
    let streamLatency: Metrics.Timer

    public init() {
        var f = PrometheusMetricsFactory(registry: registry)
        // Requests span microseconds (/healthz) to minutes (a long clip).
        f.defaultDurationHistogramBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]
            .map { Duration.nanoseconds(Int64($0 * 1e9)) }
        factory = f
        queueDepth = CoreMetrics.Gauge(label: "affectd_queue_depth", factory: f)
        inFlight = CoreMetrics.Gauge(label: "affectd_requests_in_flight", factory: f)
        busyWorkers = CoreMetrics.Gauge(label: "affectd_busy_workers", factory: f)
        queueWait = Metrics.Timer(label: "affectd_queue_wait_seconds", factory: f)
        decodeTime = Metrics.Timer(label: "affectd_decode_seconds", factory: f)
        framesAnalysed = CoreMetrics.Counter(label: "affectd_frames_analysed_total", factory: f)
        facesFound = CoreMetrics.Counter(label: "affectd_faces_found_total", factory: f)
        jobsByStatus = Dictionary(
            uniqueKeysWithValues: JobStatus.allCases.map {
                ($0.rawValue, CoreMetrics.Gauge(label: "affectd_jobs", dimensions: [("status", $0.rawValue)], factory: f))
            })
        leaseExpiries = CoreMetrics.Counter(label: "affectd_job_lease_expiries_total", factory: f)
        webhookDeliveries = Dictionary(
            uniqueKeysWithValues: Self.webhookOutcomes.map {
                ($0, CoreMetrics.Counter(label: "affectd_webhook_deliveries_total", dimensions: [("outcome", $0)], factory: f))
            })
        jobsByStatus.values.forEach { $0.record(0) }
        leaseExpiries.increment(by: 0)
        webhookDeliveries.values.forEach { $0.increment(by: 0) }
        chunkWait = Dictionary(
            uniqueKeysWithValues: WorkClass.allCases.map {
                ($0, Metrics.Timer(label: "affectd_scheduler_queue_wait_seconds", dimensions: [("class", $0.rawValue)], factory: f))
            })
        busySeconds = Dictionary(
            uniqueKeysWithValues: WorkClass.allCases.map {
                ($0, CoreMetrics.FloatingPointCounter(label: "affectd_scheduler_busy_seconds_total", dimensions: [("class", $0.rawValue)], factory: f))
            })
        for c in busySeconds.values { c.increment(by: 0.0) }
        streamSessionsOpen = CoreMetrics.Gauge(label: "affectd_stream_sessions", factory: f)
        streamFrames = Dictionary(
            uniqueKeysWithValues: StreamFrameOutcome.allCases.map {
                ($0, CoreMetrics.Counter(label: "affectd_stream_frames_total", dimensions: [("outcome", $0.rawValue)], factory: f))
            })
        streamLatency = Metrics.Timer(label: "affectd_stream_frame_latency_seconds", factory: f)
        streamSessionsOpen.record(0)
        streamFrames.values.forEach { $0.increment(by: 0) }
        queueDepth.record(0)
        inFlight.record(0)
        busyWorkers.record(0)
        framesAnalysed.increment(by: 0)
        facesFound.increment(by: 0)
    }

    /// Counts one answered request and its duration under its route template (never the raw path,
    /// which would let clients create unbounded label values).
    public func recordRequest(route: String, method: String, status: Int, nanoseconds: Int64) {
        let key = "\(route) \(method) \(status)"
        let (counter, timer) = requestMetrics.withLock { m in
            if let existing = m[key] { return existing }
            let dims = [("route", route), ("method", method), ("status", String(status))]
            let made = (
                CoreMetrics.Counter(label: "affectd_requests_total", dimensions: dims, factory: factory),
                Metrics.Timer(label: "affectd_request_duration_seconds", dimensions: dims, factory: factory)
            )
            m[key] = made
            return made
        }
        counter.increment()
        timer.recordNanoseconds(nanoseconds)
    }

    public func requestStarted() {
        inFlight.record(
            inFlightCount.withLock {
                $0 += 1; return $0
            })
    }
    public func requestFinished() {
        inFlight.record(
            inFlightCount.withLock {
                $0 -= 1; return $0
            })
    }

    /// Media refused (by limit or as undecodable), by reason code.
    public func mediaRejected(reason: String) {
        let c = rejected.withLock { r in
            if let c = r[reason] { return c }
            let c = CoreMetrics.Counter(label: "affectd_media_rejected_total", dimensions: [("reason", reason)], factory: factory)
            r[reason] = c
            return c
        }
        c.increment()
    }

    /// Inference time of one pipeline stage (detect, encode, temporal, ...).
    public func recordStage(_ stage: String, nanoseconds: Int64) {
        let t = stageTimers.withLock { s in
            if let t = s[stage] { return t }
            let t = Metrics.Timer(label: "affectd_inference_seconds", dimensions: [("stage", stage)], factory: factory)
            s[stage] = t
            return t
        }
        t.recordNanoseconds(nanoseconds)
    }

    public func recordDecode(nanoseconds: Int64) { decodeTime.recordNanoseconds(nanoseconds) }
    public func recordFrames(_ frames: Int, faces: Int) {
        framesAnalysed.increment(by: Int64(frames))
        facesFound.increment(by: Int64(faces))
    }

    func streamSessions(_ open: Int) { streamSessionsOpen.record(open) }

    /// One live frame's fate; an analysed one also records its latency (arrival to estimate).
    func streamFrame(_ outcome: StreamFrameOutcome, latencyNanoseconds: UInt64? = nil) {
        streamFrames[outcome]?.increment()
        if let latencyNanoseconds { streamLatency.recordNanoseconds(Int64(latencyNanoseconds)) }
    }

    func recordJobCounts(_ counts: [JobStatus: Int]) {
        for status in JobStatus.allCases { jobsByStatus[status.rawValue]?.record(counts[status] ?? 0) }
    }

    /// Leases found expired (a replica died holding the job): each re-queues or fails its job.
    func leaseExpired(count: Int) { leaseExpiries.increment(by: Int64(count)) }

    /// One webhook attempt: `delivered`, `retry` (failed, another attempt is due) or `gave_up`.
    func webhookDelivery(outcome: String) { webhookDeliveries[outcome]?.increment() }

    public func exposition() -> [UInt8] { registry.emitToBuffer() }
}

/// What became of a frame a live session received: analysed, replaced while waiting by a newer one
/// (dropped), or left out by the session's fps cap (skipped).
enum StreamFrameOutcome: String, CaseIterable, Sendable {
    case analysed, dropped, skipped
}

/// The frame scheduler's reports: queue wait per chunk and compute time per work class (the share of
/// worker time is each class's rate of `affectd_scheduler_busy_seconds_total` over their sum).
extension ServiceMetrics: SchedulerObserver {
    public func chunkStarted(_ workClass: WorkClass, wait: Double) {
        chunkWait[workClass]?.recordNanoseconds(Int64(max(0, wait) * 1e9))
    }
    public func chunkFinished(_ workClass: WorkClass, busy: Double) { busySeconds[workClass]?.increment(by: max(0, busy)) }
}
