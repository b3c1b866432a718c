/// Face alignment: the least-squares similarity transform (rotation, uniform scale, translation;
/// no reflection) that takes the five MTCNN landmarks onto a canonical template, and the warp that
/// applies it. Kept next to the fer crop for encoders trained on aligned faces.
public struct Similarity: Sendable, Equatable {
    /// dst = [[a, -b], [b, a]] * src + (tx, ty)
    public var a: Float, b: Float, tx: Float, ty: Float

    public func apply(_ p: Point) -> Point { Point(x: a * p.x - b * p.y + tx, y: b * p.x + a * p.y + ty) }

    public var inverse: Similarity {
        let d = a * a + b * b
        let ia = a / d, ib = -b / d
        return Similarity(a: ia, b: ib, tx: -(ia * tx - ib * ty), ty: -(ib * tx + ia * ty))
    }

    /// Least-squares fit of dst ≈ T(src) (Umeyama 1991 restricted to 2-D similarities); nil when the
    /// source points coincide.
    public static func fit(from src: [Point], to dst: [Point]) -> Similarity? {
        guard src.count == dst.count, src.count >= 2 else { return nil }
        let n = Double(src.count)
        let msx = src.reduce(0.0) { $0 + Double($1.x) } / n, msy = src.reduce(0.0) { $0 + Double($1.y) } / n
        let mdx = dst.reduce(0.0) { $0 + Double($1.x) } / n, mdy = dst.reduce(0.0) { $0 + Double($1.y) } / n
        var dot = 0.0, cross = 0.0, norm = 0.0
        for (p, q) in zip(src, dst) {
            let ax = Double(p.x) - msx, ay = Double(p.y) - msy, bx = Double(q.x) - mdx, by = Double(q.y) - mdy
            dot += ax * bx + ay * by
            cross += ax * by - ay * bx
            norm += ax * ax + ay * ay
        }
        guard norm > 1e-12 else { return nil }
        let a = dot / norm, b = cross / norm
        return Similarity(a: Float(a), b: Float(b), tx: Float(mdx - (a * msx - b * msy)), ty: Float(mdy - (b * msx + a * msy)))
    }
}

public enum FaceAligner {
    /// The 5-point template of ArcFace-style 112x112 crops (insightface), in the MTCNN landmark order.
    public static let template112: [Point] = [
        Point(x: 38.2946, y: 51.6963), Point(x: 73.5318, y: 51.5014), Point(x: 56.0252, y: 71.7366),
        Point(x: 41.5493, y: 92.3655), Point(x: 70.7299, y: 92.2041),
    ]

    /// Writes the aligned size x size RGB face (template scaled to `size`) into `out`; returns the
    /// transform image -> crop, or nil when the landmarks are degenerate. Bilinear, black outside.
    @discardableResult
    public static func align(_ image: RGBView, landmarks: [Point], size: Int = 112,
                             into out: UnsafeMutablePointer<UInt8>) -> Similarity? {
        let k = Float(size) / 112
        guard let t = Similarity.fit(from: landmarks, to: template112.map { Point(x: $0.x * k, y: $0.y * k) }) else { return nil }
        let inv = t.inverse
        for v in 0..<size {
            for u in 0..<size {
                let p = inv.apply(Point(x: Float(u), y: Float(v)))
                Bilinear.sample(image, x: p.x, y: p.y, into: out + (v * size + u) * 3)
            }
        }
        return t
    }
}

public enum Bilinear {
    /// Bilinear RGB sample at pixel-centre coordinates (x, y); black outside the frame.
    @inline(__always) static func sample(_ image: RGBView, x: Float, y: Float, into out: UnsafeMutablePointer<UInt8>) {
        let x0f = x.rounded(.down), y0f = y.rounded(.down)
        guard x0f >= -1, y0f >= -1, x0f < Float(image.width), y0f < Float(image.height) else { out[0] = 0; out[1] = 0; out[2] = 0; return }
        let x0 = Int(x0f), y0 = Int(y0f)
        let fx = x - x0f, fy = y - y0f
        for c in 0..<3 {
            @inline(__always) func px(_ xx: Int, _ yy: Int) -> Float {
                xx >= 0 && yy >= 0 && xx < image.width && yy < image.height ? Float(image.pixels[(yy * image.width + xx) * 3 + c]) : 0
            }
            let top = px(x0, y0) * (1 - fx) + px(x0 + 1, y0) * fx
            let bottom = px(x0, y0 + 1) * (1 - fx) + px(x0 + 1, y0 + 1) * fx
            out[c] = UInt8(clamping: Int((top * (1 - fy) + bottom * fy).rounded()))
        }
    }

    /// Resizes the region `box` (clamped to the frame) to outW x outH with half-pixel centres and
    /// edge clamping, writing (x - mean) / std as HWC floats into `out` (an encoder input).
    static func resize(_ image: RGBView, box: Box, outW: Int, outH: Int, mean: Float, std: Float,
                       into out: UnsafeMutablePointer<Float>) {
        resized(image, box: box, outW: outW, outH: outH) { i, r, g, b in
            let o = out + i * 3
            o[0] = (r - mean) / std; o[1] = (g - mean) / std; o[2] = (b - mean) / std
        }
    }

    /// The region `box` (clamped to the frame) resized to outW x outH, bilinear with half-pixel
    /// centres and edge clamping: `pixel(index, r, g, b)` for each output pixel in row-major order,
    /// values unrounded in 0...255. The one sampler behind the encoder inputs (float, here) and
    /// the 8-bit crops the pipeline batches (Affect's ImageResize).
    public static func resized(_ image: RGBView, box: Box, outW: Int, outH: Int,
                               _ pixel: (Int, Float, Float, Float) -> Void) {
        let b = box.clamped(width: image.width, height: image.height)
        let bw = max(b.width, 1), bh = max(b.height, 1)
        let sx = bw / Float(outW), sy = bh / Float(outH)
        let maxX = image.width - 1, maxY = image.height - 1
        for v in 0..<outH {
            let y = min(max(b.y1 + (Float(v) + 0.5) * sy - 0.5, 0), Float(maxY))
            let y0 = Int(y), y1 = min(y0 + 1, maxY), fy = y - Float(y0)
            for u in 0..<outW {
                let x = min(max(b.x1 + (Float(u) + 0.5) * sx - 0.5, 0), Float(maxX))
                let x0 = Int(x), x1 = min(x0 + 1, maxX), fx = x - Float(x0)
                let p00 = image.pixels + (y0 * image.width + x0) * 3, p01 = image.pixels + (y0 * image.width + x1) * 3
                let p10 = image.pixels + (y1 * image.width + x0) * 3, p11 = image.pixels + (y1 * image.width + x1) * 3
                @inline(__always) func channel(_ c: Int) -> Float {
                    let top = Float(p00[c]) * (1 - fx) + Float(p01[c]) * fx
                    let bottom = Float(p10[c]) * (1 - fx) + Float(p11[c]) * fx
                    return top * (1 - fy) + bottom * fy
                }
                pixel(v * outW + u, channel(0), channel(1), channel(2))
            }
        }
    }
}
