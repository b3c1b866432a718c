import Tensor

/// What the per-frame stages produce for one face: where it is, its single-frame VA estimate and
/// the frame's confidence. The Timeline turns a clip's worth of these into smoothed results.
public struct FaceObservation: Sendable {
    public var person: Int
    public var box: [Double]
    public var score: Double
    public var landmarks: [[Double]]
    /// The VA head's output (nil when the head could not run, e.g. no posterior).
    public var raw: VA?
    /// The head's predictive variance, when it gives one.
    public var rawVariance: VA?
    /// FaceConfidence of this face in this frame.
    public var confidence: Double
    public var expression: [String: Double]?
    public var embeddings: Embeddings?
    /// Inputs of a trained temporal head (only read when the package has one).
    public var features: FaceFeatures?
    /// Blendshapes, pose, mesh, when requested (passed to the result unchanged).
    public var signals: FaceSignals?
    /// The coverage of the audio window the head read (only with a head that reads audio).
    public var audioCoverage: Double?

    public init(
        person: Int, box: [Double], score: Double, landmarks: [[Double]], raw: VA?, rawVariance: VA? = nil,
        confidence: Double, expression: [String: Double]? = nil, embeddings: Embeddings? = nil, features: FaceFeatures? = nil,
        signals: FaceSignals? = nil, audioCoverage: Double? = nil
    ) {
        self.person = person; self.box = box; self.score = score; self.landmarks = landmarks; self.raw = raw
        self.rawVariance = rawVariance; self.confidence = confidence; self.expression = expression
        self.embeddings = embeddings; self.features = features; self.signals = signals; self.audioCoverage = audioCoverage
    }
}

public struct FrameObservations: Sendable {
    public var t: Double
    public var faces: [FaceObservation]
    public init(t: Double, faces: [FaceObservation]) { self.t = t; self.faces = faces }
}

/// Runs the package's temporal model per person over a clip's sampled frames and writes the
/// result frames: each face gets its smoothed VA and, with the Kalman smoother, the posterior
/// confidence 1 − variance / prior variance; `raw` keeps the single-frame estimate and confidence.
/// With a trained sequence head the smoothed confidence is the frame's own (the head gives no
/// variance). Frames are returned in time order whatever order they came in.
public struct Timeline: Sendable {
    public let temporal: TemporalModel

    public init(temporal: TemporalModel) { self.temporal = temporal }

    public func build(_ input: [FrameObservations], arena: Arena) throws -> [FrameResult] {
        let frames = input.sorted { $0.t < $1.t }
        var smoothed: [Int: [Int: (VA?, Double)]] = [:]  // person -> frame index -> (VA, confidence)
        for person in Set(frames.flatMap { $0.faces.map(\.person) }) {
            smoothed[person] = try track(person, frames, arena: arena)
        }
        return frames.enumerated().map { k, frame in
            FrameResult(
                t: frame.t,
                faces: frame.faces.map { face in
                    let (va, confidence) = smoothed[face.person]?[k] ?? (nil, 0)
                    return FaceResult(
                        person: face.person, box: face.box, score: face.score, landmarks: face.landmarks,
                        smoothed: va, confidence: confidence,
                        raw: RawEstimate(va: face.raw, confidence: face.confidence, audioCoverage: face.audioCoverage),
                        expression: face.expression, embeddings: face.embeddings, signals: face.signals)
                })
        }
    }

    /// The person's best face per frame (a tracker may, rarely, give one id twice in a frame).
    func best(_ person: Int, _ frame: FrameObservations) -> FaceObservation? {
        frame.faces.filter { $0.person == person }.max { $0.confidence < $1.confidence }
    }

    func track(_ person: Int, _ frames: [FrameObservations], arena: Arena) throws -> [Int: (VA?, Double)] {
        var out: [Int: (VA?, Double)] = [:]
        switch temporal {
        case .kalman(let smoother):
            let samples = frames.map { frame -> KalmanSmoother.Sample in
                guard let face = best(person, frame), let raw = face.raw else { return .init(t: frame.t, observation: nil) }
                return .init(
                    t: frame.t,
                    observation: .init(
                        va: raw, confidence: face.confidence,
                        variance: face.rawVariance ?? VA(valence: 0, arousal: 0)))
            }
            let estimates = smoother.run(samples).smoothed
            for (k, e) in estimates.enumerated() where best(person, frames[k]) != nil {
                out[k] = (e.map(\.mean.clipped), e.map { PosteriorConfidence.of(variance: $0.variance, priorVariance: smoother.priorVariance) } ?? 0)
            }
        case .network(let head):
            let seen = frames.indices.compactMap { k in best(person, frames[k]).map { (k, $0) } }
            let steps = try seen.map { k, face -> FaceFeatures in
                guard let f = face.features else { throw AffectModelError("person \(person) at t=\(frames[k].t) has no features for the temporal head") }
                return f
            }
            for ((k, face), va) in zip(seen, try head.run(steps, arena: arena)) { out[k] = (va, face.confidence) }
        }
        return out
    }
}
