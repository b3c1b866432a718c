/// The default temporal model: per person, a Kalman filter and Rauch–Tung–Striebel smoother on a
/// random-walk state, run independently for valence and arousal (docs/confidence.md, "Temporal").
///
///   state       x(t_k) = x(t_{k-1}) + w_k,  w_k ~ N(0, q · (t_k - t_{k-1}))
///   observation y_k    = x(t_k) + v_k,      v_k ~ N(0, r_k),  r_k = (r0 + head variance_k) / confidence_k
///
/// The process noise grows with the time between samples, so any sampling rate and any gap gives
/// the same model of how fast affect drifts. A sample with confidence 0 (or no observation) is a
/// pure prediction step. The filter starts diffuse: the first observation initialises the state
/// (the limit of an infinitely wide prior), so a constant input gives exactly that constant back
/// and no prior mean pulls the estimate towards 0. Before the first observation there is no
/// estimate; after the last one the filter predicts (variance growing) but the smoother gives none.
public struct KalmanSmoother: Sendable, Equatable {
    /// Random-walk variance per second of time between samples (per VA axis).
    public var processNoise: Double
    /// Observation variance of a fully confident sample with no head variance.
    public var observationNoise: Double
    /// The variance of knowing nothing: VA uniform on [-1, 1] has variance 1/3. Person and smoothed
    /// confidences are 1 - variance / priorVariance (clipped).
    public var priorVariance: Double

    public static let `default` = KalmanSmoother(processNoise: 0.1, observationNoise: 0.02, priorVariance: 1.0 / 3.0)

    public init(processNoise: Double, observationNoise: Double, priorVariance: Double) {
        self.processNoise = processNoise
        self.observationNoise = observationNoise
        self.priorVariance = priorVariance
    }

    /// One sample of one track: its time, and the single-frame estimate if the person was seen.
    public struct Sample: Sendable, Equatable {
        public var t: Double
        public var observation: Observation?
        public init(t: Double, observation: Observation?) { self.t = t; self.observation = observation }
    }

    public struct Observation: Sendable, Equatable {
        public var va: VA
        /// The frame's confidence in [0, 1] (0 = no information).
        public var confidence: Double
        /// The head's own predictive variance per axis (0 when the head gives none).
        public var variance: VA
        public init(va: VA, confidence: Double, variance: VA = VA(valence: 0, arousal: 0)) {
            self.va = va; self.confidence = confidence; self.variance = variance
        }
    }

    /// Per sample: the estimate with its posterior variance per axis, nil outside the observed span.
    public struct Estimate: Sendable, Equatable {
        public var mean: VA
        public var variance: VA
    }

    public struct Output: Sendable, Equatable {
        /// Causal estimates (each uses samples up to its own time): what a live stream can send.
        public var filtered: [Estimate?]
        /// Estimates using every sample of the track: the values of the final result.
        public var smoothed: [Estimate?]
    }

    /// Runs the filter forward and the RTS smoother backward. Samples must be in time order.
    public func run(_ samples: [Sample]) -> Output {
        let v = runAxis(samples, \.valence)
        let a = runAxis(samples, \.arousal)
        func merge(_ x: [(Double, Double)?], _ y: [(Double, Double)?]) -> [Estimate?] {
            zip(x, y).map { p, q in
                guard let p, let q else { return nil }
                return Estimate(mean: VA(valence: p.0, arousal: q.0), variance: VA(valence: p.1, arousal: q.1))
            }
        }
        return Output(filtered: merge(v.filtered, a.filtered), smoothed: merge(v.smoothed, a.smoothed))
    }

    /// The observation variance of a sample on one axis, nil when it carries no information.
    func observationVariance(_ o: Observation?, _ axis: KeyPath<VA, Double>) -> Double? {
        guard let o, o.confidence > 0, o.confidence.isFinite, o.va[keyPath: axis].isFinite else { return nil }
        let headVariance = max(0, o.variance[keyPath: axis].isFinite ? o.variance[keyPath: axis] : 0)
        return (max(observationNoise, 1e-12) + headVariance) / min(o.confidence, 1)
    }

    /// The measurement update of one axis (the filter's only arithmetic besides adding process noise).
    static func update(mean m: Double, variance p: Double, observed y: Double, noise r: Double) -> (Double, Double) {
        let gain = p / (p + r)
        return (m + gain * (y - m), p * (1 - gain))
    }

    func runAxis(_ samples: [Sample], _ axis: KeyPath<VA, Double>)
        -> (filtered: [(Double, Double)?], smoothed: [(Double, Double)?])
    {
        let n = samples.count
        var filtered = [(Double, Double)?](repeating: nil, count: n)  // (mean, variance) after update
        var predictedVar = [Double](repeating: .infinity, count: n)  // variance before update
        var state: (Double, Double)? = nil
        var lastObserved = -1
        for k in 0..<n {
            if var (m, p) = state {
                let dt = max(0, samples[k].t - samples[k - 1].t)
                p += processNoise * dt
                predictedVar[k] = p
                if let r = observationVariance(samples[k].observation, axis) {
                    (m, p) = Self.update(mean: m, variance: p, observed: samples[k].observation!.va[keyPath: axis], noise: r)
                    lastObserved = k
                }
                state = (m, p)
            } else if let r = observationVariance(samples[k].observation, axis) {
                state = (samples[k].observation!.va[keyPath: axis], r)  // diffuse start
                lastObserved = k
            }
            filtered[k] = state
        }
        guard lastObserved >= 0 else { return (filtered, filtered) }
        var smoothed = [(Double, Double)?](repeating: nil, count: n)
        smoothed[lastObserved] = filtered[lastObserved]
        var k = lastObserved - 1
        while k >= 0, let (m, p) = filtered[k] {
            let (mNext, pNext) = smoothed[k + 1]!
            let gain = p / predictedVar[k + 1]  // RTS gain for a random walk (transition 1)
            smoothed[k] = (m + gain * (mNext - m), p + gain * gain * (pNext - predictedVar[k + 1]))
            k -= 1
        }
        return (filtered, smoothed)  // past the last observation: extrapolation, so no smoothed estimate
    }
}
