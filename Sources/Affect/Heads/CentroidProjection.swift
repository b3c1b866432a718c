import Tensor

/// The default package's VA regressor: the expression posterior projected onto the valence–arousal
/// centroids of the expression categories (AffectNet validation set means and sds, read from the
/// manifest with their citation; nothing of them is written in Swift).
///   V = Σ_k p_k · valence_mean_k                        (A likewise)
///   Var(V) = Σ_k p_k · (valence_sd_k² + (valence_mean_k − V)²)
/// i.e. the mean and variance of the mixture "pick a category by the posterior, then a VA point from
/// that category's spread": the within-category spread plus the posterior's disagreement.
public struct CentroidProjection: Sendable, Equatable {
    public struct Centroid: Sendable, Equatable {
        /// The category's name in results (the keys of a face's `expression` map).
        public let name: String
        public let valenceMean: Double, valenceSD: Double
        public let arousalMean: Double, arousalSD: Double
    }

    /// In the order of the expression network's posterior.
    public let centroids: [Centroid]
    /// Where the figures come from (shown by /v1/models).
    public let source: String

    public init(centroids: [Centroid], source: String) {
        self.centroids = centroids
        self.source = source
    }

    /// Parses `affect.va_head` of type `centroid_projection` (docs/model-package.md, "VA head").
    public init(json: JSON) throws {
        guard let list = json["centroids"]?.array, !list.isEmpty else {
            throw AffectModelError("va_head.centroids must be a non-empty list (one entry per posterior class)")
        }
        var out: [Centroid] = []
        for (i, c) in list.enumerated() {
            func number(_ key: String, sd: Bool) throws -> Double {
                guard let v = c[key]?.double, v.isFinite, sd ? v >= 0 : abs(v) <= 1 else {
                    throw AffectModelError("va_head.centroids[\(i)].\(key) must be a number \(sd ? ">= 0" : "in [-1, 1]")")
                }
                return v
            }
            guard let name = c["class"]?.string, !name.isEmpty else { throw AffectModelError("va_head.centroids[\(i)] needs a \"class\"") }
            guard !out.contains(where: { $0.name == name }) else { throw AffectModelError("va_head: class \(name) listed twice") }
            out.append(
                Centroid(
                    name: name,
                    valenceMean: try number("valence_mean", sd: false), valenceSD: try number("valence_sd", sd: true),
                    arousalMean: try number("arousal_mean", sd: false), arousalSD: try number("arousal_sd", sd: true)))
        }
        guard let source = json["source"]?.string ?? json["source"]?["citation"]?.string, !source.isEmpty else {
            throw AffectModelError("va_head.source must cite where the centroid figures come from")
        }
        self.init(centroids: out, source: source)
    }

    public var classNames: [String] { centroids.map(\.name) }

    /// Projects one posterior. Negative or non-finite entries count as 0 and the rest is
    /// renormalised; a posterior with no mass is an error (it says nothing).
    public func project(_ posterior: [Float]) throws -> (va: VA, variance: VA) {
        guard posterior.count == centroids.count else {
            throw AffectModelError("posterior has \(posterior.count) classes, the VA head \(centroids.count)")
        }
        let p = posterior.map { $0.isFinite && $0 > 0 ? Double($0) : 0 }
        let total = p.reduce(0, +)
        guard total > 0 else { throw AffectModelError("posterior has no probability mass") }
        var v = 0.0, a = 0.0
        for (pk, c) in zip(p, centroids) { v += pk * c.valenceMean; a += pk * c.arousalMean }
        v /= total; a /= total
        var varV = 0.0, varA = 0.0
        for (pk, c) in zip(p, centroids) {
            varV += pk * (c.valenceSD * c.valenceSD + (c.valenceMean - v) * (c.valenceMean - v))
            varA += pk * (c.arousalSD * c.arousalSD + (c.arousalMean - a) * (c.arousalMean - a))
        }
        return (VA(valence: v, arousal: a).clipped, VA(valence: varV / total, arousal: varA / total))
    }
}
