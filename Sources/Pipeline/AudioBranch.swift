import Affect
import Audio
import Media

/// The audio branch of an analysis: the clip's audio (decoded in the video's pass) through the
/// package's VAD, the prosody tracker and the soundscape model (when the package has one), on the
/// decode thread once the last frame is read. One per Analyzer (its AudioAnalyzer owns an arena).
final class AudioBranch: @unchecked Sendable {
    let analyzer: AudioAnalyzer

    init(vad: VoiceActivityDetector, soundscape: SoundscapeModel?) { analyzer = AudioAnalyzer(vad: vad, soundscape: soundscape) }

    /// What the analysis of `audio` found, with where it sits on the clip's time axis.
    struct Outcome: Sendable {
        var findings: AudioFindings
        var offset: Double
    }

    func run(_ audio: DecodedAudio) throws -> Outcome {
        Outcome(findings: try analyzer.analyze(audio.samples), offset: audio.startOffset)
    }

    /// The result section: speech segments and prosody at every analysed frame time `times`.
    static func section(_ outcome: Outcome?, times: [Double], soundscape model: SoundscapeModel?) -> AudioSection {
        guard let o = outcome else { return .none }
        let f = o.findings
        let speech = f.segments.map { s in
            SpeechSegmentResult(
                start: s.span.start + o.offset, end: s.span.end + o.offset, loudnessDb: Double(s.loudnessDb),
                f0Hz: s.f0.map { Statistics(mean: Double($0.mean), sd: Double($0.sd), min: Double($0.min), max: Double($0.max)) },
                voicedFraction: Double(s.voicedFraction), syllableRate: Double(s.syllableRate))
        }
        let prosody = times.map { t -> ProsodyPoint in
            let at = t - o.offset
            guard at >= 0, at < f.duration, let k = f.prosody.frame(at: at) else {
                return ProsodyPoint(t: t, speechProbability: nil, speech: nil, loudnessDb: nil, f0Hz: nil, voicing: nil)
            }
            return ProsodyPoint(
                t: t, speechProbability: f.speechProbability(at: at).map(Double.init), speech: f.inSpeech(at),
                loudnessDb: Double(f.prosody.loudness[k]), f0Hz: f.prosody.f0[k].map(Double.init),
                voicing: Double(f.prosody.voicing[k]))
        }
        let soundscape = model.flatMap { m in
            f.soundscape.map { SoundscapeResult(model: "SoundAQnet", windows: $0.map { Self.entry($0, m, offset: o.offset) }) }
        }
        return .found(AudioResult(start: o.offset, end: o.offset + f.duration, speech: speech, prosody: prosody, soundscape: soundscape))
    }

    static func entry(_ w: SoundscapeWindow, _ m: SoundscapeModel, offset: Double) -> SoundscapeEntry {
        func named(_ labels: [String], _ values: [Float]) -> [String: Double] {
            Dictionary(zip(labels, values.map(Double.init)), uniquingKeysWith: { a, _ in a })
        }
        return SoundscapeEntry(
            start: w.start + offset, end: w.end + offset, pleasantness: Double(w.pleasantness), eventfulness: Double(w.eventfulness),
            qualities: named(SoundscapeModel.qualities, w.qualities), scene: named(m.scenes, w.scene), events: named(m.events, w.events),
            loudnessSone: Double(w.loudnessSone))
    }
}
