import Tensor

/// A manifest network run on 8-bit images of its declared input size: the caller hands crops
/// already resized (Vision/Media do the geometry); this applies the manifest's normalisation
/// `(x − mean) / std` per channel, batches them and returns the named outputs.
public final class ImageEncoder: Sendable {
    public let name: String
    public let network: Network
    public let height: Int, width: Int, channels: Int
    let mean: [Float], std: [Float]
    let outputIndex: [String: Int]

    public init(manifest: JSON, network name: String, weights: SafeTensorsFile) throws {
        guard let decl = manifest["networks"]?[name], let input = decl["inputs"]?.array?.first else {
            throw AffectModelError("no network \(name) with inputs in the manifest")
        }
        network = try Network(manifest: manifest, network: name, weights: weights)
        self.name = name
        guard network.inputs.count == 1, network.inputs[0].shape.count == 3,
            let h = network.inputs[0].shape[0], let w = network.inputs[0].shape[1], let c = network.inputs[0].shape[2]
        else {
            throw AffectModelError("encoder \(name) must take one image input declared [H, W, C]")
        }
        height = h; width = w; channels = c
        let m = input["normalize"]?["mean"]?.array?.compactMap(\.double).map(Float.init) ?? []
        let s = input["normalize"]?["std"]?.array?.compactMap(\.double).map(Float.init) ?? []
        guard m.count == c, s.count == c, s.allSatisfy({ $0 > 0 }) else {
            throw AffectModelError("encoder \(name): normalize needs \(c) means and \(c) positive stds")
        }
        mean = m; std = s
        outputIndex = Dictionary(uniqueKeysWithValues: network.outputNames.enumerated().map { ($1, $0) })
    }

    public var imageBytes: Int { height * width * channels }

    /// Runs a batch of images (each `imageBytes` bytes, HWC, optionally mirrored left-right) and
    /// returns the requested outputs as heap tensors [N, ...] in the order asked. `arena` is scratch
    /// and is reset before returning: do not hold arena tensors across this call.
    public func run(_ images: [[UInt8]], mirrored: Bool = false, outputs names: [String], arena: Arena) throws -> [Tensor] {
        guard !images.isEmpty else { throw AffectModelError("encoder \(name): empty batch") }
        defer { arena.reset() }
        let slots = try names.map {
            guard let i = outputIndex[$0] else { throw AffectModelError("encoder \(name) has no output \($0)") }
            return i
        }
        let x = Tensor(zeros: [images.count, height, width, channels], layout: .nhwc)
        let inv = std.map { 1 / $0 }
        for (n, img) in images.enumerated() {
            guard img.count == imageBytes else {
                throw AffectModelError("encoder \(name): image \(n) has \(img.count) bytes, expected \(height)x\(width)x\(channels)")
            }
            let dst = x.data + n * imageBytes
            for y in 0..<height {
                for xx in 0..<width {
                    let from = (y * width + (mirrored ? width - 1 - xx : xx)) * channels, to = (y * width + xx) * channels
                    for ch in 0..<channels { dst[to + ch] = (Float(img[from + ch]) - mean[ch]) * inv[ch] }
                }
            }
        }
        let out = try network.run([x], arena: arena)
        return slots.map { out[$0].copy() }
    }
}

/// The face-expression encoder: posterior (`prob`), the embedding for `FeatureSource.face` and, for
/// the confidence, the posterior of the mirrored crop and the crop's sharpness.
public struct ExpressionEncoder: Sendable {
    public let encoder: ImageEncoder

    public struct Output: Sendable, Equatable {
        public var posterior: [Float]
        public var flippedPosterior: [Float]?
        public var embedding: [Float]?
        /// Variance of the Laplacian of the grey crop (see `Sharpness`).
        public var sharpness: Double
    }

    public init(_ encoder: ImageEncoder) throws {
        guard encoder.channels == 1 else { throw AffectModelError("expression encoder \(encoder.name) must take grey crops") }
        self.encoder = encoder
    }

    /// crops: 8-bit grey, the network's input size (fer's crop rule, made by Vision). Resets `arena`.
    public func run(_ crops: [[UInt8]], flip: Bool, embeddings: Bool, arena: Arena) throws -> [Output] {
        let hasEmbedding = embeddings && encoder.network.outputNames.contains("embedding")
        let plain = try encoder.run(crops, outputs: hasEmbedding ? ["prob", "embedding"] : ["prob"], arena: arena)
        let mirrored = flip ? try encoder.run(crops, mirrored: true, outputs: ["prob"], arena: arena)[0] : nil
        func row(_ t: Tensor, _ n: Int) -> [Float] {
            let w = t.count / t.dim(0)
            return Array(UnsafeBufferPointer(start: t.data + n * w, count: w))
        }
        return crops.indices.map { n in
            Output(
                posterior: row(plain[0], n), flippedPosterior: mirrored.map { row($0, n) },
                embedding: hasEmbedding ? row(plain[1], n) : nil,
                sharpness: Sharpness.laplacianVariance(grey: crops[n], width: encoder.width, height: encoder.height))
        }
    }
}
