import CFFmpeg

/// One decoded video frame (or still image), still in the decoder's pixel format. Convert it with
/// `FrameConverter`. Owns a reference to FFmpeg's pooled buffer: drop it promptly.
public final class DecodedFrame {
    /// Presentation time in seconds from the stream's start (the frame's own pts, never a guess from
    /// the frame rate; variable frame rate is kept as is).
    public let t: Double
    /// Position of this frame among all frames decoded from the stream (0-based).
    public let index: Int
    /// Clockwise rotation applied for display (0, 90, 180, 270); `FrameConverter` applies it.
    public let rotation: Int
    let frame: UnsafeMutablePointer<AVFrame>

    init(moving source: UnsafeMutablePointer<AVFrame>, t: Double, index: Int, rotation: Int) {
        frame = av_frame_alloc()!
        av_frame_move_ref(frame, source)
        self.t = t
        self.index = index
        self.rotation = rotation
    }

    deinit {
        var f: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&f)
    }

    /// Coded size (before rotation).
    public var codedWidth: Int { Int(frame.pointee.width) }
    public var codedHeight: Int { Int(frame.pointee.height) }
    /// Displayed size (after rotation).
    public var width: Int { rotation % 180 == 0 ? codedWidth : codedHeight }
    public var height: Int { rotation % 180 == 0 ? codedHeight : codedWidth }

    var pixelFormat: AVPixelFormat { AVPixelFormat(rawValue: frame.pointee.format) }
    public var pixelFormatName: String { av_get_pix_fmt_name(pixelFormat).map { String(cString: $0) } ?? "unknown" }
    public var hasAlpha: Bool {
        guard let d = av_pix_fmt_desc_get(pixelFormat) else { return false }
        return (d.pointee.flags & UInt64(AV_PIX_FMT_FLAG_ALPHA)) != 0
    }
    public var isGreyscale: Bool {
        guard let d = av_pix_fmt_desc_get(pixelFormat) else { return false }
        return d.pointee.nb_components <= 2 && (d.pointee.flags & UInt64(AV_PIX_FMT_FLAG_PAL)) == 0
    }
}
