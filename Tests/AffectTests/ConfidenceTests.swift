import Affect
import XCTest

final class ConfidenceTests: XCTestCase {
    let conf = FaceConfidence.default
    let happy: [Float] = [0.02, 0.01, 0.02, 0.85, 0.03, 0.04, 0.03]
    let unsure: [Float] = [0.15, 0.13, 0.14, 0.15, 0.14, 0.15, 0.14]

    func clear(_ change: (inout FaceConfidence.Signals) -> Void = { _ in }) -> Double {
        var s = FaceConfidence.Signals(detection: 0.99, faceSize: 120, sharpness: 2000, posterior: happy, flippedPosterior: happy)
        change(&s)
        return conf.confidence(s)
    }

    func testClearFrontalFaceScoresHigh() {
        XCTAssertGreaterThan(clear(), 0.5)
        print("confidence of a clear frontal face: \(clear())")
    }

    func testEachWeakerSignalLowersConfidence() {
        let base = clear()
        XCTAssertLessThan(clear { $0.faceSize = 20 }, base, "tiny face")
        XCTAssertLessThan(clear { $0.sharpness = 100 }, base, "blurred crop (measured blurred faces: 37–142)")
        XCTAssertLessThan(
            clear {
                $0.posterior = self.unsure; $0.flippedPosterior = self.unsure
            }, base, "high entropy")
        XCTAssertLessThan(clear { $0.detection = 0.7 }, base, "doubtful detection")
        XCTAssertLessThan(clear { $0.flippedPosterior = [0.6, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05] }, base, "flip disagrees")
        XCTAssertLessThan(clear { $0.visible = 0.7 }, base, "face cut by the frame's edge")
        XCTAssertEqual(clear { $0.visible = 0.7 }, base * 0.49, accuracy: 1e-9, "visibility squared (visibleWeight 2)")
    }

    func testMonotoneInEverySignal() {
        func series(_ values: [Double], _ set: @escaping (inout FaceConfidence.Signals, Double) -> Void) -> [Double] {
            values.map { v in clear { set(&$0, v) } }
        }
        let checks: [(String, [Double])] = [
            ("size", series(stride(from: 0.0, through: 200, by: 4).map { $0 }) { $0.faceSize = $1 }),
            ("sharpness", series(stride(from: 0.0, through: 2000, by: 25).map { $0 }) { $0.sharpness = $1 }),
            ("detection", series(stride(from: 0.0, through: 1, by: 0.02).map { $0 }) { $0.detection = $1 }),
            ("visible", series(stride(from: 0.0, through: 1, by: 0.02).map { $0 }) { $0.visible = $1 }),
            (
                "certainty",
                series(stride(from: 1.0 / 7, through: 1, by: 0.02).map { $0 }) { s, peak in
                    let p = [Float(peak)] + Array(repeating: Float((1 - peak) / 6), count: 6)
                    s.posterior = p; s.flippedPosterior = p
                }
            ),
            (
                "agreement",
                series(stride(from: 0.0, through: 1, by: 0.05).map { $0 }) { s, mix in
                    s.flippedPosterior = zip(self.happy, self.unsure).map { Float(mix) * $0 + Float(1 - mix) * $1 }
                }
            ),
        ]
        for (name, values) in checks {
            XCTAssertTrue(zip(values, values.dropFirst()).allSatisfy { $0 <= $1 + 1e-12 }, "\(name) not monotone: \(values)")
            XCTAssertTrue(values.allSatisfy { (0...1).contains($0) }, name)
        }
    }

    func testEdgeCases() {
        XCTAssertEqual(conf.confidence(nil), 0, "unseen face")
        XCTAssertEqual(clear { $0.faceSize = 8 }, 0, "below the smallest readable face")
        XCTAssertEqual(clear { $0.detection = 0 }, 0)
        XCTAssertEqual(clear { $0.detection = .nan }, 0)
        XCTAssertEqual(clear { $0.posterior = [0, 0, 0, 0, 0, 0, 0] }, 0, "empty posterior says nothing")
        XCTAssertEqual(
            clear {
                $0.posterior = [Float](repeating: 1, count: 7); $0.flippedPosterior = nil
            }, 0, accuracy: 1e-6, "uniform posterior")
        XCTAssertEqual(clear { $0.flippedPosterior = [1, 0] }, 0, "flip posterior of another size")
        XCTAssertEqual(clear { $0.sharpness = -.infinity }, 0)
        XCTAssertEqual(clear { $0.visible = 0 }, 0, "a crop of padding only")
        XCTAssertEqual(clear { $0.visible = .nan }, 0)
        XCTAssertEqual(clear { $0.faceSize = 64 }, clear { $0.faceSize = 500 }, "no gain above the network's input size")
        XCTAssertEqual(clear { $0.flippedPosterior = nil }, clear(), "no flip pass: identical posteriors agree fully")
    }

    func testSharpnessSeesBlur() {
        // A 64x64 checker-and-gradient crop, and the same after a 5x5 box blur.
        let n = 64
        var sharp = [UInt8](repeating: 0, count: n * n)
        for y in 0..<n { for x in 0..<n { sharp[y * n + x] = UInt8(((x / 4 + y / 4) % 2) * 160 + x) } }
        var blurred = sharp
        for y in 2..<(n - 2) {
            for x in 2..<(n - 2) {
                var s = 0
                for dy in -2...2 { for dx in -2...2 { s += Int(sharp[(y + dy) * n + x + dx]) } }
                blurred[y * n + x] = UInt8(s / 25)
            }
        }
        let vs = Sharpness.laplacianVariance(grey: sharp, width: n, height: n)
        let vb = Sharpness.laplacianVariance(grey: blurred, width: n, height: n)
        XCTAssertGreaterThan(vs, 10 * vb)
        XCTAssertEqual(Sharpness.laplacianVariance(grey: [UInt8](repeating: 90, count: n * n), width: n, height: n), 0)
        XCTAssertEqual(Sharpness.laplacianVariance(grey: [1, 2], width: 2, height: 1), 0, "too small")
        XCTAssertEqual(Sharpness.laplacianVariance(grey: [1, 2], width: 64, height: 64), 0, "short buffer")
        XCTAssertLessThan(clear { $0.sharpness = vb }, clear { $0.sharpness = vs })
        print("laplacian variance: sharp \(vs), blurred \(vb)")
    }
}
