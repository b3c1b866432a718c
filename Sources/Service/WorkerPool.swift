// Admission: a bounded queue feeding N request threads (the requests analysed at once, whose chunks
// then share the frame scheduler's compute threads). Interactive requests leave the queue before
// batch ones. A full queue refuses at once (the caller answers 503/429); nothing accepted is ever
// dropped silently: a job either runs or its ticket is cancelled, and whoever cancels it (deadline,
// client gone, shutdown) answers for it.
import Foundation
import Pipeline
import Synchronization

/// Why a job stopped early.
public enum CancelReason: String, Sendable {
    case clientGone = "client_gone"
    case deadline
    case userRequest = "cancelled"
    case shutdown
}

/// Shared between the submitter and the worker: cooperative cancellation plus hooks.
public final class JobTicket: Sendable {
    struct State {
        var reason: CancelReason?
        var handlers: [@Sendable (CancelReason) -> Void] = []
    }
    let state = Mutex(State())
    public init() {}

    public var cancelReason: CancelReason? { state.withLock { $0.reason } }
    public var isCancelled: Bool { cancelReason != nil }

    /// The first reason wins; later calls do nothing. Returns whether this call cancelled.
    @discardableResult
    public func cancel(_ reason: CancelReason) -> Bool {
        let handlers = state.withLock { s -> [@Sendable (CancelReason) -> Void]? in
            guard s.reason == nil else { return nil }
            s.reason = reason
            defer { s.handlers = [] }
            return s.handlers
        }
        guard let handlers else { return false }
        for h in handlers { h(reason) }
        return true
    }

    /// Runs `handler` once on cancellation (at once if already cancelled).
    public func onCancel(_ handler: @escaping @Sendable (CancelReason) -> Void) {
        let now = state.withLock { s -> CancelReason? in
            if let r = s.reason { return r }
            s.handlers.append(handler)
            return nil
        }
        if let now { handler(now) }
    }
}

public enum SubmitResult: Sendable, Equatable { case accepted, full, closed }

public final class WorkerPool<Context>: @unchecked Sendable {
    struct Job {
        let ticket: JobTicket
        let enqueued: UInt64
        let run: @Sendable (inout Context, JobTicket) -> Void
    }

    public let workerCount: Int
    public let capacity: Int
    let metrics: ServiceMetrics?
    let makeContext: @Sendable (Int) throws -> Context

    /// A FIFO of one work class.
    struct Queue {
        var items: [Job] = []
        var head = 0
        var count: Int { items.count - head }
        var waiting: ArraySlice<Job> { items[head...] }
        mutating func popFirst() -> Job? {
            guard count > 0 else { return nil }
            defer {
                head += 1
                if head > 64 && head * 2 > items.count { items.removeFirst(head); head = 0 }
            }
            return items[head]
        }
    }

    // Guarded by `cond`.
    let cond = NSCondition()
    var interactive = Queue()
    var batch = Queue()
    var depth: Int { interactive.count + batch.count }
    var open = true
    var busy = 0
    var alive = 0
    var startErrors: [String] = []

    public init(workers: Int, capacity: Int, metrics: ServiceMetrics?, makeContext: @escaping @Sendable (Int) throws -> Context) {
        self.workerCount = workers
        self.capacity = capacity
        self.metrics = metrics
        self.makeContext = makeContext
    }

    /// Starts the threads and waits until each has built its context; throws the first failure.
    public func start() throws {
        var started = 0
        for i in 0..<workerCount {
            let t = Thread { [self] in workerMain(i) }
            t.name = "worker-\(i)"
            t.stackSize = 8 << 20
            t.start()
            started += 1
        }
        cond.lock()
        while alive + startErrors.count < started { cond.wait() }
        let errors = startErrors
        cond.unlock()
        if let first = errors.first {
            close()
            throw WorkerPoolError(message: "a worker could not build its model context: \(first)")
        }
    }

    /// Queues `run`; refuses when `capacity` jobs already wait for a thread (jobs that idle threads
    /// are about to take do not count: a burst of requests must not be refused while threads are
    /// free but not yet awake) or the pool is closed.
    public func submit(
        _ ticket: JobTicket, _ workClass: WorkClass = .interactive, _ run: @escaping @Sendable (inout Context, JobTicket) -> Void
    ) -> SubmitResult {
        cond.lock()
        defer { cond.unlock() }
        guard open else { return .closed }
        guard depth - (alive - busy) < capacity else { return .full }
        let job = Job(ticket: ticket, enqueued: DispatchTime.now().uptimeNanoseconds, run: run)
        if workClass == .interactive { interactive.items.append(job) } else { batch.items.append(job) }
        metrics?.queueDepth.record(depth)
        cond.signal()
        return .accepted
    }

    public struct Snapshot: Sendable { public let depth, busy, alive: Int; public let open: Bool }
    public var snapshot: Snapshot {
        cond.lock(); defer { cond.unlock() }
        return Snapshot(depth: depth, busy: busy, alive: alive, open: open)
    }

    /// Stops accepting; queued jobs still run.
    public func close() {
        cond.lock()
        open = false
        cond.broadcast()
        cond.unlock()
    }

    /// Closes, then waits up to `timeout` for the queue to empty and the workers to exit (a
    /// worker that finished its last job still has to wake and leave its loop). Returns whether
    /// everything finished; the caller cancels what remains.
    public func drain(timeout: Double) -> Bool {
        close()
        let limit = Date(timeIntervalSinceNow: timeout)
        cond.lock()
        defer { cond.unlock() }
        while depth > 0 || busy > 0 || alive > 0 {
            if !cond.wait(until: limit) { return depth == 0 && busy == 0 && alive == 0 }
        }
        return true
    }

    /// Cancels every queued job (their cancel handlers answer the clients).
    public func cancelQueued(_ reason: CancelReason) {
        cond.lock()
        let pending = (interactive.waiting + batch.waiting).map(\.ticket)
        cond.unlock()
        for t in pending { t.cancel(reason) }
    }

    func workerMain(_ index: Int) {
        var context: Context
        do { context = try makeContext(index) } catch {
            cond.lock(); startErrors.append("\(error)"); cond.broadcast(); cond.unlock()
            return
        }
        cond.lock()
        alive += 1
        cond.broadcast()
        while true {
            while depth == 0 && open { cond.wait() }
            guard let job = interactive.popFirst() ?? batch.popFirst() else { break }  // closed and empty
            busy += 1
            metrics?.queueDepth.record(depth)
            metrics?.busyWorkers.record(busy)
            cond.unlock()

            let now = DispatchTime.now().uptimeNanoseconds
            metrics?.queueWait.recordNanoseconds(Int64(now - job.enqueued))
            if !job.ticket.isCancelled { job.run(&context, job.ticket) }

            cond.lock()
            busy -= 1
            metrics?.busyWorkers.record(busy)
            cond.broadcast()
        }
        alive -= 1
        cond.broadcast()
        cond.unlock()
    }
}

public struct WorkerPoolError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
