import Foundation

/// A square patch of an image turned upright around a point: patch pixel (u, v) shows the image at
/// `centre` + R(angle) (u + 0.5 - side/2, v + 0.5 - side/2), bilinear, black outside the image. What
/// a network trained on upright faces sees of a tilted one (fer's crop, O-Net when following it).
struct UprightPatch {
    let side: Int
    let centre: Point
    let angle: Float
    private(set) var pixels: [UInt8]

    /// nil when `side` is not in 1...4096.
    init?(_ image: RGBView, centre c: Point, angle a: Float, side: Int) {
        guard side > 0, side <= 4096 else { return nil }
        self.side = side
        centre = c
        angle = a
        pixels = [UInt8](repeating: 0, count: side * side * 3)
        let ca = cos(a), sa = sin(a), half = Float(side) / 2
        let maxX = Float(image.width - 1), maxY = Float(image.height - 1)
        for v in 0..<side {
            for u in 0..<side {
                let dx = Float(u) + 0.5 - half, dy = Float(v) + 0.5 - half
                let x = c.x + ca * dx - sa * dy - 0.5, y = c.y + sa * dx + ca * dy - 0.5
                guard x >= 0, y >= 0, x <= maxX, y <= maxY else { continue }
                let x0 = Int(x), y0 = Int(y), x1 = min(x0 + 1, image.width - 1), y1 = min(y0 + 1, image.height - 1)
                let fx = x - Float(x0), fy = y - Float(y0)
                for ch in 0..<3 {
                    func at(_ xx: Int, _ yy: Int) -> Float { Float(image.pixels[(yy * image.width + xx) * 3 + ch]) }
                    let value = (at(x0, y0) * (1 - fx) + at(x1, y0) * fx) * (1 - fy) + (at(x0, y1) * (1 - fx) + at(x1, y1) * fx) * fy
                    pixels[(v * side + u) * 3 + ch] = UInt8(min(255, max(0, value.rounded())))
                }
            }
        }
    }

    /// A box of the given size centred in the patch (where `centre` lies).
    func centredBox(width: Float, height: Float) -> Box {
        let half = Float(side) / 2
        return Box(x1: half - width / 2, y1: half - height / 2, x2: half + width / 2, y2: half + height / 2)
    }

    /// A point of the patch in image pixels.
    func imagePoint(_ p: Point) -> Point {
        let half = Float(side) / 2, dx = p.x - half, dy = p.y - half
        return Point(x: centre.x + cos(angle) * dx - sin(angle) * dy, y: centre.y + sin(angle) * dx + cos(angle) * dy)
    }

    func withView<T>(_ body: (RGBView) throws -> T) rethrows -> T {
        try pixels.withUnsafeBufferPointer { try body(RGBView(pixels: $0.baseAddress!, width: side, height: side)) }
    }
}
