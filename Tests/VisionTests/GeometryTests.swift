import Foundation
import XCTest
@testable import Vision

final class GeometryTests: XCTestCase {
    func testUpperBodyCropContainsTheFaceAndStaysInTheFrame() {
        let face = Box(x1: 300, y1: 100, x2: 360, y2: 170)
        let body = PersonCrop.upperBody(face: face, width: 640, height: 360)
        XCTAssertTrue(body.contains(face.centre))
        XCTAssertGreaterThan(body.width, face.width * 2.5)
        XCTAssertGreaterThanOrEqual(body.x1, 0); XCTAssertLessThanOrEqual(body.y2, 360)
        let edge = PersonCrop.upperBody(face: Box(x1: -20, y1: -10, x2: 30, y2: 40), width: 640, height: 360)
        XCTAssertEqual(edge.x1, 0); XCTAssertEqual(edge.y1, 0)
    }

    func testFerCropOfABoxOutsideThePaddedFrameIsRefused() {
        let pixels = [UInt8](repeating: 128, count: 32 * 32 * 3)
        var out = [UInt8](repeating: 0, count: 64 * 64)
        let ok = pixels.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer {
                FerCrop.crop(
                    RGBView(pixels: p.baseAddress!, width: 32, height: 32),
                    box: Box(x1: 500, y1: 500, x2: 560, y2: 560), into: $0.baseAddress!)
            }
        }
        XCTAssertFalse(ok)
        let nan = pixels.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer {
                FerCrop.crop(
                    RGBView(pixels: p.baseAddress!, width: 32, height: 32),
                    box: Box(x1: .nan, y1: 0, x2: 10, y2: 10), into: $0.baseAddress!)
            }
        }
        XCTAssertFalse(nan)
    }
}
