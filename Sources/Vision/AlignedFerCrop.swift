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
        guard w > 0, h > 0 else { return false }
        // fer's crop rectangle around the face as if the frame were turned upright around the box
        // centre: box corners relative to the centre, squared on the longer side, grown 10 px.
        let side = max(face.box.width, face.box.height)
        guard side.isFinite, side > 0, side < 1e6 else { return false }
        let crop = Float(Int(side) + 2 * FerCrop.offset)
        let c = face.box.centre, ca = cos(a), sa = sin(a)
        let fill = Float(FerCrop.padValue(image))
        let step = crop / Float(FerCrop.size)
        for oy in 0..<FerCrop.size {
            let v = (Float(oy) + 0.5) * step - crop / 2
            for ox in 0..<FerCrop.size {
                let u = (Float(ox) + 0.5) * step - crop / 2
                let x = c.x + ca * u - sa * v - 0.5, y = c.y + sa * u + ca * v - 0.5
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
        let side = max(face.box.width, face.box.height)
        guard w > 0, h > 0, side.isFinite, side > 0, side < 1e6 else { return 0 }
        let crop = Float(Int(side) + 2 * FerCrop.offset)
        let turn = abs(a) * 180 / .pi >= minDegrees ? a : 0
        let c = face.box.centre, ca = cos(turn), sa = sin(turn)
        let n = 16
        var inside = 0
        for i in 0..<n {
            let v = (Float(i) + 0.5) / Float(n) * crop - crop / 2
            for j in 0..<n {
                let u = (Float(j) + 0.5) / Float(n) * crop - crop / 2
                let x = c.x + ca * u - sa * v, y = c.y + sa * u + ca * v
                if x >= 0, y >= 0, x < Float(w), y < Float(h) { inside += 1 }
            }
        }
        return Double(inside) / Double(n * n)
    }
}
