import Foundation

/// The confidence of one face in one frame, from the evidence the frame itself gives
/// (docs/confidence.md): detection probability, face size, sharpness, the certainty of the
/// expression posterior and its agreement under a horizontal flip. Each factor is in [0, 1] and
/// non-decreasing in its evidence; the confidence is their product, each raised to a declared
/// exponent (≤ 1 softens a noisy signal), so it is monotone in every factor and 0 when any factor
/// is 0. An unseen face has no signals and confidence 0.
public struct FaceConfidence: Sendable, Equatable {
    /// Faces at or below this size (pixels, the box's shorter side) carry no usable expression:
    /// P-Net's 12-px window, the smallest face any MTCNN configuration can return.
    public var minFaceSize: Double = 12
    /// From this size on the face fills the expression network's input (64x64): no gain above.
    public var fullFaceSize: Double = 64
    /// Variance of the Laplacian (grey 0..255, on the 64x64 network crop) at which sharpness is 0.5.
    /// Measured (tools/measure_face_sharpness.py): clear faces of the test media 1150–4650, the
    /// same crops after a 5x5 box blur 37–142; 300 puts them at ≥ 0.79 and ≤ 0.32.
    public var sharpnessHalf: Double = 300
    /// Exponents of the factors in the product.
    public var detectionWeight: Double = 1
    public var sizeWeight: Double = 1
    public var sharpnessWeight: Double = 0.5
    public var certaintyWeight: Double = 0.5
    public var agreementWeight: Double = 1
    public var visibleWeight: Double = 2

    public static let `default` = FaceConfidence()

    public init() {}

    /// What one face in one frame offers as evidence.
    public struct Signals: Sendable, Equatable {
        /// The detector's face probability (MTCNN O-Net), 0...1.
        public var detection: Double
        /// The shorter side of the face box, in pixels of the frame.
        public var faceSize: Double
        /// Variance of the Laplacian of the grey face crop (see `Sharpness`).
        public var sharpness: Double
        /// The expression posterior of the crop.
        public var posterior: [Float]
        /// The posterior of the horizontally flipped crop; nil when no flip pass ran.
        public var flippedPosterior: [Float]?
        /// The share of the crop that shows the frame (the rest is padding), 0...1.
        public var visible: Double

        public init(
            detection: Double, faceSize: Double, sharpness: Double, posterior: [Float], flippedPosterior: [Float]? = nil,
            visible: Double = 1
        ) {
            self.detection = detection; self.faceSize = faceSize; self.sharpness = sharpness
            self.posterior = posterior; self.flippedPosterior = flippedPosterior; self.visible = visible
        }
    }

    public struct Factors: Sendable, Equatable {
        public var detection: Double
        public var size: Double
        public var sharpness: Double
        /// 1 − entropy / log K.
        public var certainty: Double
        /// 1 − total variation distance between the plain and flipped posteriors (1 without a flip pass).
        public var agreement: Double
        public var confidence: Double
    }

    public func factors(_ s: Signals) -> Factors {
        let detection = unit(s.detection)
        let size = unit((s.faceSize - minFaceSize) / (fullFaceSize - minFaceSize))
        let v = s.sharpness.isFinite ? max(0, s.sharpness) : 0
        let sharpness = v / (v + sharpnessHalf)
        let p = Self.normalised(s.posterior)
        let certainty = p.count > 1 ? unit(1 - Self.entropy(p) / log(Double(p.count))) : 0
        var agreement = 1.0
        if let flipped = s.flippedPosterior {
            let q = Self.normalised(flipped)
            agreement = q.count == p.count ? unit(1 - 0.5 * zip(p, q).reduce(0) { $0 + abs($1.0 - $1.1) }) : 0
        }
        var c = 1.0
        for (f, w) in [
            (detection, detectionWeight), (size, sizeWeight), (sharpness, sharpnessWeight),
            (certainty, certaintyWeight), (agreement, agreementWeight), (unit(s.visible), visibleWeight),
        ] {
            c *= f <= 0 ? 0 : pow(f, w)
        }
        return Factors(
            detection: detection, size: size, sharpness: sharpness, certainty: certainty,
            agreement: agreement, confidence: unit(c))
    }

    public func confidence(_ s: Signals?) -> Double { s.map { factors($0).confidence } ?? 0 }

    func unit(_ x: Double) -> Double { x.isNaN ? 0 : min(1, max(0, x)) }

    /// Negative and non-finite entries count as 0; an all-zero posterior stays all zero.
    static func normalised(_ p: [Float]) -> [Double] {
        let d = p.map { $0.isFinite && $0 > 0 ? Double($0) : 0 }
        let total = d.reduce(0, +)
        return total > 0 ? d.map { $0 / total } : d
    }

    /// Shannon entropy in nats; an all-zero posterior counts as uniform (it says nothing).
    static func entropy(_ p: [Double]) -> Double {
        guard p.contains(where: { $0 > 0 }) else { return log(Double(max(p.count, 1))) }
        return -p.reduce(0) { $0 + ($1 > 0 ? $1 * log($1) : 0) }
    }
}

/// Sharpness of a grey crop: the variance of its 4-neighbour Laplacian over interior pixels
/// (Pech-Pacheco et al. 2000). Blur removes high frequencies and so lowers it; compute it on the
/// crop the expression network sees (64x64), so it does not depend on the face's size in the frame.
public enum Sharpness {
    public static func laplacianVariance(grey: [UInt8], width: Int, height: Int) -> Double {
        guard width >= 3, height >= 3, grey.count >= width * height else { return 0 }
        var sum = 0.0, sq = 0.0
        for y in 1..<(height - 1) {
            for x in 1..<(width - 1) {
                let i = y * width + x
                let l = Double(grey[i - 1]) + Double(grey[i + 1]) + Double(grey[i - width]) + Double(grey[i + width]) - 4 * Double(grey[i])
                sum += l; sq += l * l
            }
        }
        let n = Double((width - 2) * (height - 2))
        return max(0, sq / n - (sum / n) * (sum / n))
    }
}

/// Confidence of a track or a clip from the temporal model's posterior variance: 1 − variance /
/// prior variance, clipped to [0, 1] (the prior variance is what knowing nothing leaves: VA
/// uniform on [-1, 1], 1/3). Nothing observed → 0.
public enum PosteriorConfidence {
    public static func of(variance: VA, priorVariance: Double) -> Double {
        let v = 0.5 * (variance.valence + variance.arousal)
        guard v.isFinite, priorVariance > 0 else { return 0 }
        return min(1, max(0, 1 - v / priorVariance))
    }

    /// The mean over a track's estimates (nil entries are frames without one and are left out).
    public static func track(_ estimates: [KalmanSmoother.Estimate?], priorVariance: Double) -> Double {
        let known = estimates.compactMap { $0 }
        guard !known.isEmpty else { return 0 }
        return known.reduce(0) { $0 + of(variance: $1.variance, priorVariance: priorVariance) } / Double(known.count)
    }
}
