import Dispatch
import Foundation
import Synchronization
import XCTest
@testable import Service

final class WorkerPoolTests: XCTestCase {
    /// Each worker's context is its own: indices seen by jobs are the worker indices.
    func testRunsJobsOnWorkersWithTheirOwnContext() throws {
        let pool = WorkerPool<[Int]>(workers: 2, capacity: 8, metrics: nil) { index in [index] }
        try pool.start()
        let seen = Mutex<[Int]>([])
        let done = DispatchSemaphore(value: 0)
        for _ in 0..<6 {
            XCTAssertEqual(
                pool.submit(JobTicket()) { ctx, _ in
                    ctx.append(0)  // per-worker state survives between jobs of that worker
                    seen.withLock { $0.append(ctx[0]) }
                    Thread.sleep(forTimeInterval: 0.01)
                    done.signal()
                }, .accepted)
        }
        for _ in 0..<6 { XCTAssertEqual(done.wait(timeout: .now() + 5), .success) }
        XCTAssert(Set(seen.withLock { $0 }).isSubset(of: [0, 1]))
        XCTAssert(pool.drain(timeout: 5))
        XCTAssertEqual(pool.snapshot.alive, 0)
    }

    /// One worker busy, capacity 2: the third queued job is refused, never dropped silently.
    func testRefusesWhenFullAndAfterClose() throws {
        let pool = WorkerPool<Int>(workers: 1, capacity: 2, metrics: nil) { $0 }
        try pool.start()
        let gate = DispatchSemaphore(value: 0)
        let ran = Mutex(0)
        XCTAssertEqual(
            pool.submit(JobTicket()) { _, _ in
                gate.wait(); ran.withLock { $0 += 1 }
            }, .accepted)
        while pool.snapshot.busy == 0 { Thread.sleep(forTimeInterval: 0.001) }
        XCTAssertEqual(pool.submit(JobTicket()) { _, _ in ran.withLock { $0 += 1 } }, .accepted)
        XCTAssertEqual(pool.submit(JobTicket()) { _, _ in ran.withLock { $0 += 1 } }, .accepted)
        XCTAssertEqual(pool.submit(JobTicket()) { _, _ in ran.withLock { $0 += 1 } }, .full)
        XCTAssertEqual(pool.snapshot.depth, 2)
        pool.close()
        XCTAssertEqual(pool.submit(JobTicket()) { _, _ in }, .closed)
        gate.signal()
        XCTAssert(pool.drain(timeout: 5))
        XCTAssertEqual(ran.withLock { $0 }, 3)  // everything accepted ran, even after close
    }

    /// Jobs that idle workers are about to take are not "waiting": a burst is refused only beyond
    /// free workers + capacity, however fast the workers wake.
    func testABurstIsRefusedOnlyBeyondFreeWorkersAndCapacity() throws {
        let pool = WorkerPool<Int>(workers: 2, capacity: 1, metrics: nil) { $0 }
        try pool.start()
        let gate = DispatchSemaphore(value: 0)
        let results = (0..<4).map { _ in pool.submit(JobTicket()) { _, _ in gate.wait() } }
        XCTAssertEqual(results, [.accepted, .accepted, .accepted, .full])
        for _ in 0..<3 { gate.signal() }
        XCTAssert(pool.drain(timeout: 5))
    }

    /// A job cancelled while queued (deadline, client gone) does not run; its canceller answered.
    func testCancelledQueuedJobsDoNotRun() throws {
        let pool = WorkerPool<Int>(workers: 1, capacity: 4, metrics: nil) { $0 }
        try pool.start()
        let gate = DispatchSemaphore(value: 0)
        XCTAssertEqual(pool.submit(JobTicket()) { _, _ in gate.wait() }, .accepted)
        while pool.snapshot.busy == 0 { Thread.sleep(forTimeInterval: 0.001) }
        let ticket = JobTicket()
        let reasons = Mutex<[CancelReason]>([])
        ticket.onCancel { r in reasons.withLock { $0.append(r) } }
        let ran = Atomic<Bool>(false)
        XCTAssertEqual(pool.submit(ticket) { _, _ in ran.store(true, ordering: .relaxed) }, .accepted)
        XCTAssert(ticket.cancel(.deadline))
        XCTAssertFalse(ticket.cancel(.clientGone))  // first reason wins, handlers run once
        gate.signal()
        XCTAssert(pool.drain(timeout: 5))
        let didRun = ran.load(ordering: .relaxed)
        XCTAssertFalse(didRun)
        XCTAssertEqual(reasons.withLock { $0 }, [.deadline])
    }

    /// Interactive requests leave the queue before batch jobs (async), FIFO within each class.
    func testInteractiveJobsLeaveTheQueueFirst() throws {
        let pool = WorkerPool<Int>(workers: 1, capacity: 8, metrics: nil) { $0 }
        try pool.start()
        let gate = DispatchSemaphore(value: 0)
        XCTAssertEqual(pool.submit(JobTicket()) { _, _ in gate.wait() }, .accepted)
        while pool.snapshot.busy == 0 { Thread.sleep(forTimeInterval: 0.001) }
        let order = Mutex<[String]>([])
        for name in ["b1", "i1", "b2", "i2"] {
            XCTAssertEqual(
                pool.submit(JobTicket(), name.hasPrefix("b") ? .batch : .interactive) { _, _ in order.withLock { $0.append(name) } },
                .accepted)
        }
        XCTAssertEqual(pool.snapshot.depth, 4)
        gate.signal()
        XCTAssert(pool.drain(timeout: 5))
        XCTAssertEqual(order.withLock { $0 }, ["i1", "i2", "b1", "b2"])
    }

    func testCancelQueuedAnswersEveryWaitingJob() throws {
        let pool = WorkerPool<Int>(workers: 1, capacity: 4, metrics: nil) { $0 }
        try pool.start()
        let gate = DispatchSemaphore(value: 0)
        XCTAssertEqual(pool.submit(JobTicket()) { _, _ in gate.wait() }, .accepted)
        while pool.snapshot.busy == 0 { Thread.sleep(forTimeInterval: 0.001) }
        let tickets = (0..<3).map { _ in JobTicket() }
        for t in tickets { XCTAssertEqual(pool.submit(t) { _, _ in }, .accepted) }
        pool.cancelQueued(.shutdown)
        XCTAssert(tickets.allSatisfy { $0.cancelReason == .shutdown })
        gate.signal()
        XCTAssert(pool.drain(timeout: 5))
    }

    func testAFailingContextFailsStart() {
        struct Broken: Error {}
        let pool = WorkerPool<Int>(workers: 2, capacity: 1, metrics: nil) { i in
            if i == 1 { throw Broken() }; return i
        }
        XCTAssertThrowsError(try pool.start()) { XCTAssert($0 is WorkerPoolError) }
    }
}
