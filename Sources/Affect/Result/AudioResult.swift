/// The `audio` section of a result (`include=audio`; docs/audio.md): speech segments from voice
/// activity, and prosody at every analysed frame time, all on the clip's time axis (the `t` of
/// `frames`). These describe the sound, not a person's affect: no prosody is mapped to valence or
/// arousal. `soundscape` is the affect of the sound environment (SoundAQnet) per time window, null
/// when the package has no soundscape model or the audio is shorter than one window can read.
public struct AudioResult: Codable, Sendable, Equatable {
    /// Where the audio starts and ends on the clip's time axis (seconds).
    public var start: Double
    public var end: Double
    public var speech: [SpeechSegmentResult]
    public var prosody: [ProsodyPoint]
    public var soundscape: SoundscapeResult?

    public init(start: Double, end: Double, speech: [SpeechSegmentResult], prosody: [ProsodyPoint], soundscape: SoundscapeResult? = nil) {
        self.start = start; self.end = end; self.speech = speech; self.prosody = prosody; self.soundscape = soundscape
    }

    enum CodingKeys: String, CodingKey { case start, end, speech, prosody, soundscape }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        start = try c.decode(Double.self, forKey: .start)
        end = try c.decode(Double.self, forKey: .end)
        speech = try c.decode([SpeechSegmentResult].self, forKey: .speech)
        prosody = try c.decode([ProsodyPoint].self, forKey: .prosody)
        soundscape = try c.decodeIfPresent(SoundscapeResult.self, forKey: .soundscape)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(start, forKey: .start)
        try c.encode(end, forKey: .end)
        try c.encode(speech, forKey: .speech)
        try c.encode(prosody, forKey: .prosody)
        try c.encode(soundscape, forKey: .soundscape)
    }
}

/// Sound-environment affect: how the place sounds (ISO 12913 soundscape circumplex, SoundAQnet),
/// not how anyone feels. One entry per analysed window of the audio, on the clip's time axis.
public struct SoundscapeResult: Codable, Sendable, Equatable {
    /// What the numbers describe, in the result itself, so no reader takes them for a person's affect.
    public var describes: String
    public var model: String
    public var windows: [SoundscapeEntry]

    public static let description =
        "the sound environment (ISO 12913 soundscape affect predicted by SoundAQnet), not a person's emotion"

    public init(model: String, windows: [SoundscapeEntry]) {
        describes = Self.description; self.model = model; self.windows = windows
    }
}

/// One window: ISO pleasantness and eventfulness in [-1, 1], the eight perceived affective
/// qualities (regressed on the ARAUS questionnaire's 1-5 agreement scale, so roughly 1...5),
/// acoustic scene and sound event probabilities (by label), and the window's mean
/// ISO 532-1 loudness (sone, at the stated calibration).
public struct SoundscapeEntry: Codable, Sendable, Equatable {
    public var start: Double
    public var end: Double
    public var pleasantness: Double?
    public var eventfulness: Double?
    public var qualities: [String: Double]
    public var scene: [String: Double]
    public var events: [String: Double]
    public var loudnessSone: Double?

    public init(
        start: Double, end: Double, pleasantness: Double?, eventfulness: Double?, qualities: [String: Double],
        scene: [String: Double], events: [String: Double], loudnessSone: Double?
    ) {
        self.start = start; self.end = end; self.pleasantness = finite(pleasantness); self.eventfulness = finite(eventfulness)
        self.qualities = qualities.filter { $0.value.isFinite }; self.scene = scene.filter { $0.value.isFinite }
        self.events = events.filter { $0.value.isFinite }; self.loudnessSone = finite(loudnessSone)
    }

    enum CodingKeys: String, CodingKey {
        case start, end, pleasantness, eventfulness, qualities, scene, events, loudnessSone = "loudness_sone"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(start, forKey: .start)
        try c.encode(end, forKey: .end)
        try c.encode(pleasantness, forKey: .pleasantness)
        try c.encode(eventfulness, forKey: .eventfulness)
        try c.encode(qualities, forKey: .qualities)
        try c.encode(scene, forKey: .scene)
        try c.encode(events, forKey: .events)
        try c.encode(loudnessSone, forKey: .loudnessSone)
    }
}

/// A speech segment (voice activity) with its prosody. `f0_hz` is null when no frame was voiced.
public struct SpeechSegmentResult: Codable, Sendable, Equatable {
    public var start: Double
    public var end: Double
    /// RMS level over the segment, dB re full scale (null if the samples were not finite numbers).
    public var loudnessDb: Double?
    public var f0Hz: Statistics?
    /// Share of the segment's 10 ms frames that are voiced.
    public var voicedFraction: Double
    /// Syllable nuclei per second (level peaks in voiced frames): a speech-rate proxy.
    public var syllableRate: Double

    public init(start: Double, end: Double, loudnessDb: Double?, f0Hz: Statistics?, voicedFraction: Double, syllableRate: Double) {
        self.start = start; self.end = end; self.loudnessDb = finite(loudnessDb); self.f0Hz = f0Hz
        self.voicedFraction = voicedFraction; self.syllableRate = syllableRate
    }

    enum CodingKeys: String, CodingKey {
        case start, end, loudnessDb = "loudness_db", f0Hz = "f0_hz", voicedFraction = "voiced_fraction"
        case syllableRate = "syllable_rate"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(start, forKey: .start)
        try c.encode(end, forKey: .end)
        try c.encode(loudnessDb, forKey: .loudnessDb)
        try c.encode(f0Hz, forKey: .f0Hz)
        try c.encode(voicedFraction, forKey: .voicedFraction)
        try c.encode(syllableRate, forKey: .syllableRate)
    }
}

/// Prosody at one analysed frame time; every field null where the audio does not cover `t`.
public struct ProsodyPoint: Codable, Sendable, Equatable {
    public var t: Double
    /// The VAD's speech probability of the 32 ms chunk at `t`.
    public var speechProbability: Double?
    /// Whether `t` lies in a speech segment.
    public var speech: Bool?
    public var loudnessDb: Double?
    /// F0 at `t` (null: unvoiced, or outside speech where F0 is not tracked).
    public var f0Hz: Double?
    public var voicing: Double?

    public init(t: Double, speechProbability: Double?, speech: Bool?, loudnessDb: Double?, f0Hz: Double?, voicing: Double?) {
        self.t = t; self.speechProbability = finite(speechProbability); self.speech = speech
        self.loudnessDb = finite(loudnessDb); self.f0Hz = finite(f0Hz); self.voicing = finite(voicing)
    }

    enum CodingKeys: String, CodingKey {
        case t, speechProbability = "speech_probability", speech, loudnessDb = "loudness_db", f0Hz = "f0_hz", voicing
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(t, forKey: .t)
        try c.encode(speechProbability, forKey: .speechProbability)
        try c.encode(speech, forKey: .speech)
        try c.encode(loudnessDb, forKey: .loudnessDb)
        try c.encode(f0Hz, forKey: .f0Hz)
        try c.encode(voicing, forKey: .voicing)
    }
}
