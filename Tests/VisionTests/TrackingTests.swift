import Foundation
import Media
import XCTest
@testable import Vision

/// The tracker on real clips decoded by Media and run through the real detector (sampled frames).
final class TrackingTests: XCTestCase {
    struct Observation { let t: Double; let ids: [Int]; let ended: [Int] }

    func track(_ file: String, fps: Double) throws -> [Observation] {
        let (_, models) = try Fixtures.models()
        let detector = FaceDetector(networks: models.detector)
        let tracker = FaceTracker()
        var obs: [Observation] = []
        try Decode.video(try Fixtures.mediaFile(file), fps: fps) { _, t, img in
            let faces = try img.withView { try detector.detect($0) }
            let u = tracker.update(faces)
            obs.append(Observation(t: t, ids: u.ids, ended: u.ended.map(\.id)))
        }
        return obs
    }

    /// One person fills WolfgangLanger_Pexels.mp4: one id from the first frame to the last.
    func testOnePersonIdSpansTheWholeClip() throws {
        let obs = try track("WolfgangLanger_Pexels.mp4", fps: 4)
        XCTAssertGreaterThan(obs.count, 70)
        let withFace = obs.filter { !$0.ids.isEmpty }
        XCTAssertGreaterThanOrEqual(Double(withFace.count), 0.95 * Double(obs.count), "the face is visible throughout")
        let ids = Set(obs.flatMap(\.ids))
        XCTAssertEqual(ids.count, 1, "person ids seen: \(ids.sorted())")
        XCTAssertEqual(obs.first?.ids.count, 1)
        XCTAssertEqual(obs.last?.ids.count, 1)
        XCTAssertTrue(obs.allSatisfy { $0.ended.isEmpty }, "the track must not end mid-clip")
    }

    /// face_noface.mov: a face, then none. The track ends a few frames after the face leaves and
    /// no id is reported afterwards.
    func testTrackEndsWhenTheFaceLeaves() throws {
        let obs = try track("face_noface.mov", fps: 10)
        guard let lastFace = obs.lastIndex(where: { !$0.ids.isEmpty }) else { return XCTFail("no face detected at all") }
        XCTAssertEqual(Set(obs.flatMap(\.ids)).count, 1, "one person")
        XCTAssertLessThan(lastFace, obs.count - 1, "the face must leave before the clip ends")
        guard let endAt = obs.firstIndex(where: { !$0.ended.isEmpty }) else { return XCTFail("the track never ended") }
        XCTAssertGreaterThan(endAt, lastFace)
        XCTAssertLessThanOrEqual(endAt - lastFace, FaceTracker.Config().maxMissed + 1)
        print("face_noface.mov: last face at t=\(obs[lastFace].t), track ended at t=\(obs[endAt].t)")
    }

    /// Synthetic: two faces crossing keep their ids; a one-frame miss keeps the id.
    func testIdsSurviveMissesAndStayApart() {
        let tracker = FaceTracker()
        func face(_ x: Float) -> Face {
            let b = Box(x1: x, y1: 100, x2: x + 60, y2: 160)
            return Face(
                box: b, score: 0.99,
                landmarks: [
                    Point(x: x + 20, y: 120), Point(x: x + 40, y: 120), Point(x: x + 30, y: 135),
                    Point(x: x + 22, y: 148), Point(x: x + 38, y: 148),
                ])
        }
        let a = tracker.update([face(0), face(300)]).ids
        XCTAssertEqual(a.count, 2); XCTAssertNotEqual(a[0], a[1])
        XCTAssertEqual(tracker.update([face(300), face(8)]).ids, [a[1], a[0]])
        XCTAssertEqual(tracker.update([face(16)]).ids, [a[0]])  // the second face missed once
        XCTAssertEqual(tracker.update([face(24), face(296)]).ids, [a[0], a[1]])
        var ended: [Int] = []
        for _ in 0...FaceTracker.Config().maxMissed { ended += tracker.update([]).ended.map(\.id) }
        XCTAssertEqual(Set(ended), Set(a))
        XCTAssertTrue(tracker.tracks.isEmpty)
    }
}
