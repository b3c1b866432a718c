/// The causal half of `KalmanSmoother` one sample at a time, for live streams: the state after a
/// person's last sample, advanced by the next one. Stepping a track's samples in order gives the
/// same estimates as `run(_:).filtered` (with both axes observed together), at O(1) per sample
/// and with a state small enough to hand to a client and back (docs/affect.md).
public struct KalmanFilterState: Sendable, Equatable, Codable {
    /// Time of the last sample folded in.
    public var t: Double
    public var mean: VA
    public var variance: VA
    public init(t: Double, mean: VA, variance: VA) { self.t = t; self.mean = mean; self.variance = variance }

    public var estimate: KalmanSmoother.Estimate { KalmanSmoother.Estimate(mean: mean, variance: variance) }

    /// Finite numbers, variances positive: what a state read from outside must satisfy.
    public var isValid: Bool {
        [t, mean.valence, mean.arousal, variance.valence, variance.arousal].allSatisfy(\.isFinite)
            && variance.valence > 0 && variance.arousal > 0
    }
}

extension KalmanSmoother {
    /// The state after one more sample at `t`: a prediction over the time since `state.t` (a time
    /// going back counts as no time), then the update when `observation` carries information. No
    /// state before the first informative observation (the diffuse start of `run`).
    public func filter(_ state: KalmanFilterState?, t: Double, observation: Observation?) -> KalmanFilterState? {
        let rv = observationVariance(observation, \.valence), ra = observationVariance(observation, \.arousal)
        guard var s = state else {
            guard let o = observation, let rv, let ra else { return nil }
            return KalmanFilterState(t: t, mean: o.va, variance: VA(valence: rv, arousal: ra))
        }
        let grow = processNoise * max(0, t - s.t)
        s.variance.valence += grow
        s.variance.arousal += grow
        s.t = max(s.t, t)
        if let o = observation, let rv {
            (s.mean.valence, s.variance.valence) = Self.update(mean: s.mean.valence, variance: s.variance.valence, observed: o.va.valence, noise: rv)
        }
        if let o = observation, let ra {
            (s.mean.arousal, s.variance.arousal) = Self.update(mean: s.mean.arousal, variance: s.variance.arousal, observed: o.va.arousal, noise: ra)
        }
        return s
    }
}
