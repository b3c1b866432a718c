import Foundation
import Synchronization
import Vision
import XCTest

@testable import Pipeline

/// FaceHandoff on a real two-thread FrameScheduler: each chunk waits for the previous chunk's faces
/// (the scheduler starts a session's chunks in order, so the wait ends), receives exactly what it
/// published, and a chunk that fails hands on no faces instead of leaving the next one waiting.
final class FaceHandoffTests: XCTestCase {
    func face(_ k: Int) -> Face {
        Face(box: Box(x1: Float(k), y1: 0, x2: Float(k) + 10, y2: 10), score: 1, landmarks: [])
    }

    func testEachChunkGetsThePreviousChunksFacesInOrder() throws {
        let scheduler = FrameScheduler(threads: 2)
        defer { scheduler.stopAndWait() }
        let session = scheduler.session(.interactive, capacity: 4)
        let handoff = FaceHandoff()
        let received = Mutex<[Int: [Face]?]>([:])
        let done = DispatchGroup()
        let chunks = 12
        for k in 0..<chunks {
            done.enter()
            XCTAssertTrue(
                session.submit(
                    run: { _ in
                        defer { done.leave() }
                        let incoming = handoff.faces(after: k - 1)
                        received.withLock { $0[k] = incoming }
                        if k % 3 == 0 { Thread.sleep(forTimeInterval: 0.02) }  // the next chunk starts and waits
                        if k == 7 { handoff.publish([], chunk: k); return }  // a failed chunk hands on nothing
                        handoff.publish((incoming ?? []) + [self.face(k)], chunk: k)
                    }, discard: { done.leave() }))
        }
        session.finish()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success, "a chunk waited for ever")
        let got = received.withLock { $0 }
        XCTAssertEqual(got.count, chunks)
        XCTAssertEqual(got[0], .some(nil), "the first chunk has nothing coming in")
        for k in 1..<chunks {
            let expected = k <= 7 ? (0..<k).map(face) : (8..<k).map(face)
            XCTAssertEqual(got[k] ?? nil, expected, "chunk \(k)")
        }
    }
}
