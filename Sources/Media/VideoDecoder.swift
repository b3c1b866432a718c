import CFFmpeg

/// Decodes the main video stream frame by frame (only the frames in flight are in memory).
/// `nextFrame()` returns frames in presentation order, filtered by `sampling`, and `nil` at the end.
/// It throws (rather than conforming to `IteratorProtocol`, which cannot) because the end of a
/// stream can itself be an error: truncated file, time limit, too many frames.
/// Create and use it on one thread.
public final class VideoDecoder {
    public let probe: MediaProbe
    public let limits: MediaLimits
    /// Frames decoded so far, sampled or not.
    public private(set) var framesDecoded = 0

    private let input: MediaInput
    private let still: Bool
    private let stream: UnsafeMutablePointer<AVStream>
    private var codec: UnsafeMutablePointer<AVCodecContext>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    private var sampler: FrameSampler?
    private let timeBase: Double
    private let startPTS: Int64
    private let frameInterval: Double?
    private var draining = false
    private var finished = false
    private var lastT: Double?
    private var packetsSent = 0
    private var decodeErrors = 0
    private var readError: Int32?
    private var audioDecoder: AudioStreamDecoder?
    /// The clip's audio (16 kHz mono), decoded in the same demux pass as the video when asked for:
    /// set once `nextFrame()` has returned nil; nil for a clip without (decodable) audio.
    public private(set) var audio: DecodedAudio?
    /// Why a clip's audio stream gave no audio (the video is still decoded), else nil.
    public private(set) var audioFailure: MediaError?

    public convenience init(source: MediaSource, limits: MediaLimits = MediaLimits(), sampling: FrameSampling = .everyFrame) throws {
        let input = try MediaInput(source: source, limits: limits)
        try self.init(input: input, probe: try MediaProbe(input: input), sampling: sampling, still: false, threads: nil, audio: false)
    }

    /// Decodes an input already opened and probed (`MediaReader`). A still yields its one frame at t = 0.
    /// `audio`: also decode the main audio stream's packets as they are demuxed (see `audio`).
    init(input: MediaInput, probe: MediaProbe, sampling: FrameSampling, still: Bool, threads: Int?, audio: Bool) throws {
        limits = input.limits
        self.input = input
        self.probe = probe
        self.still = still
        guard let video = input.bestVideoStream else { throw MediaError.noVideoStream }
        stream = video
        let tb = video.pointee.time_base
        timeBase = Double(tb.num) / Double(tb.den)
        startPTS = video.pointee.start_time == affectd_nopts_value() ? 0 : video.pointee.start_time
        let fps = nominalFPS(video)
        frameInterval = fps.map { 1 / $0 }
        sampler = still ? nil : FrameSampler(sampling, streamFPS: fps)
        if audio, !still, let stream = input.bestAudioStream {
            do {
                audioDecoder = try AudioStreamDecoder(input: input, stream: stream, videoStart: Double(startPTS) * timeBase)
            } catch let e as MediaError { audioFailure = e }
        }
        // Only the chosen streams' packets are demuxed into memory.
        for s in input.streams where s != video && s.pointee.index != audioDecoder?.streamIndex { s.pointee.discard = AVDISCARD_ALL }
        codec = try input.openDecoder(video, threads: still ? 1 : threads ?? limits.decoderThreads)
        packet = av_packet_alloc()
        frame = av_frame_alloc()
        guard packet != nil, frame != nil else { throw MediaError.ffmpeg(operation: "allocating frames", message: "out of memory") }
    }

    deinit {
        av_packet_free(&packet)
        av_frame_free(&frame)
        avcodec_free_context(&codec)
    }

    public func nextFrame() throws -> DecodedFrame? {
        if still && framesDecoded > 0 { return nil }
        while !finished {
            if input.io.pastDeadline() { throw MediaError.timeLimitExceeded(seconds: limits.maxDecodeSeconds) }
            let received = avcodec_receive_frame(codec, frame)
            if received == 0 {
                if let decoded = try accept() { return decoded }
                continue
            }
            if received == affectd_averror_eof() {
                finished = true
                try checkEnd()
                finishAudio()
                return nil
            }
            if received != affectd_averror_eagain() {
                try countDecodeError(received)
                continue
            }
            try feed()
        }
        return nil
    }

    /// Reads the next video packet into the decoder, or starts draining at the end of input.
    private func feed() throws {
        while true {
            let r = av_read_frame(input.format, packet)
            if r < 0 {
                if input.io.timedOut { throw MediaError.timeLimitExceeded(seconds: limits.maxDecodeSeconds) }
                if r != affectd_averror_eof() { readError = r }
                guard !draining else { return }
                draining = true
                _ = avcodec_send_packet(codec, nil)
                return
            }
            defer { av_packet_unref(packet) }
            if let a = audioDecoder, packet!.pointee.stream_index == a.streamIndex {
                feedAudio(a)
                continue
            }
            guard packet!.pointee.stream_index == stream.pointee.index else { continue }
            packetsSent += 1
            // EAGAIN cannot happen here: nextFrame() drained the decoder (receive gave EAGAIN) first.
            let sent = avcodec_send_packet(codec, packet)
            if sent < 0 { try countDecodeError(sent); continue }
            return
        }
    }

    /// A damaged audio stream loses the audio, not the clip: the failure is kept in `audioFailure`.
    private func feedAudio(_ a: AudioStreamDecoder) {
        do { try a.send(packet!) } catch {
            audioFailure = error as? MediaError ?? .corrupt("audio stream could not be decoded")
            audioDecoder = nil
        }
    }

    private func finishAudio() {
        guard let a = audioDecoder else { return }
        audioDecoder = nil
        do {
            audio = DecodedAudio(samples: try a.finish(), startOffset: a.startOffset)
        } catch { audioFailure = error as? MediaError ?? .corrupt("audio stream could not be decoded") }
    }

    /// Damaged packets are skipped, as players do; a stream that is mostly damage is refused.
    private func countDecodeError(_ code: Int32) throws {
        if code == affectd_averror(ENOMEM) { throw MediaError.ffmpeg(operation: "decoding", message: ffmpegMessage(code)) }
        decodeErrors += 1
        if decodeErrors > 16 && decodeErrors * 4 > packetsSent {
            throw MediaError.corrupt("\(decodeErrors) of \(packetsSent) video packets could not be decoded")
        }
    }

    private func accept() throws -> DecodedFrame? {
        let f = frame!
        let (w, h) = (Int(f.pointee.width), Int(f.pointee.height))
        if w * h > limits.maxPixels {
            av_frame_unref(f)
            throw MediaError.frameTooLarge(width: w, height: h, limit: limits.maxPixels)
        }
        framesDecoded += 1
        if framesDecoded > limits.maxFrames { av_frame_unref(f); throw MediaError.tooManyFrames(limit: limits.maxFrames) }
        let t = still ? 0 : presentationTime(f)
        lastT = t
        if t > limits.maxDuration { av_frame_unref(f); throw MediaError.tooLong(seconds: t, limit: limits.maxDuration) }
        if var s = sampler {
            let keep = s.keep(t)
            sampler = s
            guard keep else { av_frame_unref(f); return nil }
        }
        return DecodedFrame(moving: f, t: t, index: framesDecoded - 1, rotation: probe.rotation)
    }

    private func presentationTime(_ f: UnsafeMutablePointer<AVFrame>) -> Double {
        var pts = f.pointee.pts
        if pts == affectd_nopts_value() { pts = f.pointee.best_effort_timestamp }
        if pts == affectd_nopts_value() {  // no timestamp at all: continue from the previous frame
            return (lastT ?? -(frameInterval ?? 0)) + (frameInterval ?? 0)
        }
        return Double(pts - startPTS) * timeBase
    }

    /// At the end of the stream: no frames at all, or frames ending well before the declared
    /// duration (data cut off), are errors the uploader should hear about.
    private func checkEnd() throws {
        guard framesDecoded > 0 else {
            if readError != nil || decodeErrors > 0 { throw MediaError.corrupt("no video frame could be decoded") }
            throw MediaError.noFrames
        }
        guard let last = lastT, let duration = declaredDuration, duration > 0 else { return }
        let reached = last + (frameInterval ?? 0)
        if reached < duration - max(0.5, 0.02 * duration) {
            throw MediaError.truncated(percent: Int((100 * reached / duration).rounded(.down)))
        }
    }

    /// Duration of the video stream from its header (falls back to the container's).
    private var declaredDuration: Double? {
        if stream.pointee.duration != affectd_nopts_value(), stream.pointee.duration > 0 {
            return Double(stream.pointee.duration) * timeBase
        }
        return input.duration
    }
}
