import Foundation
import XCTest

@testable import Vision

/// FaceDetector.track (following a face between detections with O-Net) on a real still: a shifted
/// face is re-found where it moved, a tilted one on its upright patch with an upright-sized box, and
/// a face that is gone ends its track.
final class FaceFollowTests: XCTestCase {
    struct Image {
        var pixels: [UInt8]
        let width: Int, height: Int
        func run<T>(_ body: (RGBView) throws -> T) rethrows -> T {
            try pixels.withUnsafeBufferPointer { try body(RGBView(pixels: $0.baseAddress!, width: width, height: height)) }
        }
    }

    func still() throws -> Image {
        let s = try FaceMeshTests.still("0_f15_hao_ph")
        return Image(pixels: s.pixels, width: s.width, height: s.height)
    }

    func detector() throws -> FaceDetector { FaceDetector(networks: try Fixtures.models().1.detector) }

    /// The image moved by (dx, dy) pixels, grey where nothing moved in.
    func shifted(_ image: Image, dx: Int, dy: Int) -> Image {
        var out = Image(pixels: [UInt8](repeating: 128, count: image.pixels.count), width: image.width, height: image.height)
        for y in 0..<image.height where (0..<image.height).contains(y - dy) {
            for x in 0..<image.width where (0..<image.width).contains(x - dx) {
                for c in 0..<3 { out.pixels[(y * image.width + x) * 3 + c] = image.pixels[((y - dy) * image.width + x - dx) * 3 + c] }
            }
        }
        return out
    }

    func testFollowsAShiftedFace() throws {
        let detector = try detector(), image = try still()
        let face = try XCTUnwrap(try image.run { try detector.detect($0) }.first)
        let moved = shifted(image, dx: Int(face.box.width * 0.15), dy: Int(face.box.height * 0.1))
        let followed = try moved.run { try detector.track([face], in: $0) }
        let found = try XCTUnwrap(try moved.run { try detector.detect($0) }.first)
        XCTAssertEqual(followed.count, 1)
        let f = try XCTUnwrap(followed.first)
        print(
            "shifted by \(Int(face.box.width * 0.15)), \(Int(face.box.height * 0.1)): followed \(f.box) score \(f.score), detected \(found.box), IoU \(f.box.iou(found.box)); unfollowed IoU \(face.box.iou(found.box))"
        )
        XCTAssertGreaterThan(f.score, detector.config.trackThreshold)
        XCTAssertGreaterThan(f.box.iou(found.box), 0.85)
        XCTAssertGreaterThan(f.box.iou(found.box), face.box.iou(found.box) + 0.1, "following must beat keeping the old box")
    }

    func testFollowsATiltedFaceOnItsUprightPatch() throws {
        let detector = try detector(), image = try still()
        let upright = try XCTUnwrap(try image.run { try detector.detect($0) }.first)
        let turned = Image(
            pixels: FaceMeshTests.turn(image.pixels, width: image.width, height: image.height, degrees: 35), width: image.width,
            height: image.height)
        let detected = try XCTUnwrap(try turned.run { try detector.detect($0) }.first)
        let f = try XCTUnwrap(try turned.run { try detector.track([detected], in: $0) }.first)
        let degrees = { (face: Face) in AlignedFerCrop.angle(face) * 180 / .pi }
        print(
            "turned 35 degrees: detected \(detected.box) at \(degrees(detected)) degrees, followed \(f.box) at \(degrees(f)) degrees, score \(f.score); upright \(upright.box)"
        )
        XCTAssertGreaterThan(f.score, detector.config.trackThreshold)
        XCTAssertEqual(degrees(f), degrees(detected), accuracy: 5)
        // The upright face's size, not the larger axis-aligned box around the turned face.
        XCTAssertEqual(f.box.width, upright.box.width, accuracy: 0.15 * upright.box.width)
        XCTAssertEqual(f.box.height, upright.box.height, accuracy: 0.15 * upright.box.height)
        XCTAssertLessThan(f.box.area, detected.box.area)
        XCTAssertLessThan(hypot(f.box.centre.x - detected.box.centre.x, f.box.centre.y - detected.box.centre.y), 0.15 * upright.box.width)
    }

    func testAFaceThatIsGoneEndsItsTrack() throws {
        let detector = try detector(), image = try still()
        let face = try XCTUnwrap(try image.run { try detector.detect($0) }.first)
        let blank = Image(pixels: [UInt8](repeating: 128, count: image.pixels.count), width: image.width, height: image.height)
        XCTAssertEqual(try blank.run { try detector.track([face], in: $0) }, [])
    }
}
