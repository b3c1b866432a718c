import Foundation

/// Which kind of request a session serves: interactive ones (a client waiting on the answer) are
/// picked before batch ones (async jobs) in proportion to their weights.
public enum WorkClass: String, Sendable, CaseIterable {
    case interactive
    case batch
}

/// What the scheduler reports, so a server can expose it (Pipeline itself knows no metrics library).
public protocol SchedulerObserver: Sendable {
    /// A chunk left its session's queue after `wait` seconds.
    func chunkStarted(_ workClass: WorkClass, wait: Double)
    /// A compute thread spent `busy` seconds (wall) running one chunk.
    func chunkFinished(_ workClass: WorkClass, busy: Double)
}

/// One pool of compute threads shared by every analysis: each analysis opens a session and submits
/// its chunks there, and a free thread takes the next chunk round-robin across the sessions that
/// have one queued, the classes interleaved by weight (stride scheduling). An idle pool gives a lone
/// session every thread; a busy one shares them chunk by chunk, so a short request waits for at most
/// one chunk per thread, never for a whole clip.
public final class FrameScheduler: @unchecked Sendable {
    public struct Weights: Sendable, Equatable {
        public var interactive: Int
        public var batch: Int
        public init(interactive: Int = 4, batch: Int = 1) { self.interactive = interactive; self.batch = batch }
        func of(_ c: WorkClass) -> Int { max(1, c == .interactive ? interactive : batch) }
    }

    public let threads: Int
    let weights: Weights
    let observer: SchedulerObserver?

    // Guarded by `cond`.
    let cond = NSCondition()
    var lanes: [WorkClass: Lane] = [:]
    var stopped = false
    var exited = 0

    /// Sessions of one class in arrival order, the round-robin cursor, and the class's stride pass.
    struct Lane {
        var sessions: [SchedulerSession] = []
        var cursor = 0
        var pass = 0.0
    }

    public init(threads: Int, weights: Weights = Weights(), observer: SchedulerObserver? = nil) {
        self.threads = max(1, threads)
        self.weights = weights
        self.observer = observer
        for c in WorkClass.allCases { lanes[c] = Lane() }
        for index in 0..<self.threads {
            let t = Thread { [self] in run(index) }
            t.name = "frame-\(index)"
            t.stackSize = 8 << 20
            t.start()
        }
    }

    /// A new session: at most `capacity` of its chunks are queued or running at once (its
    /// submitter waits beyond that, which bounds the memory of decoded frames per request).
    public func session(_ workClass: WorkClass, capacity: Int) -> SchedulerSession {
        let s = SchedulerSession(scheduler: self, workClass: workClass, capacity: max(1, capacity))
        cond.lock()
        lanes[workClass]!.sessions.append(s)
        cond.unlock()
        return s
    }

    /// Lets the threads finish what is queued, then end; later submissions are refused.
    public func stop() {
        cond.lock()
        stopped = true
        cond.broadcast()
        cond.unlock()
    }

    /// Stops and waits until every thread has ended (tests).
    func stopAndWait() {
        stop()
        cond.lock()
        while exited < threads { cond.wait() }
        cond.unlock()
    }

    /// Chunks queued or running, per session, in arrival order (tests and diagnostics).
    var inFlight: [Int] {
        cond.lock(); defer { cond.unlock() }
        return WorkClass.allCases.flatMap { lanes[$0]!.sessions.map { $0.queue.count + $0.running + $0.parked } }
    }

    private func run(_ index: Int) {
        cond.lock()
        while true {
            guard let (session, item) = nextLocked() else {
                if stopped { break }
                cond.wait()
                continue
            }
            session.running += 1
            cond.unlock()
            let start = Clock.wall()
            observer?.chunkStarted(session.workClass, wait: start - item.enqueued)
            item.run(index)
            observer?.chunkFinished(session.workClass, busy: Clock.wall() - start)
            cond.lock()
            session.running -= 1
            removeIfDoneLocked(session)
            cond.broadcast()
        }
        exited += 1
        cond.broadcast()
        cond.unlock()
    }

    /// The class with work and the lowest pass, then its next session round-robin. A class that had
    /// nothing queued catches up to the pass of the one picked, so idling banks no credit.
    private func nextLocked() -> (SchedulerSession, SchedulerSession.Item)? {
        let ready = WorkClass.allCases.filter { c in lanes[c]!.sessions.contains { !$0.queue.isEmpty } }
        guard let c = ready.min(by: { lanes[$0]!.pass < lanes[$1]!.pass }) else { return nil }
        var lane = lanes[c]!
        let picked = lane.pass
        lane.pass += 1 / Double(weights.of(c))
        let n = lane.sessions.count
        var found: SchedulerSession?
        for step in 0..<n {
            let s = lane.sessions[(lane.cursor + step) % n]
            if !s.queue.isEmpty {
                found = s
                lane.cursor = (lane.cursor + step + 1) % n
                break
            }
        }
        lanes[c] = lane
        for other in WorkClass.allCases where !ready.contains(other) { lanes[other]!.pass = max(lanes[other]!.pass, picked) }
        guard let s = found else { return nil }
        return (s, s.queue.removeFirst())
    }

    func removeIfDoneLocked(_ s: SchedulerSession) {
        guard s.finished, s.queue.isEmpty, s.running == 0, let i = lanes[s.workClass]!.sessions.firstIndex(where: { $0 === s }) else { return }
        lanes[s.workClass]!.sessions.remove(at: i)
        if lanes[s.workClass]!.cursor > i { lanes[s.workClass]!.cursor -= 1 }
    }
}

/// One analysis's share of a `FrameScheduler`: its submitter queues chunks (waiting while
/// `capacity` are in flight), its collector may cancel it (queued chunks are discarded at once).
public final class SchedulerSession: @unchecked Sendable {
    struct Item {
        let run: (Int) -> Void
        let discard: () -> Void
        let enqueued: Double
    }

    let scheduler: FrameScheduler
    public let workClass: WorkClass
    let capacity: Int
    // Guarded by the scheduler's `cond`.
    var queue: [Item] = []
    var running = 0
    /// Chunks whose run returned before they were settled (`park`).
    var parked = 0
    var cancelled = false
    var finished = false

    init(scheduler: FrameScheduler, workClass: WorkClass, capacity: Int) {
        self.scheduler = scheduler
        self.workClass = workClass
        self.capacity = capacity
    }

    /// Queues `run` (called on a compute thread with that thread's index). Waits while the session
    /// has `capacity` chunks in flight. False, with nothing queued, once the session is cancelled or
    /// finished or the scheduler stopped: the caller still owns what `discard` would free.
    public func submit(run: @escaping (Int) -> Void, discard: @escaping () -> Void) -> Bool {
        let cond = scheduler.cond
        cond.lock(); defer { cond.unlock() }
        while !cancelled && !finished && !scheduler.stopped && queue.count + running + parked >= capacity { cond.wait() }
        guard !cancelled && !finished && !scheduler.stopped else { return false }
        queue.append(Item(run: run, discard: discard, enqueued: Clock.wall()))
        cond.broadcast()
        return true
    }

    /// A running chunk whose work goes on after its run returns (it waits for an earlier chunk's
    /// result): it keeps counting against `capacity` until `unpark`, so decoded frames stay bounded.
    public func park() {
        scheduler.cond.lock()
        parked += 1
        scheduler.cond.unlock()
    }

    public func unpark() {
        let cond = scheduler.cond
        cond.lock()
        parked -= 1
        cond.broadcast()
        cond.unlock()
    }

    /// Discards every queued chunk and refuses new ones; chunks already running finish.
    public func cancel() {
        let cond = scheduler.cond
        cond.lock()
        cancelled = true
        let dropped = queue
        queue = []
        cond.broadcast()
        cond.unlock()
        for item in dropped { item.discard() }
    }

    /// No more chunks: the session leaves the scheduler once its queued chunks have run.
    public func finish() {
        let cond = scheduler.cond
        cond.lock()
        finished = true
        scheduler.removeIfDoneLocked(self)
        cond.broadcast()
        cond.unlock()
    }
}
