import Foundation

/// A square patch of an image turned upright around a point, `scale` patch pixels per image pixel:
/// patch pixel (u, v) shows the image at `centre` + R(angle) (u + 0.5 - side/2, v + 0.5 - side/2) /
/// scale, bilinear, black outside the image. What a network trained on upright faces sees of a
/// tilted one (O-Net when following it).
struct UprightPatch {
    let side: Int
    let centre: Point
    let angle: Float
    let scale: Float
    private(set) var pixels: [UInt8]

    /// nil when `side` is not in 1...4096 or `scale` not in (0, 1].
    init?(_ image: RGBView, centre c: Point, angle a: Float, side: Int, scale: Float = 1) {
        guard side > 0, side <= 4096, scale > 0, scale <= 1 else { return nil }
        self.side = side
        centre = c
        angle = a
        self.scale = scale
        var pixels = [UInt8](repeating: 0, count: side * side * 3)
        let ca = cos(a) / scale, sa = sin(a) / scale, half = Float(side) / 2
        let w = image.width, h = image.height, maxX = Float(w - 1), maxY = Float(h - 1), src = image.pixels
        pixels.withUnsafeMutableBufferPointer { out in
            for v in 0..<side {
                let dy = Float(v) + 0.5 - half
                for u in 0..<side {
                    let dx = Float(u) + 0.5 - half
                    let x = c.x + ca * dx - sa * dy - 0.5, y = c.y + sa * dx + ca * dy - 0.5
                    guard x >= 0, y >= 0, x <= maxX, y <= maxY else { continue }
                    let x0 = Int(x), y0 = Int(y), x1 = min(x0 + 1, w - 1), y1 = min(y0 + 1, h - 1)
                    let fx = x - Float(x0), fy = y - Float(y0), gx = 1 - fx, gy = 1 - fy
                    let p00 = src + (y0 * w + x0) * 3, p10 = src + (y0 * w + x1) * 3
                    let p01 = src + (y1 * w + x0) * 3, p11 = src + (y1 * w + x1) * 3
                    let o = out.baseAddress! + (v * side + u) * 3
                    for ch in 0..<3 {
                        let top = Float(p00[ch]) * gx + Float(p10[ch]) * fx, bottom = Float(p01[ch]) * gx + Float(p11[ch]) * fx
                        o[ch] = UInt8(min(255, max(0, (top * gy + bottom * fy).rounded())))
                    }
                }
            }
        }
        self.pixels = pixels
    }

    /// A box of the given size centred in the patch (where `centre` lies).
    func centredBox(width: Float, height: Float) -> Box {
        let half = Float(side) / 2
        return Box(x1: half - width / 2, y1: half - height / 2, x2: half + width / 2, y2: half + height / 2)
    }

    /// A point of the patch in image pixels.
    func imagePoint(_ p: Point) -> Point {
        let half = Float(side) / 2, dx = (p.x - half) / scale, dy = (p.y - half) / scale
        return Point(x: centre.x + cos(angle) * dx - sin(angle) * dy, y: centre.y + sin(angle) * dx + cos(angle) * dy)
    }

    func withView<T>(_ body: (RGBView) throws -> T) rethrows -> T {
        try pixels.withUnsafeBufferPointer { try body(RGBView(pixels: $0.baseAddress!, width: side, height: side)) }
    }
}
