/// A summed-area table of an RGB image, so every level of MTCNN's pyramid and every R/O-Net crop costs
/// four reads per output value instead of a pass over its whole window (the pyramid alone made nine
/// passes over a 640x360 frame per detection).
/// Values equal `AreaResize.rgb` bit for bit: that function's Float sums of 8-bit values are exact
/// integers while a window sums to less than 2^24, and so are these; beyond that `resize` falls back
/// to it. Entries wrap (UInt32): differences of window corners stay exact. One per detector, built
/// for the image of one `detect` call and cleared after it: a resize of any other image (or after
/// the clear) falls back to `AreaResize.rgb`, so no caller can read another frame's sums.
final class AreaSums {
    private var table: UnsafeMutablePointer<UInt32>
    private var capacity = 0
    private var source: RGBView?
    private var columns: [(lo: Int, hi: Int)] = []

    init() { table = .allocate(capacity: 0) }
    deinit { table.deallocate() }

    /// Builds the table of `image` (used until `clear` or the next build).
    func build(_ image: RGBView) {
        let w = image.width, h = image.height, stride = (w + 1) * 3
        if (h + 1) * stride > capacity {
            table.deallocate()
            capacity = (h + 1) * stride
            table = .allocate(capacity: capacity)
        }
        table.update(repeating: 0, count: stride)
        for y in 0..<h {
            let row = image.pixels + y * w * 3
            let above = table + y * stride, out = table + (y + 1) * stride
            out[0] = 0; out[1] = 0; out[2] = 0
            var r: UInt32 = 0, g: UInt32 = 0, b: UInt32 = 0
            for x in 0..<w {
                r &+= UInt32(row[3 * x]); g &+= UInt32(row[3 * x + 1]); b &+= UInt32(row[3 * x + 2])
                let k = 3 * (x + 1)
                out[k] = above[k] &+ r; out[k + 1] = above[k + 1] &+ g; out[k + 2] = above[k + 2] &+ b
            }
        }
        source = image
    }

    func clear() { source = nil }

    /// `AreaResize.rgb` of the region (x0, y0, w, h) of `image` to outW x outH: `(mean - offset) * scale`,
    /// HWC floats, into `dst`; from the table when it was built from `image` and the windows sum exactly
    /// in Float, else by `AreaResize.rgb` (which uses `scratch`, h * outW * 3 floats).
    func resize(
        _ image: RGBView, x0: Int, y0: Int, w: Int, h: Int, outW: Int, outH: Int, offset: Double, scale: Double,
        into dst: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
    ) {
        let widest = (w + outW - 1) / outW + 1, tallest = (h + outH - 1) / outH + 1
        guard let source, source.pixels == image.pixels, source.width == image.width, source.height == image.height,
            widest * tallest * 255 < 1 << 24
        else {
            AreaResize.rgb(
                image, x0: x0, y0: y0, w: w, h: h, outW: outW, outH: outH, offset: offset, scale: scale, into: dst,
                scratch: scratch)
            return
        }
        columns.removeAll(keepingCapacity: true)
        for j in 0..<outW {
            let (lo, hi) = AreaResize.window(j, w, outW)
            columns.append((x0 + lo, x0 + hi))
        }
        let stride = (image.width + 1) * 3
        for i in 0..<outH {
            let (lo, hi) = AreaResize.window(i, h, outH)
            let top = table + (y0 + lo) * stride, bottom = table + (y0 + hi) * stride
            let o = dst + i * outW * 3
            for (j, c) in columns.enumerated() {
                let inv = 1 / Double((hi - lo) * (c.hi - c.lo))
                let a = 3 * c.lo, b = 3 * c.hi
                for k in 0..<3 {
                    let sum = bottom[b + k] &- bottom[a + k] &- top[b + k] &+ top[a + k]
                    let mean = Float(Double(sum) * inv)
                    o[3 * j + k] = Float((Double(mean) - offset) * scale)
                }
            }
        }
    }
}
