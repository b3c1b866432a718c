import Foundation
import Tensor
import XCTest

@testable import Affect

/// The audio feature source's windows: centre on the hop grid (halves up), zero padding and coverage
/// at the audio's edges, the masked input past them, non-finite samples as 0, and the manifest
/// checks. The encoder here is a global average over the window, so each feature is the window's
/// mean, zero padding included (the end-to-end parity of a real encoder is test_av_package.py).
final class AudioEncoderTests: XCTestCase {
    static let window = 8, hop = 4

    func encoder(window: Int = window, declared: Int = window) throws -> AudioEncoder {
        let manifest = try JSON(
            parsing: """
                {"format": "affectd-model/1", "networks": {"mean": {"inputs": [{"name": "audio", "shape": [1, \(declared), 1]}],
                 "blocks": [{"op": "global_avg_pool"}]}}}
                """)
        let weights = try SafeTensorsFile(path: try emptySafetensors())
        let section = try JSON(parsing: #"{"encoder": "mean", "window": \#(window), "hop": \#(Self.hop), "features": 1}"#)
        return try AudioEncoder(json: section, networks: { try Network(manifest: manifest, network: $0, weights: weights) })
    }

    func emptySafetensors() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("affectd-audio-enc-\(getpid()).safetensors").path
        var b = [UInt8](repeating: 0, count: 8)
        b[0] = 8
        b += Array("{}      ".utf8)
        FileManager.default.createFile(atPath: path, contents: Data(b))
        return path
    }

    func testWindowsCoverageAndMaskedInput() throws {
        let enc = try encoder()
        var samples = (1...20).map(Float.init)
        let sample = { (i: Double) in i / Double(AudioEncoder.sampleRate) }
        let times = [0, sample(5), sample(6), sample(18), sample(40), -1]
        let out = try enc.features(samples, times: times, arena: Arena())
        // t = 0: window [-4, 4) holds samples 1...4 and four zeros.
        XCTAssertEqual(out[0], AudioFeature(values: [10 / 8], coverage: 0.5))
        // 5 samples: centre 4 (1.25 hops rounds to 1), window [0, 8).
        XCTAssertEqual(out[1], AudioFeature(values: [36 / 8], coverage: 1))
        // 6 samples: 1.5 hops rounds up to 2, centre 8, window [4, 12).
        XCTAssertEqual(out[2], AudioFeature(values: [68 / 8], coverage: 1))
        // 18 samples: centre 20, window [16, 24): 17...20 and four zeros past the end.
        XCTAssertEqual(out[3], AudioFeature(values: [74 / 8], coverage: 0.5))
        // Windows that miss the audio: the masked input, whatever the encoder would make of zeros.
        XCTAssertEqual(out[4], enc.missing)
        XCTAssertEqual(out[5], AudioFeature(values: [0], coverage: 0))
        samples[5] = .nan
        samples[6] = .infinity
        XCTAssertEqual(try enc.features(samples, times: [sample(5)], arena: Arena())[0].values, [(36 - 6 - 7) / 8])
        XCTAssertEqual(try enc.features([], times: [0, 1], arena: Arena()), [enc.missing, enc.missing])
    }

    func testManyFramesShareBatchedWindows() throws {
        let enc = try encoder()
        let samples = (0..<400).map { Float($0 % 17) }
        let times = (0..<300).map { Double($0) / Double(AudioEncoder.sampleRate) * 1.3 }
        let out = try enc.features(samples, times: times, arena: Arena())
        for (t, f) in zip(times, out) {
            let start = enc.windowStart(at: t)
            let inside = (start..<start + Self.window).filter { samples.indices.contains($0) }
            XCTAssertEqual(f.values[0], inside.reduce(0) { $0 + samples[$1] } / Float(Self.window), accuracy: 1e-5)
            XCTAssertEqual(f.coverage, Float(inside.count) / Float(Self.window))
        }
    }

    func testWindowMustMatchTheEncoderInput() {
        XCTAssertThrowsError(try encoder(window: 16, declared: 8)) { error in
            XCTAssertTrue("\(error)".contains("[1, 16, 1]"), "\(error)")
        }
    }
}
