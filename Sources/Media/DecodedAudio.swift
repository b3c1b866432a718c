/// A clip's audio as 16 kHz mono float samples, and where it starts on the video's time axis.
public struct DecodedAudio: Sendable, Equatable {
    public static let sampleRate = AudioStreamDecoder.sampleRate
    public var samples: [Float]
    /// Seconds from the first video frame's time base origin to sample 0 (negative: audio starts earlier).
    public var startOffset: Double
    public init(samples: [Float], startOffset: Double = 0) { self.samples = samples; self.startOffset = startOffset }
    public var duration: Double { Double(samples.count) / Double(Self.sampleRate) }
}
