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

    /// The feature sources some head needs: the Analyzer skips the encoders of the others.
    public var requiredSources: Set<FeatureSource> {
        var s = vaHead.requiredSources
        if case .network(let h) = temporal { s.formUnion(h.usedSources) }
        return s
    }

    public init(manifest: JSON, weightFile: (String) throws -> SafeTensorsFile) throws {
        guard manifest["format"]?.string == "affectd-model/1" else { throw AffectModelError("format must be \"affectd-model/1\"") }
        guard let name = manifest["name"]?.string, let version = manifest["version"]?.string else {
            throw AffectModelError("manifest needs a name and a version")
        }
        guard let affect = manifest["affect"], let head = affect["va_head"] else {
            throw AffectModelError("manifest has no affect.va_head section")
        }
        func network(_ n: String) throws -> Network {
            guard let decl = manifest["networks"]?[n], let file = decl["file"]?.string else {
                throw AffectModelError("no network \(n) (with a \"file\") in the manifest")
            }
            return try Network(manifest: manifest, network: n, weights: try weightFile(file))
        }
        func encoder(_ role: String) throws -> ImageEncoder? {
            guard let n = affect["encoders"]?[role]?.string else { return nil }
            guard let file = manifest["networks"]?[n]?["file"]?.string else { throw AffectModelError("encoder \(role): no network \(n) with a file") }
            return try ImageEncoder(manifest: manifest, network: n, weights: try weightFile(file))
        }
        self.name = name
        self.version = version
        vaHead = try VAHead(json: head, networks: network)
        temporal = try TemporalModel(json: affect["temporal"], networks: network)
        expression = try encoder("expression").map(ExpressionEncoder.init)
        scene = try encoder("scene")
        person = affect["encoders"]?["person"]?.string == affect["encoders"]?["scene"]?.string ? scene : try encoder("person")
    }

    /// Loads `<directory>/manifest.json` and the weight files it names (memory-mapped, opened once).
    public convenience init(directory: String) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: directory).appendingPathComponent("manifest.json")) }
        catch { throw AffectModelError("cannot read \(directory)/manifest.json: \(error.localizedDescription)") }
        let manifest = try JSON(bytes: data)
        var open: [String: SafeTensorsFile] = [:]
        try self.init(manifest: manifest, weightFile: { file in
            guard !file.contains(".."), !file.hasPrefix("/") else { throw AffectModelError("weight file \(file) is outside the package") }
            if let f = open[file] { return f }
            let f = try SafeTensorsFile(path: directory + "/" + file)
            open[file] = f
            return f
        })
    }
}
