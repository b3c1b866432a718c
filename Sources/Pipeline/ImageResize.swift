import Affect
import Vision

/// 8-bit RGB bilinear resize of a region of a frame (half-pixel centres, edges clamped): the input of
/// the scene/person encoder, whose manifest declares `resize: bilinear` and its own normalisation.
enum ImageResize {
    static func bilinear(_ image: RGBView, region: Box, width outW: Int, height outH: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: outW * outH * 3)
        out.withUnsafeMutableBufferPointer { dst in
            Bilinear.resized(image, box: region, outW: outW, outH: outH) { i, r, g, b in
                dst[i * 3] = UInt8(clamping: Int(r.rounded()))
                dst[i * 3 + 1] = UInt8(clamping: Int(g.rounded()))
                dst[i * 3 + 2] = UInt8(clamping: Int(b.rounded()))
            }
        }
        return out
    }
}
