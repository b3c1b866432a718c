/// An input opened once and served whole: what it holds (`probe`, read from the header) and then its
/// frames, for stills and clips alike — a JPEG/PNG is a one-frame clip at t = 0. Probing and decoding
/// share the one open, so a caller that checks an upload before answering does not open it again.
/// Use on one thread at a time (it may be handed from one thread to the next).
public final class MediaReader: @unchecked Sendable {
    public let probe: MediaProbe
    public var isStill: Bool { ImageDecoder.containers.contains(probe.container) }
    private var input: MediaInput?

    public init(source: MediaSource, limits: MediaLimits = MediaLimits()) throws {
        let input = try MediaInput(source: source, limits: limits)
        probe = try MediaProbe(input: input)
        self.input = input
    }

    /// The decoder of the main video stream, filtered by `sampling` (a still ignores it and decodes on
    /// one thread); `threads` overrides the limits' decoder threads. Frames are read from where probing
    /// stopped: ask for it once. `audio`: the decoder also decodes the main audio stream in the same
    /// pass (`VideoDecoder.audio`, complete after the last frame).
    public func frames(sampling: FrameSampling = .everyFrame, threads: Int? = nil, audio: Bool = false) throws -> VideoDecoder {
        guard let input else { preconditionFailure("MediaReader.frames asked twice") }
        self.input = nil
        return try VideoDecoder(input: input, probe: probe, sampling: sampling, still: isStill, threads: threads, audio: audio)
    }
}
