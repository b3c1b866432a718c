import Affect
import Tensor
import XCTest

final class TimelineTests: XCTestCase {
    /// Two persons, one leaves the frame for a while; frames arrive out of order.
    func testTimelineSmoothsPerPersonAndKeepsRaw() throws {
        var frames: [FrameObservations] = []
        for i in 0..<40 {
            let t = Double(i) * 0.2
            var faces = [
                FaceObservation(
                    person: 1, box: [0, 0, 50, 50], score: 0.99, landmarks: [],
                    raw: VA(valence: i % 2 == 0 ? 0.5 : 0.3, arousal: 0), rawVariance: VA(valence: 0.02, arousal: 0.02),
                    confidence: 0.8)
            ]
            if i < 10 || i >= 30 {
                faces.append(
                    FaceObservation(
                        person: 7, box: [60, 0, 50, 50], score: 0.9, landmarks: [],
                        raw: VA(valence: -0.6, arousal: 0.4), confidence: i == 35 ? 0 : 0.6))
            }
            frames.append(FrameObservations(t: t, faces: faces))
        }
        let out = try Timeline(temporal: .kalman(.default)).build(frames.reversed(), arena: Arena())
        XCTAssertEqual(out.map(\.t), frames.map(\.t), "time order restored")
        let p1 = out.map { $0.faces[0] }
        XCTAssertTrue(p1.allSatisfy { $0.person == 1 && $0.valence != nil })
        // Alternating 0.5/0.3 raw input: smoothed values sit near 0.4 and jitter far less.
        let jitterRaw = zip(p1, p1.dropFirst()).map { abs($0.1.raw.valence! - $0.0.raw.valence!) }.reduce(0, +)
        let jitterSmooth = zip(p1, p1.dropFirst()).map { abs($0.1.valence! - $0.0.valence!) }.reduce(0, +)
        XCTAssertLessThan(jitterSmooth, 0.5 * jitterRaw)
        XCTAssertEqual(p1[20].valence!, 0.4, accuracy: 0.05)
        XCTAssertTrue(p1.allSatisfy { $0.confidence > 0 && $0.confidence <= 1 && $0.raw.confidence == 0.8 })
        let p7 = out.compactMap { $0.faces.first { $0.person == 7 } }
        XCTAssertEqual(p7.count, 20)
        XCTAssertTrue(p7.allSatisfy { abs($0.valence! + 0.6) < 1e-9 })
        XCTAssertEqual(out[35].faces[1].raw.confidence, 0)
        XCTAssertGreaterThan(out[35].faces[1].confidence, 0, "an unusable frame inside a track still has the track's estimate")
        // The result built from it has both persons and finite statistics.
        let r = AnalysisResult(model: ModelInfo(name: "m", version: "1"), media: MediaInfo(framesDecoded: 40, framesAnalyzed: 40), frames: out)
        XCTAssertEqual(r.persons.map(\.frames), [40, 20])
        XCTAssertEqual(r.persons[1].valence!.mean, -0.6, accuracy: 1e-9)
    }

    func testNoFacesNoValues() throws {
        let out = try Timeline(temporal: .kalman(.default)).build([FrameObservations(t: 0, faces: []), FrameObservations(t: 1, faces: [])], arena: Arena())
        XCTAssertEqual(out, [FrameResult(t: 0, faces: []), FrameResult(t: 1, faces: [])])
        // A face seen once with confidence 0: no smoothed estimate, confidence 0.
        let lone = try Timeline(temporal: .kalman(.default)).build(
            [
                FrameObservations(
                    t: 0,
                    faces: [
                        FaceObservation(person: 1, box: [0, 0, 5, 5], score: 0.5, landmarks: [], raw: VA(valence: 0.9, arousal: 0), confidence: 0)
                    ])
            ], arena: Arena())
        XCTAssertNil(lone[0].faces[0].valence)
        XCTAssertEqual(lone[0].faces[0].confidence, 0)
    }
}
