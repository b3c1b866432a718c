import CFFmpeg

/// Output size of a conversion, always of the displayed (rotation-applied) frame.
public enum FrameSize: Sendable, Equatable {
    /// The frame's own displayed size.
    case native
    /// Largest size that fits in width x height with the aspect ratio kept (scaled up or down).
    case fit(width: Int, height: Int)
    /// Exactly width x height; the aspect ratio is not kept (what `ffmpeg -vf scale=W:H` does).
    case stretch(width: Int, height: Int)
}

/// Interpolation used by swscale.
public enum ScaleFilter: Sendable {
    case bilinear, bicubic, area, point
    var swsFlags: Int32 {
        switch self {
        case .bilinear: SWS_BILINEAR
        case .bicubic: SWS_BICUBIC
        case .area: SWS_AREA
        case .point: SWS_POINT
        }
    }
}

/// An 8-bit image, rows top to bottom, channels interleaved (HWC): RGB or RGBA.
public struct RGBImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var pixels: [UInt8]
}

/// Converts decoded frames to RGB with libswscale: colour matrix and range from the frame (BT.601,
/// BT.709, ..., limited or full), resize, then the display rotation. Keeps its scaler between calls;
/// create one per thread.
public final class FrameConverter {
    public let size: FrameSize
    public let filter: ScaleFilter
    private var sws: OpaquePointer?
    private var scratch: [UInt8] = []
    private var scratchFloat: [Float] = []
    /// swscale's SIMD stores can run past the end of a plane's last line (seen: RGB24 at width 572
    /// overwrote the heap), so it never writes into a caller's exactly-sized buffer: it writes here,
    /// with slack after every plane, and the planes are copied out.
    private var work: UnsafeMutableRawPointer?
    private var workBytes = 0
    /// Bytes a destination needs after its last pixel, and the alignment it needs, for `rgb8(_:into:padded:)`
    /// to let swscale write into it directly.
    public static let planeSlack = 256
    public static let planeAlignment = 64

    public init(size: FrameSize = .native, filter: ScaleFilter = .bilinear) {
        self.size = size
        self.filter = filter
    }

    deinit {
        sws_freeContext(sws)
        work?.deallocate()
    }

    private func workBuffer(bytes: Int) -> UnsafeMutableRawPointer {
        if let work, workBytes >= bytes { return work }
        work?.deallocate()
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        work = buffer
        workBytes = bytes
        return buffer
    }

    /// Output (displayed) size for `frame`.
    public func outputSize(for frame: DecodedFrame) -> (width: Int, height: Int) {
        Self.outputSize(size, width: frame.width, height: frame.height)
    }

    static func outputSize(_ size: FrameSize, width w: Int, height h: Int) -> (width: Int, height: Int) {
        switch size {
        case .native: return (w, h)
        case let .stretch(tw, th): return (max(1, tw), max(1, th))
        case let .fit(tw, th):
            let scale = min(Double(tw) / Double(w), Double(th) / Double(h))
            return (max(1, Int((Double(w) * scale).rounded())), max(1, Int((Double(h) * scale).rounded())))
        }
    }

    /// 8-bit RGB (alpha dropped) or RGBA, HWC.
    public func rgb8(_ frame: DecodedFrame, alpha: Bool = false) throws -> RGBImage {
        let (w, h) = outputSize(for: frame)
        let channels = alpha ? 4 : 3
        var pixels = [UInt8](repeating: 0, count: w * h * channels)
        try pixels.withUnsafeMutableBufferPointer { try rgb8(frame, alpha: alpha, into: $0.baseAddress!) }
        return RGBImage(width: w, height: h, channels: channels, pixels: pixels)
    }

    /// Writes outputSize.width * height * (3 or 4) bytes, HWC, into `destination`. `padded`: the caller
    /// vouches that `destination` is `planeAlignment`-aligned with `planeSlack` bytes after the image,
    /// so swscale writes there directly instead of into the work buffer and a copy (same bytes).
    public func rgb8(
        _ frame: DecodedFrame, alpha: Bool = false, into destination: UnsafeMutablePointer<UInt8>, padded: Bool = false
    ) throws {
        let (w, h) = outputSize(for: frame)
        let channels = alpha ? 4 : 3
        let format = alpha ? AV_PIX_FMT_RGBA : AV_PIX_FMT_RGB24
        let (sw, sh) = frame.rotation % 180 == 0 ? (w, h) : (h, w)
        if frame.rotation == 0 {
            let direct = padded && Int(bitPattern: destination) % Self.planeAlignment == 0
            try scale(frame, to: format, width: sw, height: sh, planes: [destination], strides: [sw * channels], direct: direct)
            return
        }
        if scratch.count < sw * sh * channels { scratch = [UInt8](repeating: 0, count: sw * sh * channels) }
        try scratch.withUnsafeMutableBufferPointer { buf in
            try scale(frame, to: format, width: sw, height: sh, planes: [buf.baseAddress!], strides: [sw * channels])
            rotate(buf.baseAddress!, width: sw, height: sh, channels: channels, degrees: frame.rotation, into: destination)
        }
    }

    /// Float RGB in [0, 1], planar CHW (R plane, G plane, B plane).
    public func floatCHW(_ frame: DecodedFrame) throws -> (width: Int, height: Int, values: [Float]) {
        let (w, h) = outputSize(for: frame)
        var values = [Float](repeating: 0, count: 3 * w * h)
        try values.withUnsafeMutableBufferPointer { try floatCHW(frame, into: $0.baseAddress!) }
        return (w, h, values)
    }

    /// Writes 3 * outputSize.width * height floats, planar CHW (R, G, B), into `destination`
    /// (e.g. straight into a tensor). swscale writes float planes (via the padded work buffer): no intermediate RGB24.
    public func floatCHW(_ frame: DecodedFrame, into destination: UnsafeMutablePointer<Float>) throws {
        let (w, h) = outputSize(for: frame)
        let plane = w * h
        // GBRPF32 plane order is G, B, R.
        func planes(_ base: UnsafeMutablePointer<Float>) -> [UnsafeMutablePointer<UInt8>] {
            [base + plane, base + 2 * plane, base].map { UnsafeMutableRawPointer($0).assumingMemoryBound(to: UInt8.self) }
        }
        let (sw, sh) = frame.rotation % 180 == 0 ? (w, h) : (h, w)
        let strides = [sw * 4, sw * 4, sw * 4]
        if frame.rotation == 0 {
            try scale(frame, to: AV_PIX_FMT_GBRPF32LE, width: sw, height: sh, planes: planes(destination), strides: strides)
            return
        }
        if scratchFloat.count < 3 * plane { scratchFloat = [Float](repeating: 0, count: 3 * plane) }
        try scratchFloat.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            try scale(frame, to: AV_PIX_FMT_GBRPF32LE, width: sw, height: sh, planes: planes(base), strides: strides)
            for c in 0..<3 {
                rotate(
                    base + c * plane, width: sw, height: sh, channels: 1, degrees: frame.rotation,
                    into: destination + c * plane)
            }
        }
    }

    private func scale(
        _ frame: DecodedFrame, to format: AVPixelFormat, width: Int, height: Int,
        planes: [UnsafeMutablePointer<UInt8>], strides: [Int], direct: Bool = false
    ) throws {
        let src = frame.frame
        sws = sws_getCachedContext(
            sws, src.pointee.width, src.pointee.height, frame.pixelFormat,
            Int32(width), Int32(height), format, filter.swsFlags, nil, nil, nil)
        guard let sws else {
            throw MediaError.ffmpeg(operation: "converting \(frame.pixelFormatName) to RGB", message: "unsupported conversion")
        }
        applyColorspace(sws, src)
        let planeBytes = strides.map { $0 * height }
        var workPlanes: [UnsafeMutablePointer<UInt8>] = []
        if direct {
            workPlanes = planes
        } else {
            let paddedBytes = planeBytes.map { ($0 + Self.planeSlack + 63) & ~63 }
            let base = workBuffer(bytes: paddedBytes.reduce(0, +)).assumingMemoryBound(to: UInt8.self)
            var offset = 0
            for bytes in paddedBytes {
                workPlanes.append(base + offset)
                offset += bytes
            }
        }
        var dst: [UnsafeMutablePointer<UInt8>?] = workPlanes + Array(repeating: nil, count: 4 - planes.count)
        var dstStride: [Int32] = strides.map { Int32($0) } + Array(repeating: 0, count: 4 - strides.count)
        let done = withUnsafePointer(to: &src.pointee.data) { dataTuple in
            dataTuple.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { data in
                withUnsafePointer(to: &src.pointee.linesize) { lineTuple in
                    lineTuple.withMemoryRebound(to: Int32.self, capacity: 8) { linesize in
                        sws_scale(sws, data, linesize, 0, src.pointee.height, &dst, &dstStride)
                    }
                }
            }
        }
        guard done == Int32(height) else {
            throw MediaError.ffmpeg(operation: "converting \(frame.pixelFormatName) to RGB", message: ffmpegMessage(done))
        }
        guard !direct else { return }
        for (plane, bytes) in zip(zip(planes, workPlanes), planeBytes) { plane.0.update(from: plane.1, count: bytes) }
    }

    /// Same choice as ffmpeg's scale filter: the frame's matrix (BT.601 when unspecified) and range.
    private func applyColorspace(_ sws: OpaquePointer, _ frame: UnsafeMutablePointer<AVFrame>) {
        var invTable: UnsafeMutablePointer<Int32>?
        var table: UnsafeMutablePointer<Int32>?
        var srcRange: Int32 = 0, dstRange: Int32 = 0, brightness: Int32 = 0, contrast: Int32 = 0, saturation: Int32 = 0
        guard sws_getColorspaceDetails(sws, &invTable, &srcRange, &table, &dstRange, &brightness, &contrast, &saturation) >= 0
        else { return }  // RGB/grey sources: no matrix to set
        let coefficients = sws_getCoefficients(Int32(frame.pointee.colorspace.rawValue))
        switch frame.pointee.color_range {
        case AVCOL_RANGE_JPEG: srcRange = 1
        case AVCOL_RANGE_MPEG: srcRange = 0
        default: break  // unspecified: keep swscale's choice (full range for yuvj formats)
        }
        _ = sws_setColorspaceDetails(sws, coefficients, srcRange, coefficients, dstRange, brightness, contrast, saturation)
    }
}

/// Rotates an interleaved image clockwise by 90, 180 or 270 degrees.
@inline(__always)
func rotate<T>(
    _ src: UnsafeMutablePointer<T>, width w: Int, height h: Int, channels c: Int, degrees: Int,
    into dst: UnsafeMutablePointer<T>
) {
    switch degrees {
    case 90:  // output is h wide, w high; output (x, y) <- input (y, h-1-x)
        for y in 0..<w {
            for x in 0..<h {
                let s = ((h - 1 - x) * w + y) * c, d = (y * h + x) * c
                for k in 0..<c { dst[d + k] = src[s + k] }
            }
        }
    case 180:
        for y in 0..<h {
            for x in 0..<w {
                let s = ((h - 1 - y) * w + (w - 1 - x)) * c, d = (y * w + x) * c
                for k in 0..<c { dst[d + k] = src[s + k] }
            }
        }
    case 270:  // output (x, y) <- input (w-1-y, x)
        for y in 0..<w {
            for x in 0..<h {
                let s = (x * w + (w - 1 - y)) * c, d = (y * h + x) * c
                for k in 0..<c { dst[d + k] = src[s + k] }
            }
        }
    default:
        dst.update(from: src, count: w * h * c)
    }
}
