import Tensor

/// The VA regressor of a model package, as `affect.va_head` of its manifest declares it
/// (docs/model-package.md, "VA head"):
/// - `centroid_projection`: the expression posterior projected onto category centroids (the
///   default package; its scene/person fusion weights are zero and declared so under `fusion`);
/// - `network`: a trained fusion/regressor network over the declared feature sources (linear or
///   MLP over the concatenated scene, person and face embeddings), output squashed into [-1, 1].
public struct VAHead: Sendable {
    public enum Kind: Sendable {
        case centroidProjection(CentroidProjection)
        case network(NetworkHead)
    }

    public let kind: Kind
    /// The sources whose encoders must run for this head (scene/person skipped when unused).
    public let requiredSources: Set<FeatureSource>

    public struct Output: Sendable, Equatable {
        public var va: VA
        /// The head's predictive variance per axis, when it has one (the centroid projection does).
        public var variance: VA?
    }

    public init(json: JSON, networks: (String) throws -> Network) throws {
        switch json["type"]?.string {
        case "centroid_projection":
            let projection = try CentroidProjection(json: json)
            try Self.checkZeroFusion(json["fusion"])
            kind = .centroidProjection(projection)
            requiredSources = [.expression]
        case "network":
            let head = try NetworkHead(json: json, networks: networks, what: "va_head")
            kind = .network(head)
            requiredSources = head.usedSources
        default:
            throw AffectModelError("va_head.type must be \"centroid_projection\" or \"network\"")
        }
    }

    /// A centroid projection reads the posterior only: its manifest must say what became of the
    /// scene/person fusion weights (zero, and why), so nobody mistakes it for a trained fusion.
    static func checkZeroFusion(_ fusion: JSON?) throws {
        guard let fusion, fusion["scene"]?.double == 0, fusion["person"]?.double == 0,
            let why = fusion["note"]?.string, !why.isEmpty
        else {
            throw AffectModelError("va_head.fusion must declare {\"scene\": 0, \"person\": 0, \"note\": <why>} for a centroid projection")
        }
    }

    /// VA of a batch of faces.
    public func run(_ faces: [FaceFeatures], arena: Arena) throws -> [Output] {
        switch kind {
        case .centroidProjection(let p):
            return try faces.enumerated().map { i, f in
                guard let posterior = f.expression else { throw AffectModelError("face \(i) has no expression posterior") }
                let (va, variance) = try p.project(posterior)
                return Output(va: va, variance: variance)
            }
        case .network(let head):
            return try head.run(faces, arena: arena).map { Output(va: $0, variance: nil) }
        }
    }
}

/// A manifest network with one input per declared feature source, batch [N, width] each, and
/// output [N, 2] = (valence, arousal) before the declared squash. `zero_inputs` lists sources whose
/// weights are declared zero: they are fed zeros (their encoders need not run), and the claim is
/// checked at load by running the head with and without them.
public struct NetworkHead: Sendable {
    public let network: Network
    public let sources: [FeatureSource]
    public let widths: [Int]
    public let zeroSources: Set<FeatureSource>
    public let squash: OutputSquash

    public var usedSources: Set<FeatureSource> { Set(sources).subtracting(zeroSources) }

    init(json: JSON, networks: (String) throws -> Network, what: String) throws {
        guard let name = json["network"]?.string else { throw AffectModelError("\(what).network must name a network") }
        network = try networks(name)
        guard let list = json["inputs"]?.array, list.count == network.inputs.count else {
            throw AffectModelError("\(what).inputs must list one feature source per input of network \(name) (\(network.inputs.count))")
        }
        sources = try list.map { try FeatureSource.parse($0, "\(what).inputs") }
        guard Set(sources).count == sources.count else { throw AffectModelError("\(what).inputs lists a source twice") }
        widths = try network.inputs.map {
            guard $0.shape.count == 1, let w = $0.shape[0] else {
                throw AffectModelError("\(what): network \(name) input \($0.name) must be declared [features]")
            }
            return w
        }
        zeroSources = Set(
            try (json["zero_inputs"]?.array ?? []).map { try FeatureSource.parse($0, "\(what).zero_inputs") })
        guard zeroSources.isSubset(of: Set(sources)) else { throw AffectModelError("\(what).zero_inputs names a source that is not an input") }
        guard let s = json["output"]?.string.flatMap(OutputSquash.init(rawValue:)) else {
            throw AffectModelError("\(what).output must be \"tanh\" or \"clip\"")
        }
        squash = s
        try verifyZeroInputs(name)
    }

    /// Runs the head on a probe batch twice — declared-zero inputs as zeros, then as ones — and
    /// requires the same outputs: a package cannot claim zero weights it does not have.
    func verifyZeroInputs(_ name: String) throws {
        guard !zeroSources.isEmpty else { return }
        let arena = Arena(bytes: 1 << 16)
        func probe(_ fill: Float) throws -> [Float] {
            arena.reset()
            let inputs = zip(sources, widths).enumerated().map { i, sw -> Tensor in
                let t = Tensor(zeros: [2, sw.1])
                for j in 0..<t.count { t.data[j] = zeroSources.contains(sw.0) ? fill : Float((j * 7 + i * 3) % 11) / 11 - 0.5 }
                return t
            }
            return try network.run(inputs, arena: arena)[0].array
        }
        let a = try probe(0), b = try probe(1)
        guard zip(a, b).allSatisfy({ abs($0 - $1) <= 1e-6 }) else {
            throw AffectModelError("network \(name) declares zero weights for \(zeroSources.map(\.rawValue).sorted()) but its output depends on them")
        }
    }

    func run(_ faces: [FaceFeatures], arena: Arena) throws -> [VA] {
        guard !faces.isEmpty else { return [] }
        let inputs = try zip(sources, widths).map { source, width -> Tensor in
            if zeroSources.contains(source) { return Tensor(zeros: [faces.count, width]) }
            return try featureMatrix(faces, [source], width: width)
        }
        let y = try network.run(inputs, arena: arena)[0]
        guard y.rank == 2, y.dim(0) == faces.count, y.dim(1) == 2 else {
            throw AffectModelError("VA network output has shape \(y.shape), expected [\(faces.count), 2]")
        }
        return (0..<faces.count).map { VA(valence: squash.apply(y.data[2 * $0]), arousal: squash.apply(y.data[2 * $0 + 1])) }
    }
}
