import CFFmpeg

/// Encodes an RGB/RGBA image as PNG with libavcodec's encoder (for `affectd frames` and debugging).
public enum PNGEncoder {
    public static func encode(_ image: RGBImage) throws -> [UInt8] {
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_PNG) else {
            throw MediaError.ffmpeg(operation: "PNG encoder", message: "not available in this FFmpeg build")
        }
        var ctx = avcodec_alloc_context3(codec)
        var frame = av_frame_alloc()
        var packet = av_packet_alloc()
        defer { av_packet_free(&packet); av_frame_free(&frame); avcodec_free_context(&ctx) }
        guard let ctx, let frame, let packet else { throw MediaError.ffmpeg(operation: "PNG encoder", message: "out of memory") }
        let format = image.channels == 4 ? AV_PIX_FMT_RGBA : AV_PIX_FMT_RGB24
        ctx.pointee.width = Int32(image.width)
        ctx.pointee.height = Int32(image.height)
        ctx.pointee.pix_fmt = format
        ctx.pointee.time_base = AVRational(num: 1, den: 1)
        var r = avcodec_open2(ctx, codec, nil)
        guard r >= 0 else { throw MediaError.ffmpeg(operation: "PNG encoder", message: ffmpegMessage(r)) }
        frame.pointee.width = ctx.pointee.width
        frame.pointee.height = ctx.pointee.height
        frame.pointee.format = format.rawValue
        r = av_frame_get_buffer(frame, 0)
        guard r >= 0 else { throw MediaError.ffmpeg(operation: "PNG encoder", message: ffmpegMessage(r)) }
        let rowBytes = image.width * image.channels
        let stride = Int(frame.pointee.linesize.0)
        image.pixels.withUnsafeBufferPointer { src in
            for y in 0..<image.height {
                (frame.pointee.data.0! + y * stride).update(from: src.baseAddress! + y * rowBytes, count: rowBytes)
            }
        }
        r = avcodec_send_frame(ctx, frame)
        if r >= 0 { r = avcodec_send_frame(ctx, nil) }
        var out: [UInt8] = []
        while r >= 0 {
            r = avcodec_receive_packet(ctx, packet)
            guard r >= 0 else { break }
            out.append(contentsOf: UnsafeBufferPointer(start: packet.pointee.data, count: Int(packet.pointee.size)))
            av_packet_unref(packet)
        }
        guard r == affectd_averror_eof(), !out.isEmpty else {
            throw MediaError.ffmpeg(operation: "PNG encoding", message: ffmpegMessage(r))
        }
        return out
    }
}
