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

/// UprightPatch against its definition written out plainly (bilinear per channel, black outside),
/// and a patch filled only where FerCrop reads (`FerCrop.footprint`) giving the same crop as the
/// whole patch, for boxes of many sizes and places (inside, across the edges, the exact 2x shrink).
final class UprightPatchTests: XCTestCase {
    func reference(_ image: RGBView, centre c: Point, angle a: Float, side: Int) -> [UInt8] {
        var pixels = [UInt8](repeating: 0, count: side * side * 3)
        let ca = cos(a), sa = sin(a), half = Float(side) / 2
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

    func testPatchesEqualTheDefinitionAndFootprintCropsEqualWholePatchCrops() {
        let width = 97, height = 71
        var rng = SystemRandomNumberGenerator()
        let image = (0..<(width * height * 3)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        image.withUnsafeBufferPointer { buf in
            let view = RGBView(pixels: buf.baseAddress!, width: width, height: height)
            var compared = 0
            for side in [1, 7, 40, 128, 131, 200] {
                for angle: Float in [-0.9, -0.44, 0, 0.5, 1.2] {
                    for centre in [Point(x: 48, y: 35), Point(x: 2, y: 69), Point(x: -30, y: 10), Point(x: 90.5, y: 0.25)] {
                        guard let whole = UprightPatch(view, centre: centre, angle: angle, side: side) else { continue }
                        XCTAssertEqual(whole.pixels, reference(view, centre: centre, angle: angle, side: side), "side \(side) angle \(angle)")
                        for boxSide: Float in [3, 33.5, side == 128 ? 108 : 64, Float(side) * 0.5, Float(side)] {
                            let box = UprightPatch.centredBox(side: side, width: boxSide, height: boxSide * 1.1)
                            var a = [UInt8](repeating: 0, count: FerCrop.size * FerCrop.size), b = a
                            let full = whole.withView { v in a.withUnsafeMutableBufferPointer { FerCrop.crop(v, box: box, into: $0.baseAddress!) } }
                            guard let footprint = FerCrop.footprint(box: box, width: side, height: side) else {
                                XCTAssertFalse(full, "no footprint only for an empty crop")
                                continue
                            }
                            let part = UprightPatch(view, centre: centre, angle: angle, side: side, footprint: footprint)!
                            XCTAssertTrue(part.withView { v in b.withUnsafeMutableBufferPointer { FerCrop.crop(v, box: box, into: $0.baseAddress!) } })
                            XCTAssertEqual(a, b, "side \(side) angle \(angle) box \(boxSide)")
                            compared += 1
                        }
                    }
                }
            }
            XCTAssertGreaterThan(compared, 300)
        }
    }
}
