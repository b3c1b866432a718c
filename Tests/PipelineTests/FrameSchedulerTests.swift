import Foundation
import Synchronization
import XCTest

@testable import Pipeline

/// The frame scheduler on its own (closures for chunks, no models): round-robin order across
/// sessions, class weights, cancellation, the in-flight bound, and that a lone session gets every thread.
final class FrameSchedulerTests: XCTestCase {
    /// Names of the chunks in the order they ran, and how many ran at once at most.
    final class Log: Sendable {
        let order = Mutex<[String]>([])
        let running = Mutex((now: 0, peak: 0))
        func run(_ name: String, sleep: Double = 0) {
            running.withLock {
                $0.now += 1; $0.peak = max($0.peak, $0.now)
            }
            order.withLock { $0.append(name) }
            if sleep > 0 { Thread.sleep(forTimeInterval: sleep) }
            running.withLock { $0.now -= 1 }
        }
        var names: [String] { order.withLock { $0 } }
        var peak: Int { running.withLock { $0.peak } }
    }

    /// Occupies the scheduler's only thread until `open()`, so the test can queue chunks first.
    final class Gate: Sendable {
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        init(_ scheduler: FrameScheduler, _ workClass: WorkClass = .interactive) {
            let session = scheduler.session(workClass, capacity: 1)
            XCTAssertTrue(
                session.submit(
                    run: { [self] _ in
                        started.signal(); release.wait()
                    }, discard: {}))
            session.finish()
            started.wait()
        }
        func open() { release.signal() }
    }

    final class Recorder: SchedulerObserver {
        let started = Mutex<[WorkClass: Int]>([:])
        let busy = Mutex<[WorkClass: Double]>([:])
        func chunkStarted(_ workClass: WorkClass, wait: Double) { started.withLock { $0[workClass, default: 0] += 1 } }
        func chunkFinished(_ workClass: WorkClass, busy: Double) { self.busy.withLock { $0[workClass, default: 0] += busy } }
    }

    func waitUntil(_ condition: () -> Bool, timeout: Double = 10) {
        let end = Date(timeIntervalSinceNow: timeout)
        while !condition() && Date() < end { Thread.sleep(forTimeInterval: 0.002) }
    }

    func testSessionsTakeTurnsSoAShortOneRunsAfterOneChunk() {
        let scheduler = FrameScheduler(threads: 1)
        defer { scheduler.stopAndWait() }
        let log = Log(), gate = Gate(scheduler)
        let long = scheduler.session(.interactive, capacity: 8), other = scheduler.session(.interactive, capacity: 8)
        for k in 0..<4 { XCTAssertTrue(long.submit(run: { _ in log.run("L\(k)") }, discard: {})) }
        for k in 0..<2 { XCTAssertTrue(other.submit(run: { _ in log.run("O\(k)") }, discard: {})) }
        let short = scheduler.session(.interactive, capacity: 8)
        XCTAssertTrue(short.submit(run: { _ in log.run("S") }, discard: {}))
        [long, other, short].forEach { $0.finish() }
        gate.open()
        waitUntil { log.names.count == 7 }
        XCTAssertEqual(log.names, ["L0", "O0", "S", "L1", "O1", "L2", "L3"])
    }

    func testInteractiveChunksGoFirstByWeightAndBatchOnesStillRun() {
        let recorder = Recorder()
        let scheduler = FrameScheduler(threads: 1, weights: .init(interactive: 4, batch: 1), observer: recorder)
        defer { scheduler.stopAndWait() }
        let log = Log(), gate = Gate(scheduler, .batch)
        let job = scheduler.session(.batch, capacity: 50), request = scheduler.session(.interactive, capacity: 50)
        for k in 0..<10 { XCTAssertTrue(job.submit(run: { _ in log.run("B\(k)") }, discard: {})) }
        for k in 0..<40 { XCTAssertTrue(request.submit(run: { _ in log.run("I\(k)") }, discard: {})) }
        job.finish()
        request.finish()
        gate.open()
        waitUntil { log.names.count == 50 }
        // 4:1 weights: of the first 25 chunks about 20 are interactive (the phase decides one either way).
        let interactive = log.names.prefix(25).filter { $0.hasPrefix("I") }.count
        XCTAssert((19...21).contains(interactive), "\(interactive) interactive of 25: \(log.names)")
        XCTAssertEqual(log.names.filter { $0.hasPrefix("B") }, (0..<10).map { "B\($0)" }, "FIFO within a session")
        waitUntil { recorder.started.withLock { $0[.batch] } == 11 }
        XCTAssertEqual(recorder.started.withLock { $0 }, [.interactive: 40, .batch: 11])
        XCTAssertGreaterThan(recorder.busy.withLock { $0[.batch] ?? 0 }, 0)
    }

    func testCancellingASessionDiscardsItsQueuedChunksAndWakesItsSubmitter() {
        let scheduler = FrameScheduler(threads: 1)
        defer { scheduler.stopAndWait() }
        let log = Log(), gate = Gate(scheduler)
        let discarded = Mutex(0)
        let session = scheduler.session(.interactive, capacity: 3)
        for k in 0..<3 { XCTAssertTrue(session.submit(run: { _ in log.run("C\(k)") }, discard: { discarded.withLock { $0 += 1 } })) }
        // A fourth waits for room (the in-flight bound) until the cancellation refuses it.
        let refused = DispatchSemaphore(value: 0)
        Thread {
            if !session.submit(run: { _ in log.run("late") }, discard: {}) { refused.signal() }
        }.start()
        XCTAssertEqual(refused.wait(timeout: .now() + 0.2), .timedOut, "the submitter waits while 3 chunks are in flight")
        session.cancel()
        XCTAssertEqual(refused.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(discarded.withLock { $0 }, 3)
        XCTAssertFalse(session.submit(run: { _ in log.run("after") }, discard: {}))
        session.finish()
        XCTAssertEqual(scheduler.inFlight, [1], "only the gate is left")
        gate.open()
        waitUntil { scheduler.inFlight.isEmpty }
        XCTAssertEqual(log.names, [], "no chunk of the cancelled session ran")
    }

    func testALoneSessionUsesEveryThreadWithinItsInFlightBound() {
        let scheduler = FrameScheduler(threads: 2)
        defer { scheduler.stopAndWait() }
        let log = Log()
        let session = scheduler.session(.interactive, capacity: 3)
        let peak = Mutex(0)
        for k in 0..<20 {
            XCTAssertTrue(
                session.submit(
                    run: { _ in
                        peak.withLock { $0 = max($0, scheduler.inFlight.first ?? 0) }
                        log.run("\(k)", sleep: 0.01)
                    }, discard: {}))
            peak.withLock { $0 = max($0, scheduler.inFlight.first ?? 0) }
        }
        session.finish()
        waitUntil { log.names.count == 20 }
        XCTAssertEqual(Set(log.names).count, 20)
        XCTAssertEqual(log.peak, 2, "both threads ran the lone session's chunks at once")
        XCTAssertLessThanOrEqual(peak.withLock { $0 }, 3, "never more than the session's capacity in flight")
        waitUntil { scheduler.inFlight.isEmpty }
        XCTAssertEqual(scheduler.inFlight, [], "a finished session leaves the scheduler")
    }

    func testAStoppedSchedulerRefusesNewChunks() {
        let scheduler = FrameScheduler(threads: 2)
        let session = scheduler.session(.batch, capacity: 2)
        scheduler.stopAndWait()
        XCTAssertFalse(session.submit(run: { _ in }, discard: {}))
    }

    func testAParkedChunkKeepsItsPlaceInTheSessionsCapacityUntilUnparked() {
        let scheduler = FrameScheduler(threads: 2)
        defer { scheduler.stopAndWait() }
        let session = scheduler.session(.interactive, capacity: 2)
        for _ in 0..<2 { XCTAssertTrue(session.submit(run: { _ in session.park() }, discard: {})) }
        waitUntil { scheduler.inFlight == [2] }
        XCTAssertEqual(scheduler.inFlight, [2], "both chunks returned from run but stay parked")
        let third = DispatchSemaphore(value: 0)
        Thread {
            XCTAssertTrue(session.submit(run: { _ in }, discard: {})); third.signal()
        }.start()
        XCTAssertEqual(third.wait(timeout: .now() + 0.3), .timedOut, "the submitter waits while parked chunks fill the capacity")
        session.unpark()
        XCTAssertEqual(third.wait(timeout: .now() + 10), .success, "unparking one frees a place")
        session.unpark()
        session.finish()
        waitUntil { scheduler.inFlight.isEmpty }
        XCTAssertEqual(scheduler.inFlight, [])
    }
}
