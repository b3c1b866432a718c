import CFFmpeg

/// Decodes one audio stream packet by packet and resamples it once to 16 kHz mono float
/// (libswresample). Fed by `AudioDecoder` (an audio-only pass) and by `VideoDecoder` (the audio of
/// a clip, in the same demux pass as its video). Samples are bounded by `limits.maxDuration`.
final class AudioStreamDecoder {
    static let sampleRate = 16_000

    let streamIndex: Int32
    /// Seconds from the video stream's start to this stream's first sample (streams may start apart).
    let startOffset: Double
    private(set) var samples: [Float] = []
    private var codec: UnsafeMutablePointer<AVCodecContext>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    private var resampler: OpaquePointer?
    private let maxSamples: Int
    private let limit: Double
    private var errors = 0

    /// Opens the decoder of `stream` after checking its codec against the allow-list.
    init(input: MediaInput, stream: UnsafeMutablePointer<AVStream>, videoStart: Double = 0) throws {
        let codecName = String(cString: avcodec_get_name(stream.pointee.codecpar.pointee.codec_id))
        guard input.limits.allowedAudioCodecs.contains(codecName) else {
            throw MediaError.unsupportedCodec(codec: codecName, container: input.containerName)
        }
        streamIndex = stream.pointee.index
        let tb = stream.pointee.time_base
        let start = stream.pointee.start_time == affectd_nopts_value() ? 0 : Double(stream.pointee.start_time) * Double(tb.num) / Double(tb.den)
        startOffset = start - videoStart
        limit = input.limits.maxDuration
        maxSamples = Int(limit * Double(Self.sampleRate)) + Self.sampleRate
        codec = try input.openDecoder(stream, threads: 1)
        frame = av_frame_alloc()
        guard frame != nil else { throw MediaError.ffmpeg(operation: "allocating frames", message: "out of memory") }
    }

    deinit {
        swr_free(&resampler)
        av_frame_free(&frame)
        avcodec_free_context(&codec)
    }

    /// Decodes one packet of this stream and resamples what it yields.
    func send(_ packet: UnsafeMutablePointer<AVPacket>) throws {
        if avcodec_send_packet(codec, packet) < 0 { try countError() }
        try drain()
    }

    /// Drains the decoder and the resampler's delay line; the samples are then complete.
    func finish() throws -> [Float] {
        _ = avcodec_send_packet(codec, nil)
        try drain()
        try convert(nil)
        return samples
    }

    private func countError() throws {
        errors += 1
        if errors > 32 { throw MediaError.corrupt("audio stream could not be decoded") }
    }

    private func drain() throws {
        while true {
            let r = avcodec_receive_frame(codec, frame)
            if r == affectd_averror_eagain() || r == affectd_averror_eof() { return }
            if r < 0 { try countError(); continue }
            defer { av_frame_unref(frame) }
            try convert(frame)
        }
    }

    private func makeResampler(for f: UnsafeMutablePointer<AVFrame>) throws {
        var inLayout = AVChannelLayout()
        if f.pointee.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || av_channel_layout_check(&f.pointee.ch_layout) == 0 {
            av_channel_layout_default(&inLayout, max(1, f.pointee.ch_layout.nb_channels))
        } else {
            av_channel_layout_copy(&inLayout, &f.pointee.ch_layout)
        }
        defer { av_channel_layout_uninit(&inLayout) }
        var mono = AVChannelLayout()
        av_channel_layout_default(&mono, 1)
        let r = swr_alloc_set_opts2(
            &resampler, &mono, AV_SAMPLE_FMT_FLT, Int32(Self.sampleRate),
            &inLayout, AVSampleFormat(rawValue: f.pointee.format), f.pointee.sample_rate, 0, nil)
        guard r >= 0, swr_init(resampler) >= 0 else {
            throw MediaError.ffmpeg(operation: "audio resampler", message: ffmpegMessage(r))
        }
    }

    /// Resamples one decoded frame (nil: flushes the resampler) onto the end of `samples`.
    private func convert(_ f: UnsafeMutablePointer<AVFrame>?) throws {
        if resampler == nil, let f { try makeResampler(for: f) }
        guard let resampler else { return }
        let inCount = f.map { Int($0.pointee.nb_samples) } ?? 0
        let capacity = Int(swr_get_out_samples(resampler, Int32(inCount))) + 32
        let start = samples.count
        samples.append(contentsOf: repeatElement(0, count: capacity))
        let written = samples.withUnsafeMutableBufferPointer { buf -> Int32 in
            var out: UnsafeMutablePointer<UInt8>? = UnsafeMutableRawPointer(buf.baseAddress! + start).assumingMemoryBound(to: UInt8.self)
            if let f, let planes = f.pointee.extended_data {
                // extended_data holds every channel plane (data[] only the first 8).
                let inputs = UnsafeMutableRawPointer(planes).assumingMemoryBound(to: UnsafePointer<UInt8>?.self)
                return swr_convert(resampler, &out, Int32(capacity), inputs, f.pointee.nb_samples)
            }
            return swr_convert(resampler, &out, Int32(capacity), nil, 0)
        }
        guard written >= 0 else { throw MediaError.ffmpeg(operation: "audio resampling", message: ffmpegMessage(written)) }
        samples.removeLast(capacity - Int(written))
        if samples.count > maxSamples {
            throw MediaError.tooLong(seconds: Double(samples.count) / Double(Self.sampleRate), limit: limit)
        }
    }
}
