// This replica's share of the job store's work: one thread claims queued jobs while a worker is
// free, renews the leases of the jobs it holds (saving their progress with each renewal), and
// stops a job whose record was cancelled or taken over. At shutdown it stops claiming, waits for
// running jobs until the drain deadline, then gives the rest back to the queue.
import Affect
import Foundation
import Media
import Synchronization

final class JobRunner: Sendable {
    /// A job this replica holds.
    struct Held {
        let ticket: JobTicket
        let copy: String?
        /// When this replica claimed it (uptime nanoseconds) and how long the claim took, for the log
        /// line of its outcome.
        let claimed = DispatchTime.now().uptimeNanoseconds
        let claimNanoseconds: UInt64
        var frames = 0
        var lastT: Double?
        var duration: Double?
    }

    /// Names this process in the store's leases.
    let owner: String
    let held = Mutex<[String: Held]>([:])
    let claiming = Atomic<Bool>(true)
    let stopped = Atomic<Bool>(false)
    let wake = DispatchSemaphore(value: 0)
    let finishedLoop = DispatchSemaphore(value: 0)

    init() {
        owner = "\(ProcessInfo.processInfo.hostName)/\(getpid())/\(UUID().uuidString.prefix(8))"
    }

    var heldCount: Int { held.withLock { $0.count } }

    /// Forgets a job (finished, cancelled, released) and wakes the loop to claim another.
    func drop(_ id: String) {
        let copy = held.withLock { $0.removeValue(forKey: id)?.copy }
        if let copy { unlink(copy) }
        wake.signal()
    }

    func progress(_ id: String, _ change: (inout Held) -> Void) { held.withLock { h in if h[id] != nil { change(&h[id]!) } } }
}

extension Service {
    static var now: Double { Date().timeIntervalSince1970 }

    /// The claim-and-renew loop, on its own thread until `drainJobs` stops it.
    func startJobRunner() {
        let t = Thread { [self] in runnerLoop() }
        t.name = "jobs"
        t.start()
    }

    func runnerLoop() {
        var lastRenewal = 0.0
        var lastSweep = 0.0
        let renewEvery = config.jobLease / 3
        while !runner.stopped.load(ordering: .relaxed) {
            let now = Self.now
            if now - lastRenewal >= renewEvery {
                renewLeases()
                lastRenewal = now
            }
            if now - lastSweep >= 5 {
                sweep()
                lastSweep = now
            }
            if runner.claiming.load(ordering: .relaxed), runner.heldCount < pool.workerCount, claimOne() { continue }
            _ = runner.wake.wait(timeout: .now() + min(config.jobPollInterval, renewEvery))
        }
        runner.finishedLoop.signal()
    }

    /// Claims one job and hands it to the pool; false when there was none, the store failed or the
    /// pool refused it (the loop then waits before trying again).
    func claimOne() -> Bool {
        let now = Self.now
        let t0 = DispatchTime.now().uptimeNanoseconds
        let claimed: ClaimedJob?
        do {
            let (job, expired) = try jobs.claim(
                owner: runner.owner, leaseUntil: now + config.jobLease, maxAttempts: config.jobMaxAttempts, now: now,
                scratch: config.temporaryDirectory)
            if expired > 0 { metrics.leaseExpired(count: expired) }
            claimed = job
        } catch {
            logger.error("job store: claim failed", metadata: ["error": "\(error)"])
            return false
        }
        guard let claimed else { return false }
        return start(claimed, claimNanoseconds: DispatchTime.now().uptimeNanoseconds - t0)
    }

    /// Whether the pool took the job (when full of synchronous requests, the job goes back to the queue).
    func start(_ claimed: ClaimedJob, claimNanoseconds: UInt64) -> Bool {
        let id = claimed.record.id
        let ticket = JobTicket()
        runner.held.withLock {
            $0[id] = JobRunner.Held(ticket: ticket, copy: claimed.uploadIsCopy ? claimed.upload : nil, claimNanoseconds: claimNanoseconds)
        }
        var parsed: ParsedRequest
        do { parsed = try storedRequest(claimed) } catch {
            finishJob(id, .failed, error: problem(for: error, ticket: nil))
            return true
        }
        parsed.request.workClass = .batch  // no client waits on the connection: interactive requests go first
        let result = pool.submit(ticket, .batch) { [self, parsed] ctx, ticket in
            do {
                // The record shows the clip's duration while it runs; the analysis reads the input opened here.
                var reader: MediaReader?
                if case .clip(let source) = parsed.work {
                    let opened = try MediaReader(source: source, limits: parsed.request.limits)
                    runner.progress(id) { $0.duration = opened.probe.duration }
                    reader = opened
                }
                let output = try execute(parsed, reader: reader, &ctx, ticket) { [runner] frame in
                    runner.progress(id) {
                        $0.frames += 1
                        $0.lastT = frame.t
                    }
                }
                finishJob(id, .succeeded, result: String(decoding: try ResultJSON.encode(output), as: UTF8.self))
            } catch {
                switch ticket.cancelReason {
                case .shutdown?, .userRequest?: runner.drop(id)  // given back, or the record already says cancelled
                default: finishJob(id, .failed, error: problem(for: error, ticket: ticket))
                }
            }
        }
        guard result == .accepted else {
            releaseJob(id)
            return false
        }
        ticket.onCancel { [self] reason in
            if reason == .deadline { finishJob(id, .failed, error: ProblemError(504, deadlineDetail)) }
        }
        armDeadline(ticket)
        return true
    }

    /// The request a claimed job stands for: its stored options over today's configuration, its upload.
    func storedRequest(_ claimed: ClaimedJob) throws -> ParsedRequest {
        let options = try JSONDecoder().decode(AnalysisOptions.self, from: Data(claimed.options.utf8))
        return ParsedRequest(
            work: .clip(.file(claimed.upload)), request: try options.request(config: config, limits: input.limits, allowStream: false),
            stream: false)
    }

    func finishJob(_ id: String, _ status: JobStatus, result: String? = nil, error: ProblemError? = nil) {
        let held = runner.held.withLock { $0[id] }
        let progress = held.map { JobProgress(id: id, frames: $0.frames, lastT: $0.lastT, duration: $0.duration) }
        let t0 = DispatchTime.now().uptimeNanoseconds
        do { try jobs.finish(id, owner: runner.owner, status: status, result: result, error: error, progress: progress, now: Self.now) } catch {
            // The lease runs out and another replica runs the job again.
            logger.error("job store: could not record the outcome", metadata: ["job": "\(id)", "error": "\(error)"])
        }
        let t1 = DispatchTime.now().uptimeNanoseconds
        logger.info(
            "job finished",
            metadata: [
                "job": "\(id)", "status": "\(status.rawValue)", "run_ms": "\((t0 - (held?.claimed ?? t0)) / 1_000_000)",
                "claim_ms": "\(String(format: "%.3f", Double(held?.claimNanoseconds ?? 0) / 1e6))",
                "finish_ms": "\(String(format: "%.3f", Double(t1 - t0) / 1e6))",
            ])
        runner.drop(id)
        webhooks.wake()
    }

    func releaseJob(_ id: String) {
        do { try jobs.release(id, owner: runner.owner) } catch {
            logger.error("job store: could not release", metadata: ["job": "\(id)", "error": "\(error)"])
        }
        runner.drop(id)
    }

    /// Extends every lease this replica holds; stops the jobs that are no longer its own.
    func renewLeases() {
        let progress = runner.held.withLock { h in
            h.map { JobProgress(id: $0.key, frames: $0.value.frames, lastT: $0.value.lastT, duration: $0.value.duration) }
        }
        guard !progress.isEmpty else { return }
        do {
            let lost = try jobs.renew(progress, owner: runner.owner, leaseUntil: Self.now + config.jobLease)
            for id in lost {
                let ticket = runner.held.withLock { $0[id]?.ticket }
                ticket?.cancel(.userRequest)
                runner.drop(id)
            }
        } catch {
            logger.error("job store: lease renewal failed", metadata: ["error": "\(error)"])
        }
    }

    /// Expires old records and publishes the store's counts.
    func sweep() {
        do {
            try jobs.expire(before: Self.now - config.jobRetention)
            metrics.recordJobCounts(try jobs.counts())
        } catch {
            logger.error("job store: sweep failed", metadata: ["error": "\(error)"])
        }
    }

    /// Shutdown: no more claims; running jobs get until `deadline`, then go back to the queue.
    func drainJobs(until deadline: Date) {
        runner.claiming.store(false, ordering: .relaxed)
        while runner.heldCount > 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        let remaining = runner.held.withLock { $0 }
        for (id, held) in remaining {
            releaseJob(id)
            held.ticket.cancel(.shutdown)
        }
        if !remaining.isEmpty { logger.notice("jobs released to the queue", metadata: ["count": "\(remaining.count)"]) }
        runner.stopped.store(true, ordering: .relaxed)
        runner.wake.signal()
        runner.finishedLoop.wait()
    }
}
