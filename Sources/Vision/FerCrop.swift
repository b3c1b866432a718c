/// The face crop the `fer` library feeds its mini-Xception (fer 25.10.3, FER.detect_emotions), on RGB
/// input; tools/reference/fer_crop.py is its numpy twin. The network was trained on what this crop
/// produces, so it is kept bit-exact (a one-pixel shift moves probabilities by up to 0.23):
/// OpenCV fixed-point grey -> 40 px padding with the rounded mean of the frame's bottom two rows ->
/// the int box squared on its longer side, grown 10 px per side -> OpenCV fixed-point bilinear
/// resize of the 8-bit crop to 64x64.
public enum FerCrop {
    public static let size = 64
    static let padding = 40
    static let offset = 10

    /// OpenCV's BGR2GRAY on 8-bit data: (9798 R + 19235 G + 3735 B + 2^14) >> 15 (15-bit coefficients;
    /// the 14-bit ones differ by 1 on ~0.3 % of pixels).
    @inline(__always) static func gray(_ p: UnsafePointer<UInt8>) -> Int32 {
        (Int32(p[0]) * 9798 + Int32(p[1]) * 19235 + Int32(p[2]) * 3735 + 16384) >> 15
    }

    /// fer's crop rectangle in padded coordinates, [x1, x2) x [y1, y2), before clipping to the padded frame.
    static func squareBox(_ b: Box) -> (x1: Int, y1: Int, x2: Int, y2: Int)? {
        let limit: Float = 1e8
        guard abs(b.x1) < limit, abs(b.y1) < limit, abs(b.x2) < limit, abs(b.y2) < limit else { return nil }
        var x = Int(b.x1), y = Int(b.y1)
        var w = Int(b.x2) - x, h = Int(b.y2) - y
        if h > w { let d = h - w; x -= floorDiv(d, 2); w += d } else if w > h { let d = w - h; y -= floorDiv(d, 2); h += d }
        return (max(0, x - offset + padding), max(0, y - offset + padding), x + w + offset + padding, y + h + offset + padding)
    }

    /// fer's pad value: the grey mean of the frame's bottom two rows, rounded half to even
    /// (cv2.mean + saturate_cast).
    static func padValue(_ image: RGBView) -> Int32 {
        let w = image.width, h = image.height, rows = min(2, h)
        var sum = 0
        for y in (h - rows)..<h { for x in 0..<w { sum += Int(gray(image.pixels + (y * w + x) * 3)) } }
        return Int32((Double(sum) / Double(rows * w)).rounded(.toNearestOrEven))
    }

    @inline(__always) static func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }

    /// Writes the 64x64 8-bit grey face fer would classify for `box` into `out`; false when the
    /// crop is empty (a box entirely outside the padded frame).
    public static func crop(_ image: RGBView, box: Box, into out: UnsafeMutablePointer<UInt8>) -> Bool {
        let w = image.width, h = image.height
        guard w > 0, h > 0, let r = squareBox(box) else { return false }
        let pw = w + 2 * padding, ph = h + 2 * padding
        // numpy slicing clips the end at the padded size.
        let x1 = r.x1, y1 = r.y1, x2 = min(r.x2, pw), y2 = min(r.y2, ph)
        guard x2 > x1, y2 > y1 else { return false }
        let fill = padValue(image)
        @inline(__always) func px(_ x: Int, _ y: Int) -> Int32 {  // padded-frame coordinates
            let sx = x1 + x - padding, sy = y1 + y - padding
            return sx >= 0 && sx < w && sy >= 0 && sy < h ? gray(image.pixels + (sy * w + sx) * 3) : fill
        }
        let cw = x2 - x1, ch = y2 - y1
        if cw == 2 * size && ch == 2 * size {  // OpenCV takes INTER_AREA for an exact 2x shrink
            for oy in 0..<size {
                for ox in 0..<size {
                    let s = px(2 * ox, 2 * oy) + px(2 * ox + 1, 2 * oy) + px(2 * ox, 2 * oy + 1) + px(2 * ox + 1, 2 * oy + 1)
                    out[oy * size + ox] = UInt8((s + 2) >> 2)
                }
            }
            return true
        }
        var xi = [Int](repeating: 0, count: size), xa0 = [Int32](repeating: 0, count: size), xa1 = xa0
        var yi = xi, ya0 = xa0, ya1 = xa0
        taps(cw, &xi, &xa0, &xa1)
        taps(ch, &yi, &ya0, &ya1)
        // Horizontal pass per needed source row (11-bit fixed point), then OpenCV's vertical pass.
        var r0 = [Int32](repeating: 0, count: size), r1 = r0
        for oy in 0..<size {
            let ya = yi[oy], yb = min(yi[oy] + 1, ch - 1)
            for ox in 0..<size {
                let xa = xi[ox], xb = min(xi[ox] + 1, cw - 1)
                r0[ox] = px(xa, ya) * xa0[ox] + px(xb, ya) * xa1[ox]
                r1[ox] = px(xa, yb) * xa0[ox] + px(xb, yb) * xa1[ox]
            }
            for ox in 0..<size {
                let v = ((ya0[oy] * (r0[ox] >> 4)) >> 16) + ((ya1[oy] * (r1[ox] >> 4)) >> 16)
                out[oy * size + ox] = UInt8(clamping: (v + 2) >> 2)
            }
        }
        return true
    }

    /// OpenCV INTER_LINEAR coefficient table for n -> 64: source index and 11-bit weights.
    static func taps(_ n: Int, _ idx: inout [Int], _ a0: inout [Int32], _ a1: inout [Int32]) {
        let scale = Double(n) / Double(size)
        for d in 0..<size {
            var f = Float((Double(d) + 0.5) * scale - 0.5)
            var s = Int(f.rounded(.down))
            f = f - Float(s)
            if s < 0 { f = 0; s = 0 }
            if s >= n - 1 { f = 0; s = n - 1 }
            idx[d] = s
            a0[d] = Int32(((1 - f) * 2048).rounded(.toNearestOrEven))
            a1[d] = Int32((f * 2048).rounded(.toNearestOrEven))
        }
    }

    /// fer's input normalisation: x / 255, then (x - 0.5) * 2, in Float.
    public static func normalise(_ face: UnsafePointer<UInt8>, into out: UnsafeMutablePointer<Float>) {
        for i in 0..<(size * size) { out[i] = (Float(face[i]) / 255 - 0.5) * 2 }
    }
}
