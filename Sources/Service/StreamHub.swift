// Live sessions of /v1/stream: the session count (stream.max_sessions), the idle sweep
// (stream.idle_timeout) and the scheduler that runs every session's frames on a few LiveWorkers
// (stream.workers threads). A session is in the ready queue at most once and runs one frame at a
// time, so the queue is bounded by the sessions and a busy session cannot starve the others
// (after each frame it goes to the back).
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
    private let sessions = Mutex<[ObjectIdentifier: StreamSession]>([:])
    private let claimed = Atomic<Int>(0)
    private let ready = Mutex<[StreamSession]>([])
    private let wake = DispatchSemaphore(value: 0)
    private let sweeper: DispatchSourceTimer

    init(models: AnalyzerModels, config: ServiceConfig) {
        self.models = models
        tokens = StateToken(key: config.streamStateKey)
        maxSessions = config.streamMaxSessions
        idleTimeout = config.streamIdleTimeout
        sweeper = DispatchSource.makeTimerSource(queue: .global())
        for index in 0..<config.effectiveStreamWorkers {
            let worker = LiveWorker(models: models)
            let thread = Thread { [self] in runWorker(worker) }
            thread.name = "affectd-live-\(index)"
            thread.start()
        }
        let period = min(1, idleTimeout / 4)
        sweeper.schedule(deadline: .now() + period, repeating: period)
        sweeper.setEventHandler { [self] in closeIdle() }
        sweeper.resume()
    }

    /// Takes a session slot; false at stream.max_sessions.
    func claimSlot() -> Bool {
        if claimed.add(1, ordering: .relaxed).newValue <= maxSessions { return true }
        claimed.subtract(1, ordering: .relaxed)
        return false
    }

    func releaseSlot() { claimed.subtract(1, ordering: .relaxed) }

    var openSessions: Int { claimed.load(ordering: .relaxed) }

    func register(_ session: StreamSession) { sessions.withLock { $0[ObjectIdentifier(session)] = session } }
    func unregister(_ session: StreamSession) { sessions.withLock { $0[ObjectIdentifier(session)] = nil } }

    /// Queues a session that has a frame waiting (its caller made sure it is not queued already).
    func schedule(_ session: StreamSession) {
        ready.withLock { $0.append(session) }
        wake.signal()
    }

    private func runWorker(_ worker: LiveWorker) {
        while true {
            wake.wait()
            guard let session = ready.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else { continue }
            if session.runNextFrame(on: worker) { schedule(session) }
        }
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
