import Affect
import XCTest

/// Properties of the default temporal model (the numbers themselves are checked against numpy in
/// AffectParityTests).
final class KalmanPropertyTests: XCTestCase {
    let smoother = KalmanSmoother.default

    /// Deterministic noise (a fixed LCG), so the tests cannot flake.
    struct Noise {
        var state: UInt64
        mutating func gaussian() -> Double {
            func uniform() -> Double {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return (Double(state >> 11) + 0.5) / Double(1 << 53)
            }
            return (-2 * log(uniform())).squareRoot() * cos(2 * .pi * uniform())
        }
    }

    func samples(fps: Double, seconds: Double, confidence: Double = 0.8, value: (Double) -> VA) -> [KalmanSmoother.Sample] {
        stride(from: 0.0, to: seconds, by: 1 / fps).map {
            .init(t: $0, observation: .init(va: value($0), confidence: confidence))
        }
    }

    func testConstantInputGivesConstantOutput() {
        for fps in [2.0, 5, 30] {
            let out = smoother.run(samples(fps: fps, seconds: 10) { _ in VA(valence: 0.42, arousal: -0.3) })
            for e in out.smoothed + out.filtered {
                XCTAssertEqual(e!.mean.valence, 0.42, accuracy: 1e-12)
                XCTAssertEqual(e!.mean.arousal, -0.3, accuracy: 1e-12)
            }
        }
    }

    /// A step from -0.5 to +0.5 at t = 10 s under noise (sd 0.15): the smoothed valence crosses 0
    /// within 0.5 s of the step, at 5 and 30 samples per second.
    func testStepShowsWithinHalfASecond() {
        for fps in [5.0, 30] {
            var noise = Noise(state: 7)
            let s = samples(fps: fps, seconds: 20) { t in VA(valence: (t < 10 ? -0.5 : 0.5) + 0.15 * noise.gaussian(), arousal: 0) }
            let out = smoother.run(s)
            let crossing = zip(s, out.smoothed).first { $0.1!.mean.valence > 0 }!.0.t
            XCTAssertEqual(crossing, 10, accuracy: 0.5, "fps \(fps)")
            // Far from the step it has settled on each level.
            let before = zip(s, out.smoothed).filter { $0.0.t < 8 }.map { $0.1!.mean.valence }
            XCTAssertEqual(before.reduce(0, +) / Double(before.count), -0.5, accuracy: 0.05)
        }
    }

    /// Mean absolute frame-to-frame change of noisy constant input falls by more than half.
    func testJitterReduction() {
        for fps in [5.0, 30] {
            var noise = Noise(state: 11)
            let s = samples(fps: fps, seconds: 30) { _ in VA(valence: 0.2 + 0.2 * noise.gaussian(), arousal: 0.1 + 0.2 * noise.gaussian()) }
            let raw = s.map { $0.observation!.va.valence }
            let smooth = smoother.run(s).smoothed.map { $0!.mean.valence }
            func jitter(_ x: [Double]) -> Double { zip(x, x.dropFirst()).reduce(0) { $0 + abs($1.1 - $1.0) } / Double(x.count - 1) }
            let ratio = jitter(smooth) / jitter(raw)
            XCTAssertLessThan(ratio, 0.5, "fps \(fps)")
            print("jitter ratio smoothed/raw at \(fps) fps: \(ratio)")
        }
    }

    func testVarianceFallsWithMoreAndBetterObservations() {
        func meanVariance(_ s: [KalmanSmoother.Sample]) -> Double {
            let e = smoother.run(s).smoothed.compactMap { $0 }
            return e.reduce(0) { $0 + $1.variance.valence } / Double(e.count)
        }
        let v = { (_: Double) in VA(valence: 0.1, arousal: 0.1) }
        XCTAssertLessThan(
            meanVariance(samples(fps: 10, seconds: 10, confidence: 0.9, value: v)),
            meanVariance(samples(fps: 10, seconds: 10, confidence: 0.3, value: v)))
        XCTAssertLessThan(meanVariance(samples(fps: 20, seconds: 10, value: v)), meanVariance(samples(fps: 2, seconds: 10, value: v)))
        // Head variance counts as observation noise.
        let noisy = samples(fps: 10, seconds: 10, value: v).map {
            KalmanSmoother.Sample(t: $0.t, observation: .init(va: $0.observation!.va, confidence: 0.8, variance: VA(valence: 0.2, arousal: 0.2)))
        }
        XCTAssertGreaterThan(meanVariance(noisy), meanVariance(samples(fps: 10, seconds: 10, value: v)))
    }

    /// Unseen frames: no estimate before the first sighting or (smoothed) after the last; inside a
    /// gap the estimate interpolates and its variance peaks mid-gap.
    func testMissingObservations() {
        var s = samples(fps: 10, seconds: 10) { t in VA(valence: t < 5 ? -0.4 : 0.4, arousal: 0) }
        for i in s.indices where i < 5 || (40..<60).contains(i) || i >= 95 { s[i].observation = nil }
        let out = smoother.run(s)
        XCTAssertTrue(out.smoothed[0..<5].allSatisfy { $0 == nil })
        XCTAssertTrue(out.filtered[0..<5].allSatisfy { $0 == nil })
        XCTAssertTrue(out.smoothed[95...].allSatisfy { $0 == nil })
        XCTAssertTrue(out.filtered[95...].allSatisfy { $0 != nil })
        let gap = (40..<60).map { out.smoothed[$0]! }
        XCTAssertTrue(zip(gap, gap.dropFirst()).allSatisfy { $0.mean.valence <= $1.mean.valence + 1e-12 }, "monotone bridge")
        let peak = gap.indices.max { gap[$0].variance.valence < gap[$1].variance.valence }!
        XCTAssertTrue((8...11).contains(peak), "variance peaks mid-gap, at \(peak)")
        XCTAssertGreaterThan(gap[peak].variance.valence, out.smoothed[30]!.variance.valence * 3)
        // Confidence 0 is the same as unseen.
        var zero = s
        zero[45].observation = .init(va: VA(valence: 1, arousal: 1), confidence: 0)
        XCTAssertEqual(smoother.run(zero), out)
        // Nobody seen at all: nothing.
        XCTAssertTrue(smoother.run(s.map { .init(t: $0.t, observation: nil) }).smoothed.allSatisfy { $0 == nil })
        XCTAssertEqual(PosteriorConfidence.track(smoother.run([]).smoothed, priorVariance: 1.0 / 3), 0)
    }

    func testPosteriorConfidenceRisesWithEvidence() {
        let v = { (_: Double) in VA(valence: 0.1, arousal: 0.1) }
        let prior = smoother.priorVariance
        let weak = PosteriorConfidence.track(smoother.run(samples(fps: 2, seconds: 5, confidence: 0.2, value: v)).smoothed, priorVariance: prior)
        let strong = PosteriorConfidence.track(smoother.run(samples(fps: 10, seconds: 5, confidence: 0.9, value: v)).smoothed, priorVariance: prior)
        XCTAssertGreaterThan(strong, weak)
        XCTAssertGreaterThan(weak, 0)
        XCTAssertLessThanOrEqual(strong, 1)
        print("track confidence: weak evidence \(weak), strong evidence \(strong)")
    }
}
