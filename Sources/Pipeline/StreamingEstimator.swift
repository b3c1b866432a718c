import Affect

/// The per-frame values of an NDJSON stream (`onFrame`): each frame with the causal estimate per
/// person (`CausalEstimator`); the final result carries the smoothed ones.
final class StreamingEstimator {
    let emit: (FrameResult) -> Void
    private var causal: CausalEstimator

    init(temporal: TemporalModel, emit: @escaping (FrameResult) -> Void) {
        self.causal = CausalEstimator(temporal: temporal)
        self.emit = emit
    }

    func add(_ frame: FrameObservations) {
        let faces = frame.faces.map { face -> FaceResult in
            let (va, confidence) = causal.estimate(face, t: frame.t)
            return FaceResult(
                person: face.person, box: face.box, score: face.score, landmarks: face.landmarks,
                smoothed: va, confidence: confidence, raw: RawEstimate(va: face.raw, confidence: face.confidence, audioCoverage: face.audioCoverage),
                expression: face.expression, embeddings: face.embeddings, signals: face.signals)
        }
        emit(FrameResult(t: frame.t, faces: faces))
    }
}
