import Audio
import Foundation
import Tensor
import TestSupport
import XCTest

/// SoundAQnet in the engine against the numpy reference of the original checkpoint
/// (tools/reference/soundscape_vectors.py), and the ISO 532-1 loudness front end against the
/// standard's anchor (a 1 kHz tone at 40 dB SPL is 1 sone; +10 dB doubles it).
final class SoundscapeTests: XCTestCase {
    static let cases = ["face_noface", "music", "silence"]

    func model() throws -> SoundscapeModel {
        try XCTUnwrap(try SoundscapeModel(package: try Repo.defaultPackage()), "the package has no audio.soundscape")
    }

    func vector(_ name: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(path: try Repo.vector("audio/soundscape_\(name).safetensors"))
    }

    /// The log-mel network (STFT conv, power, mel filters, dB) against numpy's rfft-based log-mel.
    /// Float32 against float64: compared in dB where the reference is above -60 dB (below that the
    /// STFT conv's rounding, ~1e-7 of the frame's energy, dominates the bin), and in power everywhere
    /// (1e-4 relative above 1, absolute below).
    func testLogmelParity() throws {
        let m = try model()
        let arena = Arena()
        for name in Self.cases {
            let v = try vector(name)
            let audio = try v.tensor("audio").array, ref = try v.tensor("logmel").array
            let ours = try m.logmelFeatures(audio, arena: arena)
            XCTAssertEqual(ours.shape.dims, [1, 1, ref.count / 64, 64], name)
            var worstDb: Float = 0, worstPower: Float = 0
            for (a, b) in zip(ours.array, ref) {
                if b > -60 { worstDb = max(worstDb, abs(a - b)) }
                worstPower = max(worstPower, abs(powf(10, a / 10) - powf(10, b / 10)) / max(1, powf(10, b / 10)))
            }
            XCTAssertLessThanOrEqual(worstDb, 0.01, name)
            XCTAssertLessThanOrEqual(worstPower, 1e-4, name)
            print("soundscape log-mel \(name): max |dB - numpy| \(worstDb) (bins > -60 dB), max |power - numpy| \(worstPower)")
            arena.reset()
        }
    }

    /// The network on identical features: every output within 1e-4 of the numpy reference.
    func testNetworkParity() throws {
        let m = try model()
        let arena = Arena()
        for name in Self.cases {
            let v = try vector(name)
            let mel = try v.tensor("logmel")
            let input = arena.tensor([1, 1, mel.shape[0], 64])
            input.data.update(from: mel.data, count: mel.count)
            let outs = try m.run(logmel: input, loudness: try v.tensor("loudness").array, arena: arena)
            var report: [String] = []
            for (output, tensor) in zip(m.outputNames, outs) {
                let ref = try v.tensor("expected.\(output)").array
                XCTAssertEqual(tensor.count, ref.count, "\(name) \(output)")
                let worst = zip(tensor.array, ref).map { abs($0 - $1) }.max() ?? .infinity
                XCTAssertLessThanOrEqual(worst, 1e-4, "\(name) \(output)")
                report.append("\(output) \(String(format: "%.1e", worst))")
            }
            let p = outs[m.outputNames.firstIndex(of: "pleasantness")!].data[0]
            let e = outs[m.outputNames.firstIndex(of: "eventfulness")!].data[0]
            XCTAssert((-1.5...1.5).contains(p) && (-1.5...1.5).contains(e), name)
            print("soundscape network \(name): max |ours - numpy|: \(report.joined(separator: ", "))")
            arena.reset()
        }
    }

    /// A 1 kHz tone (16 kHz samples at the package's calibration) at 40, 50, 60, 70 and 80 dB SPL:
    /// ISO 532-1 defines 1 sone at 40 dB and 2^((L - 40) / 10) above it for this tone.
    func testLoudnessOfTonesAtKnownLevels() throws {
        let m = try model()
        for level in stride(from: 40.0, through: 80.0, by: 10.0) {
            let amplitude = Float(2e-5 * pow(10, level / 20) * 2.0.squareRoot() / m.pascalPerUnit)
            let tone = (0..<(2 * 16_000)).map { amplitude * sinf(2 * .pi * 1000 * Float($0) / 16_000) }
            let n = m.loudness(tone)
            XCTAssertEqual(n.count, 1000, "2 ms steps")
            let steady = n[500..<900]  // after the temporal weighting's 70 ms settle, before the end's decay
            let mean = steady.reduce(0, +) / Float(steady.count)
            let want = Float(pow(2, (level - 40) / 10))
            XCTAssertEqual(mean, want, accuracy: want * 0.05, "\(level) dB")
            XCTAssertLessThan(steady.max()! - steady.min()!, want * 0.01, "steady tone, steady loudness")
            print("ISO 532-1 1 kHz tone \(level) dB SPL: \(mean) sone (standard: \(want))")
        }
        XCTAssertEqual(m.loudness([Float](repeating: 0, count: 16_000)).max(), 0, "digital silence is 0 sone")
    }

    /// Loudness rises with the level of broadband noise, and falls back after it stops.
    func testLoudnessFollowsTheSignal() throws {
        let m = try model()
        var rng = SystemRandomNumberGenerator()
        let noise = (0..<16_000).map { _ in Float.random(in: -1...1, using: &rng) }
        var previous: Float = 0
        for gain: Float in [0.001, 0.01, 0.1] {
            let n = m.loudness(noise.map { $0 * gain })
            let mean = n[250..<450].reduce(0, +) / 200
            XCTAssertGreaterThan(mean, previous * 1.5, "gain \(gain)")
            previous = mean
        }
        let burst = noise.map { $0 * 0.1 } + [Float](repeating: 0, count: 16_000)
        let n = m.loudness(burst)
        XCTAssertLessThan(n[950], n[450] * 0.05, "decays after the burst")
    }

    /// The 3x upsampler keeps a 1 kHz tone (within 2e-3, the Kaiser-5 filter's ripple, of the tone at 48 kHz away from the edges).
    func testUpsamplerKeepsATone() {
        let up = Upsampler(factor: 3)
        let x = (0..<1600).map { sinf(2 * .pi * 1000 * Float($0) / 16_000) }
        let y = up(x)
        XCTAssertEqual(y.count, 4800)
        let worst = (300..<4500).map { abs(y[$0] - sinf(2 * .pi * 1000 * Float($0) / 48_000)) }.max()!
        XCTAssertLessThan(worst, 2e-3)
    }

    func testWindowSchedule() throws {
        let m = try model()
        let rate = SoundscapeModel.sampleRate
        let w = Int(m.windowSeconds * Double(rate)), hop = Int(m.hopSeconds * Double(rate))
        XCTAssertEqual(m.windows(sampleCount: 2 * rate), [], "under 3 s: no window")
        XCTAssertEqual(m.windows(sampleCount: 3 * rate), [0..<(3 * rate)], "audio shorter than a window: one window")
        let count = 3 * hop + w + 7
        XCTAssertEqual(m.windows(sampleCount: count), (0...3).map { ($0 * hop)..<($0 * hop + w) })
        XCTAssertEqual(m.windows(sampleCount: 3 * hop + w - 1).count, 3, "a window that does not fit is left out")
    }
}
