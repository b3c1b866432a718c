/// Area resampling as PyTorch's `interpolate(mode="area")` (= adaptive average pooling) computes it:
/// output cell i averages input [floor(i*in/out), ceil((i+1)*in/out)) on each axis. MTCNN builds its
/// pyramid and its R/O-Net crops this way; bilinear would give different detections.
enum AreaResize {
    @inline(__always) static func window(_ i: Int, _ n: Int, _ out: Int) -> (Int, Int) {
        (i * n / out, ((i + 1) * n + out - 1) / out)
    }

    /// Resizes the region (x0, y0, w, h) of `src` (RGB, HWC) to outW x outH and writes
    /// `(mean - offset) * scale` per value, HWC floats, into `dst`. `scratch` holds h * outW * 3 floats.
    /// Sums of 8-bit values are exact in Float, so the mean is one correctly rounded division.
    static func rgb(
        _ src: RGBView, x0: Int, y0: Int, w: Int, h: Int, outW: Int, outH: Int,
        offset: Double, scale: Double,
        into dst: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
    ) {
        let rowBytes = src.width * 3
        // Horizontal sums, in integers: the same Floats as summing in Float while a window's sum
        // stays below 2^24 (windows narrower than 65793 pixels; wider ones are exact here where
        // Float would round).
        for r in 0..<h {
            let row = src.pixels + (y0 + r) * rowBytes + x0 * 3
            let out = scratch + r * outW * 3
            for j in 0..<outW {
                let (lo, hi) = window(j, w, outW)
                var s0: UInt32 = 0, s1: UInt32 = 0, s2: UInt32 = 0
                var p = row + lo * 3
                for _ in lo..<hi { s0 += UInt32(p[0]); s1 += UInt32(p[1]); s2 += UInt32(p[2]); p += 3 }
                out[3 * j] = Float(s0); out[3 * j + 1] = Float(s1); out[3 * j + 2] = Float(s2)
            }
        }
        // Vertical sums, then the mean and the normalisation.
        let rowFloats = outW * 3
        for i in 0..<outH {
            let (lo, hi) = window(i, h, outH)
            let o = dst + i * rowFloats
            for k in 0..<rowFloats { o[k] = scratch[lo * rowFloats + k] }
            if hi - lo > 1 { for r in (lo + 1)..<hi { let s = scratch + r * rowFloats; for k in 0..<rowFloats { o[k] += s[k] } } }
            for j in 0..<outW {
                let (cl, ch) = window(j, w, outW)
                // sum / n through a Double reciprocal: the sum is an integer and n <= ~10^4, so the
                // quotient is never within 2^-53 of a Float rounding boundary (same Float as dividing).
                let inv = 1 / Double((hi - lo) * (ch - cl))
                for c in 0..<3 {
                    let mean = Float(Double(o[3 * j + c]) * inv)
                    o[3 * j + c] = Float((Double(mean) - offset) * scale)
                }
            }
        }
    }
}
