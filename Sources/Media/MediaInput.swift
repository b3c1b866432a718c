import CFFmpeg

/// FFmpeg writes diagnostics to stderr; Media itself logs nothing, so FFmpeg is silenced once.
private let silenceFFmpeg: Void = av_log_set_level(AV_LOG_QUIET)

/// An opened, validated container: format detected and checked against the allow-list *before*
/// its demuxer parses anything, stream count / duration / frame size checked against the limits.
final class MediaInput {
    let io: InputIO
    let limits: MediaLimits
    private(set) var format: UnsafeMutablePointer<AVFormatContext>?
    let containerName: String

    init(source: MediaSource, limits: MediaLimits) throws {
        _ = silenceFFmpeg
        self.limits = limits
        io = try InputIO(source: source, limits: limits)

        // Detect the container from the first bytes; refuse it before its demuxer runs.
        var detected: UnsafePointer<AVInputFormat>?
        let probed = av_probe_input_buffer2(
            io.context, &detected, nil, nil, 0,
            UInt32(clamping: min(max(limits.probeBytes, 2048), 1 << 20)))  // FFmpeg's minimum is 2048
        if io.timedOut { throw MediaError.timeLimitExceeded(seconds: limits.maxDecodeSeconds) }
        guard probed >= 0, let inputFormat = detected else { throw MediaError.unrecognizedFormat }
        containerName = String(cString: inputFormat.pointee.name)
        guard limits.allowedContainers.contains(containerName) else {
            throw MediaError.unsupportedContainer(containerName)
        }

        guard var ctx = avformat_alloc_context() else {
            throw MediaError.ffmpeg(operation: "avformat_alloc_context", message: "out of memory")
        }
        ctx.pointee.pb = io.context
        ctx.pointee.flags |= AVFMT_FLAG_CUSTOM_IO
        ctx.pointee.probesize = Int64(limits.probeBytes)
        ctx.pointee.max_analyze_duration = 10 * Int64(AV_TIME_BASE)
        ctx.pointee.max_streams = Int32(clamping: limits.maxStreams + 1)  // +1: so we can say "too many"
        ctx.pointee.interrupt_callback = AVIOInterruptCB(
            callback: { opaque in Unmanaged<InputIO>.fromOpaque(opaque!).takeUnretainedValue().pastDeadline() ? 1 : 0 },
            opaque: io.opaque)
        // No nested opens (image sequences, external references, playlists): only our own reads.
        ctx.pointee.io_open = { _, _, _, _, _ in affectd_averror(EPERM) }
        var ctxOptional: UnsafeMutablePointer<AVFormatContext>? = ctx
        let opened = avformat_open_input(&ctxOptional, nil, inputFormat, nil)
        guard opened >= 0, let openedCtx = ctxOptional else {
            throw mapOpenError(opened)  // avformat_open_input freed the context
        }
        ctx = openedCtx
        format = ctx

        if Int(ctx.pointee.nb_streams) > limits.maxStreams {
            throw MediaError.tooManyStreams(count: Int(ctx.pointee.nb_streams), limit: limits.maxStreams)
        }
        let info = avformat_find_stream_info(ctx, nil)
        if info < 0 { throw mapOpenError(info) }
        // Header and stream-parameter probing must fit in probeBytes (FFmpeg's probesize alone would
        // silently stop early, leaving a stream without size or pixel format).
        let incomplete = streams.contains {
            $0.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO
                && ($0.pointee.codecpar.pointee.width <= 0 || $0.pointee.codecpar.pointee.format < 0)
        }
        if io.bytesRead > Int64(limits.probeBytes) || incomplete {
            throw MediaError.probeLimitExceeded(limit: limits.probeBytes)
        }
        if Int(ctx.pointee.nb_streams) > limits.maxStreams {
            throw MediaError.tooManyStreams(count: Int(ctx.pointee.nb_streams), limit: limits.maxStreams)
        }
    }

    deinit {
        avformat_close_input(&format)  // leaves our custom pb alone; InputIO frees it
    }

    private func mapOpenError(_ code: Int32) -> MediaError {
        if io.timedOut { return .timeLimitExceeded(seconds: limits.maxDecodeSeconds) }
        // The demuxer fails with ENOMEM when the file declares more than max_streams (set above).
        if code == affectd_averror(ENOMEM) { return .tooManyStreams(count: nil, limit: limits.maxStreams) }
        if code == affectd_averror_eof() {
            return .corrupt("the \(shortName(containerName)) header ends early (file truncated?)")
        }
        return .corrupt("cannot read the \(shortName(containerName)) header (index missing or damaged; file truncated?)")
    }

    var streams: [UnsafeMutablePointer<AVStream>] {
        guard let f = format else { return [] }
        return (0..<Int(f.pointee.nb_streams)).compactMap { f.pointee.streams[$0] }
    }

    /// The main video stream (cover art and other attached pictures are not video).
    var bestVideoStream: UnsafeMutablePointer<AVStream>? {
        let index = av_find_best_stream(format, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        let candidates = streams.filter {
            $0.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO
                && ($0.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC) == 0
        }
        return candidates.first { Int32($0.pointee.index) == index } ?? candidates.first
    }

    var bestAudioStream: UnsafeMutablePointer<AVStream>? {
        let index = av_find_best_stream(format, AVMEDIA_TYPE_AUDIO, -1, -1, nil, 0)
        guard index >= 0 else { return nil }
        return streams.first { $0.pointee.index == index }
    }

    /// Container duration in seconds, if known.
    var duration: Double? {
        guard let f = format, f.pointee.duration != affectd_nopts_value(), f.pointee.duration > 0 else { return nil }
        return Double(f.pointee.duration) / Double(AV_TIME_BASE)
    }

    /// Checks the limits that the header already tells: duration, video frame size, video codec.
    func validateVideo(_ stream: UnsafeMutablePointer<AVStream>) throws {
        let par = stream.pointee.codecpar.pointee
        let codec = String(cString: avcodec_get_name(par.codec_id))
        guard limits.allowedVideoCodecs.contains(codec), avcodec_find_decoder(par.codec_id) != nil else {
            throw MediaError.unsupportedCodec(codec: codec, container: containerName)
        }
        let (w, h) = (Int(par.width), Int(par.height))
        if w * h > limits.maxPixels { throw MediaError.frameTooLarge(width: w, height: h, limit: limits.maxPixels) }
        if let d = duration, d > limits.maxDuration { throw MediaError.tooLong(seconds: d, limit: limits.maxDuration) }
    }

    /// Opens a decoder for `stream` with the configured threading and the pixel limit.
    func openDecoder(_ stream: UnsafeMutablePointer<AVStream>, threads: Int) throws -> UnsafeMutablePointer<AVCodecContext> {
        let par = stream.pointee.codecpar!
        guard let codec = avcodec_find_decoder(par.pointee.codec_id) else {
            throw MediaError.unsupportedCodec(
                codec: String(cString: avcodec_get_name(par.pointee.codec_id)),
                container: containerName)
        }
        guard var ctx = avcodec_alloc_context3(codec) else {
            throw MediaError.ffmpeg(operation: "avcodec_alloc_context3", message: "out of memory")
        }
        var ctxOptional: UnsafeMutablePointer<AVCodecContext>? = ctx
        var result = avcodec_parameters_to_context(ctx, par)
        if result >= 0 {
            ctx.pointee.thread_count = Int32(threads)
            ctx.pointee.thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE
            ctx.pointee.max_pixels = Int64(limits.maxPixels)
            ctx.pointee.pkt_timebase = stream.pointee.time_base
            result = avcodec_open2(ctx, codec, nil)
        }
        guard result >= 0 else {
            avcodec_free_context(&ctxOptional)
            throw MediaError.ffmpeg(
                operation: "opening the \(String(cString: codec.pointee.name)) decoder",
                message: ffmpegMessage(result))
        }
        ctx = ctxOptional!
        return ctx
    }
}

/// Clockwise rotation (0, 90, 180, 270) to apply for display, from the stream's display matrix;
/// the same angle `ffmpeg`'s autorotate uses.
func displayRotation(_ stream: UnsafeMutablePointer<AVStream>) -> Int {
    var size: Int = 0
    guard let data = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size), size >= 36 else { return 0 }
    let ccw = data.withMemoryRebound(to: Int32.self, capacity: 9) { av_display_rotation_get($0) }
    guard ccw.isFinite else { return 0 }
    var theta = -ccw.rounded()
    theta -= 360 * (theta / 360 + 0.9 / 360).rounded(.down)
    let snapped = Int((theta / 90).rounded()) * 90 % 360
    return snapped
}

/// Average frame rate (or the base rate when the container gives no average).
func nominalFPS(_ stream: UnsafeMutablePointer<AVStream>) -> Double? {
    for rate in [stream.pointee.avg_frame_rate, stream.pointee.r_frame_rate] where rate.num > 0 && rate.den > 0 {
        let fps = Double(rate.num) / Double(rate.den)
        if fps.isFinite && fps > 0 && fps < 1000 { return fps }
    }
    return nil
}
