import Foundation
import Tensor

/// The affect part of a model package (docs/model-package.md): the manifest's `affect` section —
/// VA head and temporal model — with the networks they name, loaded from the package directory.
/// Immutable after loading; shared by all workers (each brings its own Arena).
public final class AffectModel: Sendable {
    public let name: String
    public let version: String
    public let vaHead: VAHead
    public let temporal: TemporalModel
    /// The encoders named by `affect.encoders` (nil in packages that only carry heads).
    public let expression: ExpressionEncoder?
    /// Scene and person encoder (EfficientNet-Lite0 in the default package; the same network serves both there).
    public let scene: ImageEncoder?
    public let person: ImageEncoder?
    /// The audio feature source (`affect.audio`; nil: no head reads audio).
    public let audio: AudioEncoder?

    /// The feature sources some head needs: the Analyzer skips the encoders of the others.
    public var requiredSources: Set<FeatureSource> {
        var s = vaHead.requiredSources
        if case .network(let h) = temporal { s.formUnion(h.usedSources) }
        return s
    }

    /// Whether some head reads the audio feature or its coverage: the Analyzer then decodes the clip's
    /// audio and runs the head once the audio is there (`AudioEncoder`).
    public var readsAudio: Bool { !requiredSources.isDisjoint(with: [.audio, .audioCoverage]) }

    /// The affect section of a loaded package (whose files `ModelPackage` has already checked).
    public init(package: ModelPackage) throws {
        let manifest = package.manifest
        guard let affect = manifest["affect"], let head = affect["va_head"] else {
            throw AffectModelError("manifest has no affect.va_head section")
        }
        func network(_ n: String) throws -> Network {
            try Network(manifest: manifest, network: n, weights: try package.weightFile(forNetwork: n))
        }
        func encoder(_ role: String) throws -> ImageEncoder? {
            guard let n = affect["encoders"]?[role]?.string else { return nil }
            return try ImageEncoder(manifest: manifest, network: n, weights: try package.weightFile(forNetwork: n))
        }
        name = package.name
        version = package.version
        vaHead = try VAHead(json: head, networks: network)
        temporal = try TemporalModel(json: affect["temporal"], networks: network)
        expression = try encoder("expression").map(ExpressionEncoder.init)
        scene = try encoder("scene")
        person = affect["encoders"]?["person"]?.string == affect["encoders"]?["scene"]?.string ? scene : try encoder("person")
        audio = try affect["audio"].map { try AudioEncoder(json: $0, networks: network) }
        try checkAudioWidths()
    }

    /// A head that reads audio needs the audio section, at the width its encoder gives.
    private func checkAudioWidths() throws {
        guard readsAudio else { return }
        guard let audio else { throw AffectModelError("a head reads audio but the manifest has no affect.audio section") }
        var declared: [(FeatureSource, Int)] = []
        if case .network(let h) = vaHead.kind { declared += zip(h.sources, h.widths).map { ($0, $1) } }
        for (source, width) in declared where source == .audio && width != audio.width || source == .audioCoverage && width != 1 {
            throw AffectModelError("va_head input \(source.rawValue) is declared [\(width)], the audio section gives \(source == .audio ? audio.width : 1)")
        }
    }
}
