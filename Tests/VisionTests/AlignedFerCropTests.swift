import Foundation
import Tensor
import TestSupport
import XCTest

@testable import Vision

/// AlignedFerCrop: an upright face keeps fer's crop bit for bit; the same face turned by 35 degrees
/// gives, aligned, a crop much closer to the upright one than the plain crop of the turned face.
final class AlignedFerCropTests: XCTestCase {
    func crops(_ pixels: [UInt8], width: Int, height: Int) throws -> (face: Face, plain: [UInt8], aligned: [UInt8]) {
        let (_, models) = try Fixtures.models()
        return try pixels.withUnsafeBufferPointer { buf in
            let view = RGBView(pixels: buf.baseAddress!, width: width, height: height)
            guard let face = try FaceDetector(networks: models.detector).detect(view).first else { throw MissingTestData(path: "a face") }
            var plain = [UInt8](repeating: 0, count: FerCrop.size * FerCrop.size), aligned = plain
            XCTAssertTrue(plain.withUnsafeMutableBufferPointer { FerCrop.crop(view, box: face.box, into: $0.baseAddress!) })
            XCTAssertTrue(aligned.withUnsafeMutableBufferPointer { AlignedFerCrop.crop(view, face: face, into: $0.baseAddress!) })
            return (face, plain, aligned)
        }
    }

    func meanAbsDifference(_ a: [UInt8], _ b: [UInt8]) -> Double {
        zip(a, b).reduce(0) { $0 + abs(Double($1.0) - Double($1.1)) } / Double(a.count)
    }

    func testUprightIsUnchangedAndTurnedIsAligned() throws {
        let s = try FaceMeshTests.still("0_f15_hao_ph")
        let upright = try crops(s.pixels, width: s.width, height: s.height)
        XCTAssertLessThan(abs(AlignedFerCrop.angle(upright.face)) * 180 / .pi, AlignedFerCrop.minDegrees)
        XCTAssertEqual(upright.aligned, upright.plain)
        let turned = try crops(FaceMeshTests.turn(s.pixels, width: s.width, height: s.height, degrees: 35), width: s.width, height: s.height)
        XCTAssertGreaterThan(abs(AlignedFerCrop.angle(turned.face)) * 180 / .pi, AlignedFerCrop.minDegrees)
        let alignedGap = meanAbsDifference(turned.aligned, upright.plain), plainGap = meanAbsDifference(turned.plain, upright.plain)
        print("mean |crop - upright crop|: aligned \(alignedGap), plain \(plainGap)")
        XCTAssertLessThan(alignedGap, plainGap / 2)
    }
}

/// UprightPatch (what O-Net sees of a tilted face it follows) against its definition written out
/// plainly: bilinear per channel, black outside the image, at full and reduced scale; patch points
/// map back to the image points they show.
final class UprightPatchTests: XCTestCase {
    func reference(_ image: RGBView, centre c: Point, angle a: Float, side: Int, scale: Float) -> [UInt8] {
        var pixels = [UInt8](repeating: 0, count: side * side * 3)
        let ca = cos(a) / scale, sa = sin(a) / scale, half = Float(side) / 2
        for v in 0..<side {
            for u in 0..<side {
                let dx = Float(u) + 0.5 - half, dy = Float(v) + 0.5 - half
                let x = c.x + ca * dx - sa * dy - 0.5, y = c.y + sa * dx + ca * dy - 0.5
                guard x >= 0, y >= 0, x <= Float(image.width - 1), y <= Float(image.height - 1) else { continue }
                let x0 = Int(x), y0 = Int(y), x1 = min(x0 + 1, image.width - 1), y1 = min(y0 + 1, image.height - 1)
                let fx = x - Float(x0), fy = y - Float(y0)
                for ch in 0..<3 {
                    func at(_ xx: Int, _ yy: Int) -> Float { Float(image.pixels[(yy * image.width + xx) * 3 + ch]) }
                    let value = (at(x0, y0) * (1 - fx) + at(x1, y0) * fx) * (1 - fy) + (at(x0, y1) * (1 - fx) + at(x1, y1) * fx) * fy
                    pixels[(v * side + u) * 3 + ch] = UInt8(min(255, max(0, value.rounded())))
                }
            }
        }
        return pixels
    }

    func testPatchesEqualTheirDefinition() {
        let width = 97, height = 71
        var rng = SystemRandomNumberGenerator()
        let image = (0..<(width * height * 3)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        image.withUnsafeBufferPointer { buf in
            let view = RGBView(pixels: buf.baseAddress!, width: width, height: height)
            for side in [1, 7, 40, 131] {
                for angle: Float in [-0.9, -0.44, 0, 0.5, 1.2] {
                    for centre in [Point(x: 48, y: 35), Point(x: 2, y: 69), Point(x: -30, y: 10), Point(x: 90.5, y: 0.25)] {
                        for scale: Float in [1, 0.37] {
                            let patch = UprightPatch(view, centre: centre, angle: angle, side: side, scale: scale)
                            XCTAssertEqual(
                                patch?.pixels, reference(view, centre: centre, angle: angle, side: side, scale: scale),
                                "side \(side) angle \(angle) scale \(scale)")
                            // A patch point and the image point it shows: the pixel centre (u + 0.5, v + 0.5).
                            let p = patch!.imagePoint(Point(x: 3.5, y: 1.5)), half = Float(side) / 2
                            let dx = (3.5 - half) / scale, dy = (1.5 - half) / scale
                            XCTAssertEqual(p.x, centre.x + cos(angle) * dx - sin(angle) * dy, accuracy: 1e-3)
                            XCTAssertEqual(p.y, centre.y + sin(angle) * dx + cos(angle) * dy, accuracy: 1e-3)
                        }
                    }
                }
            }
            XCTAssertNil(UprightPatch(view, centre: Point(x: 0, y: 0), angle: 0, side: 0))
            XCTAssertNil(UprightPatch(view, centre: Point(x: 0, y: 0), angle: 0, side: 5, scale: 0))
        }
    }
}

/// The aligned crop samples each pixel once at its place in the frame: on a frame whose grey value
/// is a linear ramp (exact under bilinear sampling), every crop pixel equals the ramp at the point
/// the geometry says (fer's crop square around the box centre, turned by the eye angle), within
/// rounding; outside the frame, fer's pad value. And the share of the crop inside the frame.
final class AlignedFerCropGeometryTests: XCTestCase {
    /// A grey frame (R = G = B, so fer's grey is the value itself): (x + 2y) / 4, integer division.
    func ramp(width: Int, height: Int) -> [UInt8] {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let g = UInt8((x + 2 * y) / 4)
                pixels[(y * width + x) * 3] = g
                pixels[(y * width + x) * 3 + 1] = g
                pixels[(y * width + x) * 3 + 2] = g
            }
        }
        return pixels
    }

    func face(centre c: Point, side: Float, degrees: Float) -> Face {
        let a = degrees * .pi / 180, d: Float = 30
        return Face(
            box: Box(x1: c.x - side / 2, y1: c.y - side / 2, x2: c.x + side / 2, y2: c.y + side / 2), score: 1,
            landmarks: [Point(x: c.x - d * cos(a), y: c.y - d * sin(a)), Point(x: c.x + d * cos(a), y: c.y + d * sin(a))])
    }

    func testEachPixelIsTheFrameAtItsTurnedPlace() {
        let width = 400, height = 300
        let pixels = ramp(width: width, height: height)
        pixels.withUnsafeBufferPointer { buf in
            let view = RGBView(pixels: buf.baseAddress!, width: width, height: height)
            for degrees: Float in [-40, -20, 30, 60] {
                let f = face(centre: Point(x: 200, y: 150), side: 120, degrees: degrees)
                var out = [UInt8](repeating: 0, count: FerCrop.size * FerCrop.size)
                XCTAssertTrue(out.withUnsafeMutableBufferPointer { AlignedFerCrop.crop(view, face: f, into: $0.baseAddress!) })
                let a = AlignedFerCrop.angle(f), crop = Float(120 + 20), step = crop / 64
                var worst: Float = 0
                for oy in 0..<64 {
                    for ox in 0..<64 {
                        let u = (Float(ox) + 0.5) * step - crop / 2, v = (Float(oy) + 0.5) * step - crop / 2
                        let x = 200 + cos(a) * u - sin(a) * v - 0.5, y = 150 + sin(a) * u + cos(a) * v - 0.5
                        // Bilinear between the integer steps of (x + 2y) / 4: within one grey level.
                        let expected = (x + 2 * y) / 4
                        worst = max(worst, abs(Float(out[oy * 64 + ox]) - expected))
                    }
                }
                XCTAssertLessThan(worst, 1.5, "\(degrees) degrees")
            }
            // Below `minDegrees` the crop is fer's own.
            let upright = face(centre: Point(x: 200, y: 150), side: 120, degrees: AlignedFerCrop.minDegrees - 1)
            var a = [UInt8](repeating: 0, count: 64 * 64), b = a
            XCTAssertTrue(a.withUnsafeMutableBufferPointer { AlignedFerCrop.crop(view, face: upright, into: $0.baseAddress!) })
            XCTAssertTrue(b.withUnsafeMutableBufferPointer { FerCrop.crop(view, box: upright.box, into: $0.baseAddress!) })
            XCTAssertEqual(a, b)
        }
    }

    func testOutsideTheFrameIsFersPadValue() {
        let width = 200, height = 120
        let pixels = ramp(width: width, height: height)
        pixels.withUnsafeBufferPointer { buf in
            let view = RGBView(pixels: buf.baseAddress!, width: width, height: height)
            let f = face(centre: Point(x: 100, y: 110), side: 100, degrees: 30)
            var out = [UInt8](repeating: 0, count: 64 * 64)
            XCTAssertTrue(out.withUnsafeMutableBufferPointer { AlignedFerCrop.crop(view, face: f, into: $0.baseAddress!) })
            // The bottom corners of the turned crop lie below the frame.
            XCTAssertEqual(Int32(out[63 * 64]), FerCrop.padValue(view))
            XCTAssertEqual(Int32(out[63 * 64 + 63]), FerCrop.padValue(view))
        }
    }

    func testVisibleFraction() {
        let inside = face(centre: Point(x: 200, y: 150), side: 100, degrees: 0)
        XCTAssertEqual(AlignedFerCrop.visibleFraction(inside, width: 400, height: 300), 1)
        // Crop square of 120 px centred 30 px above the bottom edge: 90 of 120 rows inside.
        let cut = face(centre: Point(x: 200, y: 270), side: 100, degrees: 0)
        XCTAssertEqual(AlignedFerCrop.visibleFraction(cut, width: 400, height: 300), 0.75, accuracy: 1.0 / 16)
        // Turned by 45 degrees around a centre on the edge: half of it inside.
        let turned = face(centre: Point(x: 200, y: 300), side: 100, degrees: 45)
        XCTAssertEqual(AlignedFerCrop.visibleFraction(turned, width: 400, height: 300), 0.5, accuracy: 1.0 / 16)
        XCTAssertEqual(AlignedFerCrop.visibleFraction(face(centre: Point(x: -500, y: 0), side: 100, degrees: 0), width: 400, height: 300), 0)
    }
}
