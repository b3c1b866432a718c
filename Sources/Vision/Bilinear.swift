/// Bilinear resampling of frame regions: encoder inputs (float) and 8-bit crops.
public enum Bilinear {
    /// Resizes the region `box` (clamped to the frame) to outW x outH with half-pixel centres and
    /// edge clamping, writing (x - mean) / std as HWC floats into `out` (an encoder input).
    static func resize(
        _ image: RGBView, box: Box, outW: Int, outH: Int, mean: Float, std: Float,
        into out: UnsafeMutablePointer<Float>
    ) {
        resized(image, box: box, outW: outW, outH: outH) { i, r, g, b in
            let o = out + i * 3
            o[0] = (r - mean) / std; o[1] = (g - mean) / std; o[2] = (b - mean) / std
        }
    }

    /// The region `box` (clamped to the frame) resized to outW x outH, bilinear with half-pixel
    /// centres and edge clamping: `pixel(index, r, g, b)` for each output pixel in row-major order,
    /// values unrounded in 0...255. The one sampler behind the encoder inputs (float, here) and
    /// the 8-bit crops the pipeline batches (Pipeline's ImageResize).
    public static func resized(
        _ image: RGBView, box: Box, outW: Int, outH: Int,
        _ pixel: (Int, Float, Float, Float) -> Void
    ) {
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
