import Audio
import Foundation
import Tensor
import TestSupport
import XCTest

/// YIN F0 on synthetic tones and on espeak-ng speech (against an independent autocorrelation
/// estimate made by tools/reference/audio_vectors.py), level monotone in gain, speech-rate proxy.
final class ProsodyTests: XCTestCase {
    func tone(_ f0: Double, seconds: Double = 1, gain: Float = 0.5, harmonics: Int = 4) -> [Float] {
        (0..<Int(seconds * 16_000)).map { i in
            let t = Double(i) / 16_000
            var x = 0.0
            for h in 1...harmonics { x += sin(2 * .pi * f0 * Double(h) * t) / Double(h) }
            return gain * Float(x) / 2
        }
    }

    func median(_ v: [Float]) -> Float { v.sorted()[v.count / 2] }

    func testF0OfTonesWithinTwoPercent() {
        for f0 in [65.0, 110.0, 196.0, 261.6, 440.0] {
            let track = ProsodyTrack(tone(f0))
            let voiced = track.f0.compactMap { $0 }
            XCTAssertGreaterThan(voiced.count, 80, "\(f0) Hz")
            let worst = voiced.map { abs(Double($0) - f0) / f0 }.max() ?? 1
            XCTAssertLessThanOrEqual(worst, 0.02, "\(f0) Hz")
        }
    }

    func testNoiseAndSilenceAreUnvoiced() {
        var rng = SystemRandomNumberGenerator()
        let noise = (0..<16_000).map { _ in Float.random(in: -0.3...0.3, using: &rng) }
        let track = ProsodyTrack(noise)
        XCTAssertLessThan(Double(track.f0.compactMap { $0 }.count) / Double(track.f0.count), 0.05)
        XCTAssertTrue(ProsodyTrack([Float](repeating: 0, count: 16_000)).f0.allSatisfy { $0 == nil })
    }

    func testLoudnessMonotoneInGain() {
        var last = -Float.infinity
        for gain: Float in [0.001, 0.01, 0.05, 0.2, 0.8] {
            let level = median(ProsodyTrack(tone(150, gain: gain)).loudness)
            XCTAssertGreaterThan(level, last + 5, "gain \(gain)")
            last = level
        }
        // A full-scale sine is -3 dBFS.
        XCTAssertEqual(median(ProsodyTrack(tone(150, gain: 2, harmonics: 1)).loudness), -3.01, accuracy: 0.05)
    }

    /// pcm_f32le audio may carry NaN, infinities or huge values: the branch must not trap, and what
    /// cannot be measured is not a number (the result encodes it as null).
    func testNonFiniteSamplesDoNotTrap() throws {
        var samples = tone(150, seconds: 2)
        for i in stride(from: 0, to: samples.count, by: 997) { samples[i] = [.nan, .infinity, -.infinity, 1e30][i % 4] }
        let track = ProsodyTrack(samples)
        XCTAssertEqual(track.loudness.count, samples.count / 160 + 1)
        XCTAssertFalse(track.f0.compactMap { $0 }.contains { !$0.isFinite })
        let vad = try XCTUnwrap(try VoiceActivityDetector(package: try Repo.defaultPackage()))
        let findings = try AudioAnalyzer(vad: vad).analyze(samples)
        XCTAssertEqual(findings.speechProbability.count, (samples.count + 511) / 512)
    }

    /// espeak-ng speech at three set pitches: on the frames both call voiced, YIN's F0 against an
    /// independent autocorrelation estimate made by the vector generator, frame by frame.
    func testEspeakSpeechF0WithinTwoPercentOfAutocorrelation() throws {
        for pitch in [20, 50, 80] {
            let file = try SafeTensorsFile(path: try Repo.vector("audio/voice_p\(pitch).safetensors"))
            let reference = try file.tensor("f0_autocorrelation").array
            let ours = ProsodyTrack(try file.tensor("audio").array).f0
            var errors: [Double] = []
            for (a, b) in zip(ours, reference) where b.isFinite {
                if let a { errors.append(abs(Double(a) / Double(b) - 1)) }
            }
            errors.sort()
            let within = Double(errors.filter { $0 <= 0.02 }.count) / Double(errors.count)
            print(
                "espeak-ng -p \(pitch): voiced frames: YIN \(ours.compactMap { $0 }.count), autocorrelation "
                    + "\(reference.filter(\.isFinite).count), both \(errors.count); F0 relative difference median "
                    + "\(errors[errors.count / 2]), 90th percentile \(errors[errors.count * 9 / 10]); within 2 %: \(within)")
            XCTAssertGreaterThan(errors.count, 40, "pitch \(pitch)")
            XCTAssertLessThanOrEqual(errors[errors.count / 2], 0.02, "pitch \(pitch)")
            XCTAssertGreaterThanOrEqual(within, 0.9, "pitch \(pitch)")
        }
    }
}
