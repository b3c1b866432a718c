import Tensor

/// The per-person temporal model of a package, `affect.temporal` of its manifest
/// (docs/model-package.md, "Temporal model"):
/// - `kalman_rts` (the default): confidence-weighted Kalman filter + RTS smoother, which also
///   gives each estimate a posterior variance;
/// - `network`: a trained sequence head (e.g. Mamba-VA: TCN blocks, Mamba blocks, linear layers)
///   over per-frame features of one person's track.
public enum TemporalModel: Sendable {
    case kalman(KalmanSmoother)
    case network(SequenceHead)

    public init(json: JSON?, networks: (String) throws -> Network) throws {
        guard let json else { self = .kalman(.default); return }
        switch json["type"]?.string {
        case "kalman_rts":
            var k = KalmanSmoother.default
            func read(_ key: String, _ into: inout Double) throws {
                guard let v = json[key] else { return }
                guard let d = v.double, d.isFinite, d > 0 else { throw AffectModelError("temporal.\(key) must be a positive number") }
                into = d
            }
            try read("process_noise", &k.processNoise)
            try read("observation_noise", &k.observationNoise)
            try read("prior_variance", &k.priorVariance)
            self = .kalman(k)
        case "network":
            self = .network(try SequenceHead(json: json, networks: networks))
        default:
            throw AffectModelError("temporal.type must be \"kalman_rts\" or \"network\"")
        }
    }
}

/// A manifest network over one person's sequence: input [1, T, F] with F the declared sources
/// concatenated per frame (in `inputs` order), output [1, T, 2] = (valence, arousal) before the
/// declared squash. The sequence is the frames where the person was seen, in time order.
public struct SequenceHead: Sendable {
    public let network: Network
    public let sources: [FeatureSource]
    public let width: Int
    public let squash: OutputSquash

    init(json: JSON, networks: (String) throws -> Network) throws {
        guard let name = json["network"]?.string else { throw AffectModelError("temporal.network must name a network") }
        network = try networks(name)
        guard network.inputs.count == 1, network.inputs[0].shape.count == 2, let w = network.inputs[0].shape[1] else {
            throw AffectModelError("temporal network \(name) must take one input declared [null, features]")
        }
        width = w
        guard let list = json["inputs"]?.array, !list.isEmpty else {
            throw AffectModelError("temporal.inputs must list the feature sources concatenated per frame")
        }
        sources = try list.map { try FeatureSource.parse($0, "temporal.inputs") }
        guard let s = json["output"]?.string.flatMap(OutputSquash.init(rawValue:)) else {
            throw AffectModelError("temporal.output must be \"tanh\" or \"clip\"")
        }
        squash = s
    }

    public var usedSources: Set<FeatureSource> { Set(sources) }

    /// VA for every step of one track.
    public func run(_ steps: [FaceFeatures], arena: Arena) throws -> [VA] {
        guard !steps.isEmpty else { return [] }
        let x = try featureMatrix(steps, sources, width: width).reshaped([1, steps.count, width])
        let y = try network.run([x], arena: arena)[0]
        guard y.rank == 3, y.dim(0) == 1, y.dim(1) == steps.count, y.dim(2) == 2 else {
            throw AffectModelError("temporal network output has shape \(y.shape), expected [1, \(steps.count), 2]")
        }
        return (0..<steps.count).map { VA(valence: squash.apply(y.data[2 * $0]), arousal: squash.apply(y.data[2 * $0 + 1])) }
    }
}
