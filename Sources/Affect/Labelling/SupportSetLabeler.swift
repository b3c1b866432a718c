import Foundation

/// Support-set labelling after MT-CLAR (Parameshwara et al. 2023): a few frames of a clip carry
/// human VA labels; every other sampled frame is labelled from the support frames it resembles,
/// corrected by the model's own predicted VA difference (MT-CLAR's Siamese network predicts that
/// difference; here the package's VA head does). docs/labelling.md has the formulas and constants.
///
///   w_is  = softmax_s( cos(f_i, f_s) / temperature − |t_i − t_s| / timeScale )
///   label_i = clip( Σ_s w_is · (label_s + pred_i − pred_s) )
///   conf_i  = max_s exp( −(1 − cos(f_i, f_s)) / featureScale − |t_i − t_s| / timeScale )
/// A support frame (the sampled frame nearest a labelled timestamp) takes its human label, with
/// confidence 1.
public struct SupportSetLabeler: Sendable, Equatable {
    public var temperature: Double = 0.1
    public var timeScale: Double = 5
    public var featureScale: Double = 0.25

    public static let `default` = SupportSetLabeler()
    public init() {}

    public struct Frame: Sendable, Equatable {
        public var t: Double
        /// Feature vector (e.g. scene + person + face embeddings).
        public var embedding: [Float]
        /// The model's own per-frame estimate.
        public var predicted: VA
        public init(t: Double, embedding: [Float], predicted: VA) { self.t = t; self.embedding = embedding; self.predicted = predicted }
    }

    public struct Support: Sendable, Equatable, Codable {
        public var t: Double
        public var valence: Double
        public var arousal: Double
        public init(t: Double, valence: Double, arousal: Double) { self.t = t; self.valence = valence; self.arousal = arousal }
    }

    public struct Label: Sendable, Equatable {
        public var t: Double
        public var va: VA
        public var confidence: Double
        /// Whether this frame is one of the support frames.
        public var isSupport: Bool
    }

    public struct LabelError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    public func label(frames: [Frame], support: [Support]) throws -> [Label] {
        guard !frames.isEmpty else { return [] }
        guard !support.isEmpty else { throw LabelError(description: "the support set is empty") }
        for s in support {
            guard s.t.isFinite, s.valence.isFinite, s.arousal.isFinite, abs(s.valence) <= 1, abs(s.arousal) <= 1 else {
                throw LabelError(description: "support label at t=\(s.t) must have a finite time and valence/arousal in [-1, 1]")
            }
        }
        // Each support label attaches to the sampled frame nearest its timestamp.
        let anchors: [(frame: Int, label: VA)] = support.map { s in
            let i = frames.indices.min { abs(frames[$0].t - s.t) < abs(frames[$1].t - s.t) }!
            return (i, VA(valence: s.valence, arousal: s.arousal))
        }
        let norms = frames.map { f in sqrt(f.embedding.reduce(0) { $0 + Double($1) * Double($1) }) }
        func cosine(_ i: Int, _ j: Int) -> Double {
            guard norms[i] > 0, norms[j] > 0, frames[i].embedding.count == frames[j].embedding.count else { return 0 }
            var dot = 0.0
            for (a, b) in zip(frames[i].embedding, frames[j].embedding) { dot += Double(a) * Double(b) }
            return min(1, max(-1, dot / (norms[i] * norms[j])))
        }
        return frames.indices.map { i in
            let own = anchors.filter { $0.frame == i }
            if !own.isEmpty {
                let n = Double(own.count)
                return Label(
                    t: frames[i].t,
                    va: VA(
                        valence: own.reduce(0) { $0 + $1.label.valence } / n,
                        arousal: own.reduce(0) { $0 + $1.label.arousal } / n),
                    confidence: 1, isSupport: true)
            }
            var logits: [Double] = [], closeness: [Double] = []
            for a in anchors {
                let c = cosine(i, a.frame), dt = abs(frames[i].t - frames[a.frame].t)
                logits.append(c / temperature - dt / timeScale)
                closeness.append(exp(-(1 - c) / featureScale - dt / timeScale))
            }
            let top = logits.max()!
            let e = logits.map { exp($0 - top) }
            let total = e.reduce(0, +)
            var v = 0.0, ar = 0.0
            for (k, a) in anchors.enumerated() {
                let w = e[k] / total
                v += w * (a.label.valence + frames[i].predicted.valence - frames[a.frame].predicted.valence)
                ar += w * (a.label.arousal + frames[i].predicted.arousal - frames[a.frame].predicted.arousal)
            }
            return Label(t: frames[i].t, va: VA(valence: v, arousal: ar).clipped, confidence: closeness.max()!, isSupport: false)
        }
    }
}
