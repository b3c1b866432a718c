import Foundation

/// fer's crop of a tilted face, turned upright first: the region around the box is resampled
/// (bilinear) rotated by minus the eye angle (MTCNN's eyes) into an upright patch, and fer's crop
/// (FerCrop) is taken there for the same box size. Faces tilted less than `minDegrees` keep the
/// plain crop bit for bit.
public enum AlignedFerCrop {
    public static let minDegrees: Float = 25

    /// The eye angle of a face in radians (0 without landmarks).
    public static func angle(_ face: Face) -> Float {
        guard face.landmarks.count >= 2 else { return 0 }
        let l = face.landmarks[0], r = face.landmarks[1]
        return atan2(r.y - l.y, r.x - l.x)
    }

    public static func crop(_ image: RGBView, face: Face, into out: UnsafeMutablePointer<UInt8>) -> Bool {
        let a = angle(face)
        guard abs(a) * 180 / .pi >= minDegrees else { return FerCrop.crop(image, box: face.box, into: out) }
        let side = Int((max(face.box.width, face.box.height) * 2).rounded(.up))
        guard side > 0, side <= 4096 else { return FerCrop.crop(image, box: face.box, into: out) }
        var patch = [UInt8](repeating: 0, count: side * side * 3)
        let c = face.box.centre, ca = cos(a), sa = sin(a), half = Float(side) / 2
        let maxX = Float(image.width - 1), maxY = Float(image.height - 1)
        for v in 0..<side {
            for u in 0..<side {
                // Patch pixel (u, v), upright, shows the frame at the box centre + R(a) (offset).
                let dx = Float(u) + 0.5 - half, dy = Float(v) + 0.5 - half
                let x = c.x + ca * dx - sa * dy - 0.5, y = c.y + sa * dx + ca * dy - 0.5
                guard x >= 0, y >= 0, x <= maxX, y <= maxY else { continue }
                let x0 = Int(x), y0 = Int(y), x1 = min(x0 + 1, image.width - 1), y1 = min(y0 + 1, image.height - 1)
                let fx = x - Float(x0), fy = y - Float(y0)
                for ch in 0..<3 {
                    func at(_ xx: Int, _ yy: Int) -> Float { Float(image.pixels[(yy * image.width + xx) * 3 + ch]) }
                    let value = (at(x0, y0) * (1 - fx) + at(x1, y0) * fx) * (1 - fy) + (at(x0, y1) * (1 - fx) + at(x1, y1) * fx) * fy
                    patch[(v * side + u) * 3 + ch] = UInt8(min(255, max(0, value.rounded())))
                }
            }
        }
        let box = Box(
            x1: half - face.box.width / 2, y1: half - face.box.height / 2, x2: half + face.box.width / 2, y2: half + face.box.height / 2)
        return patch.withUnsafeBufferPointer { FerCrop.crop(RGBView(pixels: $0.baseAddress!, width: side, height: side), box: box, into: out) }
    }
}
