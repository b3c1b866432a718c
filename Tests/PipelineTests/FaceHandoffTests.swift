import Foundation
import Synchronization
import Vision
import XCTest

@testable import Pipeline

/// FaceHandoff settles chunks in index order whatever order they arrive in, from any threads, and
/// no caller ever waits: a chunk whose predecessor has not settled is run by the thread that settles
/// the predecessor. Each chunk's settle runs exactly once with exactly the faces its predecessor
/// returned; a discarded chunk (thread nil) lets its successor settle without a worker.
final class FaceHandoffTests: XCTestCase {
    static func face(_ k: Int) -> Face {
        Face(box: Box(x1: Float(k), y1: 0, x2: Float(k) + 10, y2: 10), score: 1, landmarks: [])
    }
    func face(_ k: Int) -> Face { Self.face(k) }

    func testEachChunkGetsThePreviousChunksFacesWhateverTheArrivalOrder() {
        let chunks = 40
        for round in 0..<20 {
            let handoff = FaceHandoff()
            let received = Mutex<[Int: [[Face]?]]>([:])
            let order = Array(0..<chunks).shuffled()
            DispatchQueue.concurrentPerform(iterations: chunks) { n in
                let k = order[n]
                handoff.settle(chunk: k, thread: n % 4) { earlier, _ in
                    received.withLock { $0[k, default: []].append(earlier) }
                    if k == 7 { return [] }  // a failed chunk hands on nothing
                    return (earlier ?? []) + [Self.face(k)]
                }
            }
            let got = received.withLock { $0 }
            XCTAssertEqual(got.count, chunks, "round \(round): every chunk settled")
            XCTAssertEqual(got[0], [nil], "the first chunk settles once, with nothing coming in")
            for k in 1..<chunks {
                let expected = k <= 7 ? (0..<k).map(face) : (8..<k).map(face)
                XCTAssertEqual(got[k], [expected], "round \(round): chunk \(k) settles once, with its predecessor's faces")
            }
        }
    }

    func testAChunkAheadOfItsPredecessorReturnsAtOnceAndRunsOnThePredecessorsThread() {
        let handoff = FaceHandoff()
        var runs: [(chunk: Int, earlier: [Face]?, thread: Int?)] = []
        handoff.settle(chunk: 2, thread: 9) { earlier, thread in
            runs.append((2, earlier, thread)); return [self.face(2)]
        }
        handoff.settle(chunk: 1, thread: 8) { earlier, thread in
            runs.append((1, earlier, thread)); return [self.face(1)]
        }
        XCTAssertTrue(runs.isEmpty, "chunks 1 and 2 wait for chunk 0 without blocking their callers")
        handoff.settle(chunk: 0, thread: 3) { earlier, thread in
            runs.append((0, earlier, thread)); return [self.face(0)]
        }
        XCTAssertEqual(runs.map(\.chunk), [0, 1, 2])
        XCTAssertEqual(runs.map(\.thread), [3, 3, 3])
        XCTAssertEqual(runs.map(\.earlier), [nil, [face(0)], [face(1)]])
        handoff.settle(chunk: 3, thread: 5) { earlier, thread in
            runs.append((3, earlier, thread)); return []
        }
        XCTAssertEqual(runs.last?.thread, 5, "a chunk whose predecessor is settled runs on its own thread")
        XCTAssertEqual(runs.last?.earlier, [face(2)])
    }

    func testADiscardedChunkLetsItsSuccessorSettleWithoutAWorker() {
        let handoff = FaceHandoff()
        var threads: [Int?] = []
        handoff.settle(chunk: 0, thread: 0) { _, thread in
            threads.append(thread); return [self.face(0)]
        }
        handoff.settle(chunk: 2, thread: 1) { _, thread in
            threads.append(thread); return []
        }
        handoff.settle(chunk: 1, thread: nil) { _, _ in [] }  // discarded by cancellation
        XCTAssertEqual(threads, [0, nil])
    }
}
