#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

import Tensor

/// One speech span with its prosody: level, F0 statistics over its voiced frames, the voiced share
/// of its frames and a speech-rate proxy (syllable nuclei per second: `SyllableNuclei`).
public struct SpeechSegment: Sendable, Equatable {
    public var span: SpeechSpan
    public var loudnessDb: Float
    /// F0 over the voiced frames (Hz): mean, sd, min, max; nil when no frame was voiced.
    public var f0: (mean: Float, sd: Float, min: Float, max: Float)?
    public var voicedFraction: Float
    public var syllableRate: Float

    public static func == (a: SpeechSegment, b: SpeechSegment) -> Bool {
        a.span == b.span && a.loudnessDb == b.loudnessDb && a.f0?.mean == b.f0?.mean && a.f0?.sd == b.f0?.sd
            && a.voicedFraction == b.voicedFraction && a.syllableRate == b.syllableRate
    }
}

/// What the audio branch finds in a clip, on the audio's time axis (seconds from sample 0).
public struct AudioFindings: Sendable {
    public var duration: Double
    public var speechProbability: [Float]
    public var segments: [SpeechSegment]
    public var prosody: ProsodyTrack
    /// Sound-environment affect per window (SoundAQnet); nil without the model or under 3 s of audio.
    public var soundscape: [SoundscapeWindow]?

    /// The VAD probability of the 32 ms chunk holding `t`, nil outside the audio.
    public func speechProbability(at t: Double) -> Float? {
        let k = Int((t * Double(VoiceActivityDetector.sampleRate)).rounded(.down)) / VoiceActivityDetector.chunk
        return t >= 0 && k < speechProbability.count ? speechProbability[k] : nil
    }

    public func inSpeech(_ t: Double) -> Bool { segments.contains { t >= $0.span.start && t < $0.span.end } }
}

/// The audio branch: VAD, then prosody inside the speech spans, and the soundscape when the
/// package has SoundAQnet. One per worker (it owns an arena).
public final class AudioAnalyzer {
    public let vad: VoiceActivityDetector
    public let soundscape: SoundscapeModel?
    private let arena = Arena()

    public init(vad: VoiceActivityDetector, soundscape: SoundscapeModel? = nil) {
        self.vad = vad
        self.soundscape = soundscape
    }

    public func analyze(_ samples: [Float]) throws -> AudioFindings {
        let p = try vad.probabilities(samples, arena: arena)
        let spans = vad.spans(probabilities: p, sampleCount: samples.count)
        let track = ProsodyTrack(samples, pitchWhere: { t in spans.contains { t >= $0.start && t < $0.end } })
        let segments = spans.map { Self.describe($0, track) }
        let windows = try soundscape?.analyze(samples, arena: arena)
        return AudioFindings(
            duration: Double(samples.count) / Double(VoiceActivityDetector.sampleRate), speechProbability: p,
            segments: segments, prosody: track, soundscape: windows?.isEmpty == false ? windows : nil)
    }

    static func describe(_ span: SpeechSpan, _ track: ProsodyTrack) -> SpeechSegment {
        let first = max(0, Int((span.start / ProsodyTrack.hopSeconds).rounded(.up)))
        let last = min(track.loudness.count, Int((span.end / ProsodyTrack.hopSeconds).rounded(.down)) + 1)
        let frames = first < last ? Array(first..<last) : []
        let f0s = frames.compactMap { track.f0[$0] }
        var power: Float = 0
        for k in frames { power += powf(10, track.loudness[k] / 10) }
        let level = frames.isEmpty ? ProsodyTrack.silenceDb - 60 : 10 * log10f(power / Float(frames.count) + 1e-12)
        var f0: (Float, Float, Float, Float)? = nil
        if !f0s.isEmpty {
            let mean = f0s.reduce(0, +) / Float(f0s.count)
            let sd = (f0s.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(f0s.count)).squareRoot()
            f0 = (mean, sd, f0s.min()!, f0s.max()!)
        }
        let nuclei = SyllableNuclei.count(loudness: frames.map { track.loudness[$0] }, voiced: frames.map { track.f0[$0] != nil })
        let seconds = Float(span.end - span.start)
        return SpeechSegment(
            span: span, loudnessDb: level, f0: f0, voicedFraction: frames.isEmpty ? 0 : Float(f0s.count) / Float(frames.count),
            syllableRate: seconds > 0 ? Float(nuclei) / seconds : 0)
    }
}
