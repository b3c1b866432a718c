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
