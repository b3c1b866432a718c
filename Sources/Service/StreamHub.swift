// Live sessions of /v1/stream: the session count (stream.max_sessions), the idle sweep
// (stream.idle_timeout), and their frames on the service's FrameScheduler as interactive work, so
// the one pool of compute threads bounds every analysis. Each session is a scheduler session with
// at most one frame queued behind the one running (`StreamSession.scheduled`), so it runs one frame
// at a time in order, and round-robin across sessions keeps a busy one from starving the others.
import Dispatch
import Foundation
import Pipeline
import Synchronization

/// `@unchecked`: `sweeper` (a non-Sendable Dispatch object) is set once in init and never touched again.
final class StreamHub: @unchecked Sendable {
    let models: AnalyzerModels
    let tokens: StateToken
    let maxSessions: Int
    let idleTimeout: Double
    private let scheduler: FrameScheduler
    /// Compute thread i alone uses workers[i].
    private let workers: [LiveWorker]
    private let metrics: ServiceMetrics
    private let sessions = Mutex<[ObjectIdentifier: StreamSession]>([:])
    private let claimed = Atomic<Int>(0)
    private let sweeper: DispatchSourceTimer

    init(models: AnalyzerModels, scheduler: FrameScheduler, config: ServiceConfig, metrics: ServiceMetrics) {
        self.models = models
        self.scheduler = scheduler
        self.metrics = metrics
        tokens = StateToken(key: config.streamStateKey)
        maxSessions = config.streamMaxSessions
        idleTimeout = config.streamIdleTimeout
        workers = (0..<scheduler.threads).map { _ in LiveWorker(models: models) }
        sweeper = DispatchSource.makeTimerSource(queue: .global())
        let period = min(1, idleTimeout / 4)
        sweeper.schedule(deadline: .now() + period, repeating: period)
        sweeper.setEventHandler { [self] in closeIdle() }
        sweeper.resume()
    }

    /// Takes a session slot; false at stream.max_sessions.
    func claimSlot() -> Bool {
        let open = claimed.add(1, ordering: .relaxed).newValue
        if open <= maxSessions {
            metrics.streamSessions(open)
            return true
        }
        claimed.subtract(1, ordering: .relaxed)
        return false
    }

    func releaseSlot() { metrics.streamSessions(claimed.subtract(1, ordering: .relaxed).newValue) }

    var openSessions: Int { claimed.load(ordering: .relaxed) }

    /// A new session's share of the compute threads: the frame running and at most one queued.
    func lane() -> SchedulerSession { scheduler.session(.interactive, capacity: 2) }

    func register(_ session: StreamSession) { sessions.withLock { $0[ObjectIdentifier(session)] = session } }

    /// The session leaves the scheduler once a frame it still has queued has run (or been skipped: its socket is closed).
    func unregister(_ session: StreamSession) {
        sessions.withLock { $0[ObjectIdentifier(session)] = nil }
        session.lane.finish()
    }

    /// Queues a session's next frame (its caller made sure the session has none queued already); it
    /// is queued again from its compute thread while another frame waits.
    func schedule(_ session: StreamSession) {
        _ = session.lane.submit(
            run: { [self] thread in if session.runNextFrame(on: workers[thread]) { schedule(session) } },
            discard: {})
    }

    private func closeIdle() {
        let now = DispatchTime.now().uptimeNanoseconds
        let limit = UInt64(idleTimeout * 1e9)
        // A message may land after `now` was read: lastMessage can be the later time.
        for session in sessions.withLock({ Array($0.values) }) where session.lastMessage &+ limit < now {
            session.close(.goingAway, "idle for \(idleTimeout) s")
        }
    }
}
