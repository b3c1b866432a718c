import CFFmpeg

/// Decodes the main audio stream to 16 kHz mono float samples (libswresample), the input format of
/// speech and audio-affect models. This is an audio-only pass; a clip's audio is better read in the
/// same pass as its video (`MediaReader.frames(..., audio: true)`, then `VideoDecoder.audio`).
public enum AudioDecoder {
    public static let sampleRate = AudioStreamDecoder.sampleRate

    /// All samples of the best audio stream. Bounded by `limits.maxDuration` (600 s = 38 MB).
    public static func decodeMono16k(_ source: MediaSource, limits: MediaLimits = MediaLimits()) throws -> [Float] {
        let input = try MediaInput(source: source, limits: limits)
        guard let stream = input.bestAudioStream else { throw MediaError.noAudioStream }
        if let d = input.duration, d > limits.maxDuration { throw MediaError.tooLong(seconds: d, limit: limits.maxDuration) }
        let decoder = try AudioStreamDecoder(input: input, stream: stream)
        for s in input.streams where s != stream { s.pointee.discard = AVDISCARD_ALL }
        var packet = av_packet_alloc()
        defer { av_packet_free(&packet) }
        while true {
            if input.io.pastDeadline() { throw MediaError.timeLimitExceeded(seconds: limits.maxDecodeSeconds) }
            if av_read_frame(input.format, packet) < 0 {
                if input.io.timedOut { throw MediaError.timeLimitExceeded(seconds: limits.maxDecodeSeconds) }
                break
            }
            defer { av_packet_unref(packet) }
            if packet!.pointee.stream_index == decoder.streamIndex { try decoder.send(packet!) }
        }
        return try decoder.finish()
    }
}
