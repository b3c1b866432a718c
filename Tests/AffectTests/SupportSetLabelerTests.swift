import Affect
import XCTest

final class SupportSetLabelerTests: XCTestCase {
    /// A synthetic clip: 60 frames at 2 fps; the embedding turns slowly on a circle (scene and face
    /// change together), the true valence follows the angle; the model predicts it with a bias of
    /// -0.2 (which the support labels correct) and a small ripple.
    func clip() -> (frames: [SupportSetLabeler.Frame], truth: [VA]) {
        var frames: [SupportSetLabeler.Frame] = [], truth: [VA] = []
        for i in 0..<60 {
            let t = Double(i) / 2, angle = t / 30 * .pi
            let v = VA(valence: 0.8 * cos(angle), arousal: 0.3 * sin(angle))
            truth.append(v)
            frames.append(
                .init(
                    t: t, embedding: [Float(cos(angle)), Float(sin(angle)), 0.3],
                    predicted: VA(valence: v.valence - 0.2 + 0.02 * sin(Double(i)), arousal: v.arousal - 0.2)))
        }
        return (frames, truth)
    }

    func testSupportFramesLabelThemselvesAndCorrectTheModel() throws {
        let (frames, truth) = clip()
        let support = [0.0, 10, 20, 29.5].map { t in
            SupportSetLabeler.Support(t: t, valence: truth[Int(t * 2)].valence, arousal: truth[Int(t * 2)].arousal)
        }
        let labels = try SupportSetLabeler.default.label(frames: frames, support: support)
        XCTAssertEqual(labels.count, frames.count)
        for s in support {
            let l = labels[Int(s.t * 2)]
            XCTAssertTrue(l.isSupport)
            XCTAssertEqual(l.va, VA(valence: s.valence, arousal: s.arousal))
            XCTAssertEqual(l.confidence, 1)
        }
        var labelError = 0.0, modelError = 0.0
        for (l, (f, v)) in zip(labels, zip(frames, truth)) {
            labelError += abs(l.va.valence - v.valence) / 60
            modelError += abs(f.predicted.valence - v.valence) / 60
            XCTAssertTrue(abs(l.va.valence) <= 1 && abs(l.va.arousal) <= 1)
        }
        XCTAssertLessThan(labelError, modelError / 3, "support labels remove the model's bias")
        print("support-set labelling: mean |valence error| \(labelError) vs model \(modelError)")
    }

    func testConfidenceFallsWithDistance() throws {
        let (frames, truth) = clip()
        let labels = try SupportSetLabeler.default.label(frames: frames, support: [.init(t: 0, valence: truth[0].valence, arousal: truth[0].arousal)])
        let c = labels.map(\.confidence)
        XCTAssertEqual(c[0], 1)
        XCTAssertTrue(zip(c, c.dropFirst()).allSatisfy { $0 > $1 }, "strictly falling with time and feature distance")
        XCTAssertGreaterThan(c.last!, 0)
        // Same time distance, further in feature space: lower confidence.
        var moved = frames
        moved[10].embedding = [-1, 0, 0.3]
        let l2 = try SupportSetLabeler.default.label(frames: moved, support: [.init(t: 0, valence: 0, arousal: 0)])
        XCTAssertLessThan(l2[10].confidence, labels[10].confidence)
    }

    func testBadInput() throws {
        let (frames, _) = clip()
        XCTAssertThrowsError(try SupportSetLabeler.default.label(frames: frames, support: []))
        XCTAssertThrowsError(try SupportSetLabeler.default.label(frames: frames, support: [.init(t: 1, valence: 2, arousal: 0)]))
        XCTAssertThrowsError(try SupportSetLabeler.default.label(frames: frames, support: [.init(t: .nan, valence: 0, arousal: 0)]))
        XCTAssertEqual(try SupportSetLabeler.default.label(frames: [], support: [.init(t: 1, valence: 0, arousal: 0)]), [])
        // Zero embeddings: cosine 0, still a finite label and confidence.
        let flat = frames.map { SupportSetLabeler.Frame(t: $0.t, embedding: [0, 0, 0], predicted: $0.predicted) }
        let l = try SupportSetLabeler.default.label(frames: flat, support: [.init(t: 3, valence: 0.5, arousal: 0)])
        XCTAssertTrue(l.allSatisfy { $0.va.valence.isFinite && $0.confidence.isFinite && $0.confidence >= 0 })
    }
}
