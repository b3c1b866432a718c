import Vision

/// 8-bit RGB bilinear resize of a region of a frame (half-pixel centres, edges clamped): the input of
/// the scene/person encoder, whose manifest declares `resize: bilinear` and its own normalisation.
enum ImageResize {
    static func bilinear(_ image: RGBView, region: Box, width outW: Int, height outH: Int) -> [UInt8] {
        let b = region.clamped(width: image.width, height: image.height)
        let bw = max(b.width, 1), bh = max(b.height, 1)
        let sx = bw / Float(outW), sy = bh / Float(outH)
        let maxX = image.width - 1, maxY = image.height - 1
        var out = [UInt8](repeating: 0, count: outW * outH * 3)
        out.withUnsafeMutableBufferPointer { dst in
            for v in 0..<outH {
                let y = min(max(b.y1 + (Float(v) + 0.5) * sy - 0.5, 0), Float(maxY))
                let y0 = Int(y), y1 = min(y0 + 1, maxY), fy = y - Float(y0)
                for u in 0..<outW {
                    let x = min(max(b.x1 + (Float(u) + 0.5) * sx - 0.5, 0), Float(maxX))
                    let x0 = Int(x), x1 = min(x0 + 1, maxX), fx = x - Float(x0)
                    let p00 = image.pixels + (y0 * image.width + x0) * 3, p01 = image.pixels + (y0 * image.width + x1) * 3
                    let p10 = image.pixels + (y1 * image.width + x0) * 3, p11 = image.pixels + (y1 * image.width + x1) * 3
                    for c in 0..<3 {
                        let top = Float(p00[c]) * (1 - fx) + Float(p01[c]) * fx
                        let bottom = Float(p10[c]) * (1 - fx) + Float(p11[c]) * fx
                        dst[(v * outW + u) * 3 + c] = UInt8(clamping: Int((top * (1 - fy) + bottom * fy).rounded()))
                    }
                }
            }
        }
        return out
    }
}
