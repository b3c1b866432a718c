import Foundation

/// fer's crop of a tilted face, turned upright: the crop fer would take of the face on a frame
/// turned upright around it (the same box size, squared and grown as FerCrop does), each of its
/// 64x64 pixels sampled once (bilinear, on fer's grey values) at its place in the frame, so the
/// face is resampled once, as an upright face is; outside the frame, fer's pad value of the frame.
/// Faces tilted less than `minDegrees` keep the plain crop bit for bit.
public enum AlignedFerCrop {
    public static let minDegrees: Float = 18

    /// The eye angle of a face in radians (0 without landmarks).
    public static func angle(_ face: Face) -> Float {
        guard face.landmarks.count >= 2 else { return 0 }
        let l = face.landmarks[0], r = face.landmarks[1]
        return atan2(r.y - l.y, r.x - l.x)
    }

    public static func crop(_ image: RGBView, face: Face, into out: UnsafeMutablePointer<UInt8>) -> Bool {
        let a = angle(face)
        guard abs(a) * 180 / .pi >= minDegrees else { return FerCrop.crop(image, box: face.box, into: out) }
        let w = image.width, h = image.height
        guard w > 0, h > 0, let square = Square(face, turned: a) else { return false }
        let fill = Float(FerCrop.padValue(image))
        for oy in 0..<FerCrop.size {
            for ox in 0..<FerCrop.size {
                let p = square.point(ox, oy, of: FerCrop.size)
                let x = p.x - 0.5, y = p.y - 0.5
                var value = fill
                if x >= 0, y >= 0, x <= Float(w - 1), y <= Float(h - 1) {
                    let x0 = Int(x), y0 = Int(y), x1 = min(x0 + 1, w - 1), y1 = min(y0 + 1, h - 1)
                    let fx = x - Float(x0), fy = y - Float(y0)
                    @inline(__always) func g(_ xx: Int, _ yy: Int) -> Float { Float(FerCrop.gray(image.pixels + (yy * w + xx) * 3)) }
                    value = (g(x0, y0) * (1 - fx) + g(x1, y0) * fx) * (1 - fy) + (g(x0, y1) * (1 - fx) + g(x1, y1) * fx) * fy
                }
                out[oy * FerCrop.size + ox] = UInt8(min(255, max(0, value.rounded())))
            }
        }
        return true
    }

    /// The share of the crop `crop` takes for `face` that shows the frame (the rest is fer's pad
    /// value): 1 for a face well inside, less for one the frame's edge cuts.
    public static func visibleFraction(_ face: Face, width w: Int, height h: Int) -> Double {
        let a = angle(face)
        guard w > 0, h > 0, let square = Square(face, turned: abs(a) * 180 / .pi >= minDegrees ? a : 0) else { return 0 }
        let n = 16
        var inside = 0
        for i in 0..<n {
            for j in 0..<n {
                let p = square.point(j, i, of: n)
                if p.x >= 0, p.y >= 0, p.x < Float(w), p.y < Float(h) { inside += 1 }
            }
        }
        return Double(inside) / Double(n * n)
    }

    /// fer's crop square around a face, in the frame turned upright around the box centre: the box
    /// squared on its longer side and grown 10 px per side, turned by `angle` (0: fer's own square).
    struct Square {
        let centre: Point, side: Float, cos: Float, sin: Float

        init?(_ face: Face, turned angle: Float) {
            let longer = max(face.box.width, face.box.height)
            guard longer.isFinite, longer > 0, longer < 1e6 else { return nil }
            centre = face.box.centre
            side = Float(Int(longer) + 2 * FerCrop.offset)
            cos = Foundation.cos(angle)
            sin = Foundation.sin(angle)
        }

        /// The frame point (pixel centres at +0.5) of cell (i, j) of an n x n grid over the square.
        func point(_ i: Int, _ j: Int, of n: Int) -> Point {
            let step = side / Float(n)
            let u = (Float(i) + 0.5) * step - side / 2, v = (Float(j) + 0.5) * step - side / 2
            return Point(x: centre.x + cos * u - sin * v, y: centre.y + sin * u + cos * v)
        }
    }
}
