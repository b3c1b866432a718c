import Foundation

/// The result of analysing a clip or a batch of frames: the contract of docs/design.md ("Result of
/// analyze"), shared by `affectd analyze` (JSON on stdout), the HTTP response and job results.
/// Unknown or undefined values are encoded as explicit `null`, never as invented numbers: a clip
/// without people has `"persons": []`, null statistics and confidence 0.
public struct AnalysisResult: Codable, Sendable, Equatable {
    public var model: ModelInfo
    public var media: MediaInfo
    public var summary: Summary
    public var persons: [PersonSummary]
    /// Per analysed frame; nil when the request did not ask for frames (then the key is absent).
    public var frames: [FrameResult]?
    /// The audio section when the request asked for it (`include=audio`; else the key is absent):
    /// `.none` (JSON null) for a clip without audio.
    public var audio: AudioSection?

    /// Builds the per-person and clip summaries from the frames (smoothed values), so they can
    /// never disagree with them. `includeFrames: false` drops the frames afterwards.
    public init(model: ModelInfo, media: MediaInfo, frames: [FrameResult], includeFrames: Bool = true) {
        self.model = model
        self.media = media
        var byPerson: [Int: [(t: Double, face: FaceResult)]] = [:]
        for f in frames { for face in f.faces { byPerson[face.person, default: []].append((f.t, face)) } }
        persons = byPerson.keys.sorted().map { id in
            let seen = byPerson[id]!
            return PersonSummary(
                id: id, firstT: seen.map(\.t).min()!, lastT: seen.map(\.t).max()!, frames: seen.count,
                valence: Statistics(seen.compactMap(\.face.valence)),
                arousal: Statistics(seen.compactMap(\.face.arousal)),
                confidence: seen.reduce(0) { $0 + $1.face.confidence } / Double(seen.count))
        }
        let all = frames.flatMap(\.faces)
        let seenFrames = persons.reduce(0) { $0 + $1.frames }
        summary = Summary(
            persons: persons.count,
            valence: Statistics(all.compactMap(\.valence)),
            arousal: Statistics(all.compactMap(\.arousal)),
            confidence: seenFrames == 0 ? 0 : persons.reduce(0) { $0 + $1.confidence * Double($1.frames) } / Double(seenFrames))
        self.frames = includeFrames ? frames : nil
    }

    enum CodingKeys: String, CodingKey { case model, media, summary, persons, frames, audio }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(ModelInfo.self, forKey: .model)
        media = try c.decode(MediaInfo.self, forKey: .media)
        summary = try c.decode(Summary.self, forKey: .summary)
        persons = try c.decode([PersonSummary].self, forKey: .persons)
        frames = try c.decodeIfPresent([FrameResult].self, forKey: .frames)
        // "audio": null (asked for, no audio) is not the same as no key (not asked for).
        audio = c.contains(.audio) ? try c.decode(AudioSection.self, forKey: .audio) : nil
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(model, forKey: .model)
        try c.encode(media, forKey: .media)
        try c.encode(summary, forKey: .summary)
        try c.encode(persons, forKey: .persons)
        try c.encodeIfPresent(frames, forKey: .frames)
        try c.encodeIfPresent(audio, forKey: .audio)
    }
}

/// An asked-for audio section: the findings, or null when the clip has no (decodable) audio.
public enum AudioSection: Codable, Sendable, Equatable {
    case none
    case found(AudioResult)

    public var result: AudioResult? { if case .found(let r) = self { return r }; return nil }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        self = c.decodeNil() ? .none : .found(try c.decode(AudioResult.self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .none: try c.encodeNil()
        case .found(let r): try c.encode(r)
        }
    }
}

public struct ModelInfo: Codable, Sendable, Equatable {
    public var name: String
    public var version: String
    public init(name: String, version: String) { self.name = name; self.version = version }
}

/// What the decoder found and did. Fields a source does not have (a still has no duration or fps)
/// are null.
public struct MediaInfo: Codable, Sendable, Equatable {
    public var container: String?
    public var videoCodec: String?
    public var duration: Double?
    public var fps: Double?
    public var width: Int?
    public var height: Int?
    public var rotation: Int?
    public var hasAudio: Bool?
    public var framesDecoded: Int
    public var framesAnalyzed: Int
    public var sampleFps: Double?

    public init(
        container: String? = nil, videoCodec: String? = nil, duration: Double? = nil, fps: Double? = nil,
        width: Int? = nil, height: Int? = nil, rotation: Int? = nil, hasAudio: Bool? = nil,
        framesDecoded: Int, framesAnalyzed: Int, sampleFps: Double? = nil
    ) {
        self.container = container; self.videoCodec = videoCodec; self.duration = finite(duration); self.fps = finite(fps)
        self.width = width; self.height = height; self.rotation = rotation; self.hasAudio = hasAudio
        self.framesDecoded = framesDecoded; self.framesAnalyzed = framesAnalyzed; self.sampleFps = finite(sampleFps)
    }

    enum CodingKeys: String, CodingKey {
        case container, videoCodec = "video_codec", duration, fps, width, height, rotation, hasAudio = "has_audio"
        case framesDecoded = "frames_decoded", framesAnalyzed = "frames_analyzed", sampleFps = "sample_fps"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(container, forKey: .container)
        try c.encode(videoCodec, forKey: .videoCodec)
        try c.encode(duration, forKey: .duration)
        try c.encode(fps, forKey: .fps)
        try c.encode(width, forKey: .width)
        try c.encode(height, forKey: .height)
        try c.encode(rotation, forKey: .rotation)
        try c.encode(hasAudio, forKey: .hasAudio)
        try c.encode(framesDecoded, forKey: .framesDecoded)
        try c.encode(framesAnalyzed, forKey: .framesAnalyzed)
        try c.encode(sampleFps, forKey: .sampleFps)
    }
}

/// Mean, population standard deviation, minimum and maximum of a series; nil for an empty one.
public struct Statistics: Codable, Sendable, Equatable {
    public var mean: Double
    public var sd: Double
    public var min: Double
    public var max: Double

    public init(mean: Double, sd: Double, min: Double, max: Double) { self.mean = mean; self.sd = sd; self.min = min; self.max = max }

    public init?(_ values: [Double]) {
        let v = values.filter(\.isFinite)
        guard !v.isEmpty else { return nil }
        let n = Double(v.count)
        let m = v.reduce(0, +) / n
        mean = m
        sd = (v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / n).squareRoot()
        min = v.min()!
        max = v.max()!
    }
}

public struct Summary: Codable, Sendable, Equatable {
    public var persons: Int
    public var valence: Statistics?
    public var arousal: Statistics?
    /// Frame-weighted mean of the persons' confidences; 0 without persons.
    public var confidence: Double

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(persons, forKey: .persons)
        try c.encode(valence, forKey: .valence)
        try c.encode(arousal, forKey: .arousal)
        try c.encode(confidence, forKey: .confidence)
    }
}

public struct PersonSummary: Codable, Sendable, Equatable {
    public var id: Int
    public var firstT: Double
    public var lastT: Double
    public var frames: Int
    public var valence: Statistics?
    public var arousal: Statistics?
    /// Mean of the person's smoothed face confidences (from the temporal model's posterior variance).
    public var confidence: Double

    enum CodingKeys: String, CodingKey { case id, firstT = "first_t", lastT = "last_t", frames, valence, arousal, confidence }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(firstT, forKey: .firstT)
        try c.encode(lastT, forKey: .lastT)
        try c.encode(frames, forKey: .frames)
        try c.encode(valence, forKey: .valence)
        try c.encode(arousal, forKey: .arousal)
        try c.encode(confidence, forKey: .confidence)
    }
}

public struct FrameResult: Codable, Sendable, Equatable {
    /// Seconds from the stream start.
    public var t: Double
    public var faces: [FaceResult]
    public init(t: Double, faces: [FaceResult]) { self.t = t; self.faces = faces }
}

/// One face in one frame. `valence`/`arousal`/`confidence` are the temporally smoothed values
/// (null when the temporal model has no estimate there); `raw` is the single-frame estimate.
public struct FaceResult: Codable, Sendable, Equatable {
    public var person: Int
    /// [x, y, w, h] in pixels of the displayed (rotation-applied) frame.
    public var box: [Double]
    public var score: Double
    public var landmarks: [[Double]]
    public var valence: Double?
    public var arousal: Double?
    public var confidence: Double
    public var raw: RawEstimate
    /// Posterior per expression class, when requested.
    public var expression: [String: Double]?
    /// Embeddings, when requested.
    public var embeddings: Embeddings?
    /// Blendshapes, head pose, mesh, when requested (encoded as top-level members of the face).
    public var signals: FaceSignals?

    public init(
        person: Int, box: [Double], score: Double, landmarks: [[Double]], smoothed: VA?, confidence: Double,
        raw: RawEstimate, expression: [String: Double]? = nil, embeddings: Embeddings? = nil, signals: FaceSignals? = nil
    ) {
        self.person = person; self.box = box; self.score = score; self.landmarks = landmarks
        self.valence = finite(smoothed?.valence); self.arousal = finite(smoothed?.arousal)
        self.confidence = finite(confidence) ?? 0
        self.raw = raw; self.expression = expression; self.embeddings = embeddings; self.signals = signals
    }

    enum CodingKeys: String, CodingKey {
        case person, box, score, landmarks, valence, arousal, confidence, raw, expression, embeddings
        case blendshapes, pose, mesh, presence
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        person = try c.decode(Int.self, forKey: .person)
        box = try c.decode([Double].self, forKey: .box)
        score = try c.decode(Double.self, forKey: .score)
        landmarks = try c.decode([[Double]].self, forKey: .landmarks)
        valence = try c.decodeIfPresent(Double.self, forKey: .valence)
        arousal = try c.decodeIfPresent(Double.self, forKey: .arousal)
        confidence = try c.decode(Double.self, forKey: .confidence)
        raw = try c.decode(RawEstimate.self, forKey: .raw)
        expression = try c.decodeIfPresent([String: Double].self, forKey: .expression)
        embeddings = try c.decodeIfPresent(Embeddings.self, forKey: .embeddings)
        let s = try FaceSignals(from: decoder)
        signals = s == FaceSignals() ? nil : s
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(person, forKey: .person)
        try c.encode(box, forKey: .box)
        try c.encode(score, forKey: .score)
        try c.encode(landmarks, forKey: .landmarks)
        try c.encode(valence, forKey: .valence)
        try c.encode(arousal, forKey: .arousal)
        try c.encode(confidence, forKey: .confidence)
        try c.encode(raw, forKey: .raw)
        try c.encodeIfPresent(expression, forKey: .expression)
        try c.encodeIfPresent(embeddings, forKey: .embeddings)
        try signals?.encode(to: encoder)
    }
}

/// The single-frame estimate: the VA head's output and the frame's own confidence.
public struct RawEstimate: Codable, Sendable, Equatable {
    public var valence: Double?
    public var arousal: Double?
    public var confidence: Double
    /// With a head that reads audio: the fraction of the frame's audio window that was real audio
    /// (0: none, the head got the masked input; below 1: at the audio's edges). Absent otherwise.
    public var audioCoverage: Double?

    public init(va: VA?, confidence: Double, audioCoverage: Double? = nil) {
        valence = finite(va?.valence); arousal = finite(va?.arousal); self.confidence = finite(confidence) ?? 0
        self.audioCoverage = finite(audioCoverage)
    }

    enum CodingKeys: String, CodingKey { case valence, arousal, confidence, audioCoverage = "audio_coverage" }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(valence, forKey: .valence)
        try c.encode(arousal, forKey: .arousal)
        try c.encode(confidence, forKey: .confidence)
        try c.encodeIfPresent(audioCoverage, forKey: .audioCoverage)
    }
}

public struct Embeddings: Codable, Sendable, Equatable {
    public var scene: [Float]?
    public var person: [Float]?
    public var face: [Float]?
    public init(scene: [Float]? = nil, person: [Float]? = nil, face: [Float]? = nil) { self.scene = scene; self.person = person; self.face = face }
}

/// A value JSON can carry: non-finite numbers become null rather than failing the encoder.
func finite(_ x: Double?) -> Double? { x.flatMap { $0.isFinite ? $0 : nil } }
