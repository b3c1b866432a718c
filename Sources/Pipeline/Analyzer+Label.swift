import Affect
import Foundation
import Media

/// The result of `affectd label` / `POST /v1/label`: every sampled frame of the labelled person with
/// its label and confidence (docs/labelling.md).
public struct LabelResult: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public var t: Double
        public var valence: Double
        public var arousal: Double
        public var confidence: Double
        public var support: Bool
    }
    public var model: ModelInfo
    public var media: MediaInfo
    /// The person labelled: the one seen in the most frames (null when nobody is seen).
    public var person: Int?
    public var labels: [Entry]
}

extension Analyzer {
    /// Support-set labelling (after MT-CLAR): analyses the clip with embeddings, then labels every
    /// sampled frame of the main person from its similarity to the support frames (the frames nearest
    /// the labelled timestamps) plus the model's own VA differences.
    public func label(
        _ source: MediaSource, support: [SupportSetLabeler.Support], request: AnalyzeRequest,
        labeler: SupportSetLabeler = .default, isCancelled: () -> Bool = { false }
    ) throws -> LabelResult {
        guard !support.isEmpty else { throw AnalyzerError.invalidRequest("the support set is empty") }
        let analysis = try analyze(
            try MediaReader(source: source, limits: request.limits), request: request, forLabelling: true, onFrame: nil, isCancelled: isCancelled)
        var counts: [Int: Int] = [:]
        for f in analysis.observations { for face in f.faces where face.raw != nil { counts[face.person, default: 0] += 1 } }
        let model = analysis.result.model, media = analysis.result.media
        guard let person = counts.max(by: { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key })?.key else {
            return LabelResult(model: model, media: media, person: nil, labels: [])
        }
        let frames: [SupportSetLabeler.Frame] = analysis.observations.compactMap { f in
            guard let face = f.faces.filter({ $0.person == person && $0.raw != nil }).max(by: { $0.confidence < $1.confidence }),
                let raw = face.raw
            else { return nil }
            return .init(t: f.t, embedding: Self.labelEmbedding(face.features), predicted: raw)
        }
        do {
            let labels = try labeler.label(frames: frames, support: support)
            return LabelResult(
                model: model, media: media, person: person,
                labels: labels.map {
                    .init(t: $0.t, valence: $0.va.valence, arousal: $0.va.arousal, confidence: $0.confidence, support: $0.isSupport)
                })
        } catch let e as SupportSetLabeler.LabelError {
            throw AnalyzerError.invalidRequest(e.description)
        }
    }

    /// The feature a frame is compared by: face-expression and person embeddings, each scaled to unit
    /// length so neither dominates by its width (1280 vs 128 values) alone.
    static func labelEmbedding(_ f: FaceFeatures?) -> [Float] {
        func unit(_ v: [Float]?) -> [Float] {
            guard let v, !v.isEmpty else { return [] }
            let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return n > 0 ? v.map { $0 / n } : v
        }
        return unit(f?.face) + unit(f?.person)
    }
}
