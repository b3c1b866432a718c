import XCTest

@testable import Vision

/// The detector's pyramid from a summed-area table must equal the direct area resize bit for bit
/// (detections are compared with facenet-pytorch's elsewhere; this keeps them unchanged).
final class AreaSumsTests: XCTestCase {
    func testPyramidLevelsAndCropsEqualTheDirectAreaResize() {
        var rng = SystemRandomNumberGenerator()
        for (w, h) in [(640, 360), (97, 61), (13, 200), (1500, 40)] {
            var pixels = (0..<(w * h * 3)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            // A saturated top half makes the largest sums.
            for k in 0..<(pixels.count / 2) { pixels[k] = 255 }
            pixels.withUnsafeBufferPointer { buffer in
                let image = RGBView(pixels: buffer.baseAddress!, width: w, height: h)
                let sums = AreaSums()
                sums.build(image)
                // The detector's levels, then coarse ones: 640x360 to 3x2 sums windows just under 2^24
                // from the table, to 2x1 and 1x1 past it (the fallback).
                let levels = DetectorConfig().scales(width: w, height: h).map { (Int(Double(w) * $0 + 1), Int(Double(h) * $0 + 1)) }
                for (lw, lh) in levels + [(3, 2), (2, 1), (1, 1)] {
                    let n = lh * lw * 3
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: h * lw * 3)
                    let direct = UnsafeMutablePointer<Float>.allocate(capacity: n)
                    let fromTable = UnsafeMutablePointer<Float>.allocate(capacity: n)
                    defer { scratch.deallocate(); direct.deallocate(); fromTable.deallocate() }
                    AreaResize.rgb(
                        image, x0: 0, y0: 0, w: w, h: h, outW: lw, outH: lh, offset: 127.5, scale: 0.0078125,
                        into: direct, scratch: scratch)
                    sums.resize(
                        image, x0: 0, y0: 0, w: w, h: h, outW: lw, outH: lh, offset: 127.5, scale: 0.0078125, into: fromTable,
                        scratch: scratch)
                    let differing = (0..<n).filter { direct[$0].bitPattern != fromTable[$0].bitPattern }.count
                    XCTAssertEqual(differing, 0, "\(w)x\(h) to \(lw)x\(lh)")
                }
                // R-Net and O-Net crops: regions anywhere in the image, smaller or larger than the output.
                for _ in 0..<40 {
                    let rw = Int.random(in: 1...w, using: &rng), rh = Int.random(in: 1...h, using: &rng)
                    let x0 = Int.random(in: 0...(w - rw), using: &rng), y0 = Int.random(in: 0...(h - rh), using: &rng)
                    for size in [24, 48] {
                        let n = size * size * 3
                        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: rh * size * 3)
                        let direct = UnsafeMutablePointer<Float>.allocate(capacity: n)
                        let fromTable = UnsafeMutablePointer<Float>.allocate(capacity: n)
                        defer { scratch.deallocate(); direct.deallocate(); fromTable.deallocate() }
                        AreaResize.rgb(
                            image, x0: x0, y0: y0, w: rw, h: rh, outW: size, outH: size, offset: 127.5, scale: 0.0078125,
                            into: direct, scratch: scratch)
                        sums.resize(
                            image, x0: x0, y0: y0, w: rw, h: rh, outW: size, outH: size, offset: 127.5, scale: 0.0078125,
                            into: fromTable, scratch: scratch)
                        let differing = (0..<n).filter { direct[$0].bitPattern != fromTable[$0].bitPattern }.count
                        XCTAssertEqual(differing, 0, "\(w)x\(h): \(rw)x\(rh) at \(x0),\(y0) to \(size)")
                    }
                }
            }
        }
    }

    /// Sums of one image never answer for another (a patch, the next frame in a recycled buffer):
    /// those fall back to the direct resize.
    func testAnotherImageOrARecycledBufferIsResizedDirectly() {
        let (w, h) = (64, 48), count = 64 * 48 * 3
        let a = UnsafeMutablePointer<UInt8>.allocate(capacity: count), b = UnsafeMutablePointer<UInt8>.allocate(capacity: count)
        let n = 12 * 12 * 3
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: h * 12 * 3)
        let direct = UnsafeMutablePointer<Float>.allocate(capacity: n), resized = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { for p in [a, b] { p.deallocate() }; for p in [scratch, direct, resized] { p.deallocate() } }
        for k in 0..<count { a[k] = UInt8(truncatingIfNeeded: k); b[k] = UInt8(truncatingIfNeeded: k * 7 + 3) }
        let imageA = RGBView(pixels: a, width: w, height: h), imageB = RGBView(pixels: b, width: w, height: h)
        let sums = AreaSums()
        func matches(_ image: RGBView) -> Bool {
            AreaResize.rgb(image, x0: 0, y0: 0, w: w, h: h, outW: 12, outH: 12, offset: 127.5, scale: 0.0078125, into: direct, scratch: scratch)
            sums.resize(image, x0: 0, y0: 0, w: w, h: h, outW: 12, outH: 12, offset: 127.5, scale: 0.0078125, into: resized, scratch: scratch)
            return (0..<n).allSatisfy { direct[$0].bitPattern == resized[$0].bitPattern }
        }
        sums.build(imageA)
        XCTAssertTrue(matches(imageA))
        XCTAssertTrue(matches(imageB), "sums of one image used for another")
        // The detector clears its sums after each detection; the buffer then holds the next frame.
        sums.clear()
        a.update(from: b, count: count)
        XCTAssertTrue(matches(imageA), "cleared sums used")
    }
}
