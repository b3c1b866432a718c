// A bounded queue feeding N dedicated worker threads, each holding its own model context (arena,
// scratch buffers) for its whole life. A full queue refuses at once (the caller answers 503/429);
// nothing accepted is ever dropped silently: a job either runs or its ticket is cancelled, and
// whoever cancels it (deadline, client gone, shutdown) answers for it.
import Foundation
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

    // Guarded by `cond`.
    let cond = NSCondition()
    var queue: [Job] = []
    var head = 0
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

    /// Queues `run`; refuses when the queue already holds `capacity` jobs or the pool is closed.
    public func submit(_ ticket: JobTicket, _ run: @escaping @Sendable (inout Context, JobTicket) -> Void) -> SubmitResult {
        cond.lock()
        defer { cond.unlock() }
        guard open else { return .closed }
        guard queue.count - head < capacity else { return .full }
        queue.append(Job(ticket: ticket, enqueued: DispatchTime.now().uptimeNanoseconds, run: run))
        metrics?.queueDepth.record(queue.count - head)
        cond.signal()
        return .accepted
    }

    public struct Snapshot: Sendable { public let depth, busy, alive: Int; public let open: Bool }
    public var snapshot: Snapshot {
        cond.lock(); defer { cond.unlock() }
        return Snapshot(depth: queue.count - head, busy: busy, alive: alive, open: open)
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
        while queue.count - head > 0 || busy > 0 || alive > 0 {
            if !cond.wait(until: limit) { return queue.count - head == 0 && busy == 0 && alive == 0 }
        }
        return true
    }

    /// Cancels every queued job (their cancel handlers answer the clients).
    public func cancelQueued(_ reason: CancelReason) {
        cond.lock()
        let pending = queue[head...].map(\.ticket)
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
            while queue.count - head == 0 && open { cond.wait() }
            if queue.count - head == 0 { break }  // closed and empty
            let job = queue[head]
            head += 1
            if head > 64 && head * 2 > queue.count { queue.removeFirst(head); head = 0 }
            busy += 1
            metrics?.queueDepth.record(queue.count - head)
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
