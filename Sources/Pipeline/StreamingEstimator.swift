import Affect
/// The per-frame values of a live stream (`onFrame`, NDJSON): the RTS-smoothed values need the
/// whole track, so a frame is sent with the causal Kalman estimate from the person's observations up
/// to that frame (the final result carries the smoothed ones). With a trained temporal head, which
/// runs over the whole track, a streamed frame carries the single-frame estimate.
final class StreamingEstimator {
    let temporal: TemporalModel
    let emit: (FrameResult) -> Void
    private var samples: [Int: [KalmanSmoother.Sample]] = [:]

    init(temporal: TemporalModel, emit: @escaping (FrameResult) -> Void) {
        self.temporal = temporal
        self.emit = emit
    }

    func add(_ frame: FrameObservations) {
        let faces = frame.faces.map { face -> FaceResult in
            var va = face.raw, confidence = face.confidence
            if case .kalman(let smoother) = temporal {
                let observation = face.raw.map {
                    KalmanSmoother.Observation(va: $0, confidence: face.confidence, variance: face.rawVariance ?? VA(valence: 0, arousal: 0))
                }
                samples[face.person, default: []].append(.init(t: frame.t, observation: observation))
                // The filter's last step is O(1) given the previous state; re-running the track keeps this
                // code the smoother's own (tracks are at most a few thousand samples).
                let estimate = smoother.run(samples[face.person]!).filtered.last ?? nil
                va = estimate?.mean.clipped
                confidence = estimate.map { PosteriorConfidence.of(variance: $0.variance, priorVariance: smoother.priorVariance) } ?? 0
            }
            return FaceResult(
                person: face.person, box: face.box, score: face.score, landmarks: face.landmarks,
                smoothed: va, confidence: confidence, raw: RawEstimate(va: face.raw, confidence: face.confidence),
                expression: face.expression, embeddings: face.embeddings, signals: face.signals)
        }
        emit(FrameResult(t: frame.t, faces: faces))
    }
}
