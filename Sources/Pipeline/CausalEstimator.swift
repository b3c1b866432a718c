import Affect

/// Per person, the causal estimate of the package's temporal model: the Kalman filter's state after
/// the person's observations up to now (one O(1) step per observation), or, with a trained temporal
/// head (which runs over a whole track), the single-frame estimate. NDJSON streams and live
/// sessions send these; the final result of a clip carries the smoothed values instead.
struct CausalEstimator {
    let temporal: TemporalModel
    /// The filter state per person id (Kalman only).
    var filters: [Int: KalmanFilterState] = [:]

    init(temporal: TemporalModel, filters: [Int: KalmanFilterState] = [:]) {
        self.temporal = temporal
        self.filters = filters
    }

    mutating func estimate(_ face: FaceObservation, t: Double) -> (va: VA?, confidence: Double) {
        guard case .kalman(let smoother) = temporal else { return (face.raw, face.confidence) }
        let observation = face.raw.map {
            KalmanSmoother.Observation(va: $0, confidence: face.confidence, variance: face.rawVariance ?? VA(valence: 0, arousal: 0))
        }
        let state = smoother.filter(filters[face.person], t: t, observation: observation)
        filters[face.person] = state
        return (
            state?.mean.clipped,
            state.map { PosteriorConfidence.of(variance: $0.variance, priorVariance: smoother.priorVariance) } ?? 0
        )
    }
}
