import CFFmpeg

/// Decodes the main audio stream to 16 kHz mono float samples (libswresample), the input format of
/// speech and audio-affect models.
public enum AudioDecoder {
    public static let sampleRate = 16_000

    /// All samples of the best audio stream. Bounded by `limits.maxDuration` (600 s = 38 MB).
    public static func decodeMono16k(_ source: MediaSource, limits: MediaLimits = MediaLimits()) throws -> [Float] {
        let input = try MediaInput(source: source, limits: limits)
        guard let stream = input.bestAudioStream else { throw MediaError.noAudioStream }
        let codecName = String(cString: avcodec_get_name(stream.pointee.codecpar.pointee.codec_id))
        guard limits.allowedAudioCodecs.contains(codecName) else {
            throw MediaError.unsupportedCodec(codec: codecName, container: input.containerName)
        }
        if let d = input.duration, d > limits.maxDuration { throw MediaError.tooLong(seconds: d, limit: limits.maxDuration) }
        for s in input.streams where s != stream { s.pointee.discard = AVDISCARD_ALL }

        var codec: UnsafeMutablePointer<AVCodecContext>? = try input.openDecoder(stream, threads: 1)
        var packet = av_packet_alloc()
        var frame = av_frame_alloc()
        var resampler: OpaquePointer?
        defer {
            swr_free(&resampler)
            av_frame_free(&frame)
            av_packet_free(&packet)
            avcodec_free_context(&codec)
        }
        let maxSamples = Int(limits.maxDuration * Double(sampleRate)) + sampleRate
        var samples: [Float] = []
        var errors = 0

        func convert(_ f: UnsafeMutablePointer<AVFrame>?) throws {
            if resampler == nil, let f {
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
                    &resampler, &mono, AV_SAMPLE_FMT_FLT, Int32(sampleRate),
                    &inLayout, AVSampleFormat(rawValue: f.pointee.format), f.pointee.sample_rate, 0, nil)
                guard r >= 0, swr_init(resampler) >= 0 else {
                    throw MediaError.ffmpeg(operation: "audio resampler", message: ffmpegMessage(r))
                }
            }
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
                throw MediaError.tooLong(seconds: Double(samples.count) / Double(sampleRate), limit: limits.maxDuration)
            }
        }

        func drain() throws -> Bool {
            while true {
                let r = avcodec_receive_frame(codec, frame)
                if r == affectd_averror_eagain() { return false }
                if r == affectd_averror_eof() { return true }
                if r < 0 { errors += 1; if errors > 32 { throw MediaError.corrupt("audio stream could not be decoded") }; continue }
                try convert(frame)
                av_frame_unref(frame)
            }
        }

        var atEnd = false
        while !atEnd {
            if input.io.pastDeadline() { throw MediaError.timeLimitExceeded(seconds: limits.maxDecodeSeconds) }
            let r = av_read_frame(input.format, packet)
            if r < 0 {
                if input.io.timedOut { throw MediaError.timeLimitExceeded(seconds: limits.maxDecodeSeconds) }
                _ = avcodec_send_packet(codec, nil)
                atEnd = try drain()
                break
            }
            if packet!.pointee.stream_index == stream.pointee.index {
                if avcodec_send_packet(codec, packet) < 0 { errors += 1 }
                if errors > 32 { av_packet_unref(packet); throw MediaError.corrupt("audio stream could not be decoded") }
            }
            av_packet_unref(packet)
            _ = try drain()
        }
        try convert(nil)  // flush the resampler's delay line
        return samples
    }
}
