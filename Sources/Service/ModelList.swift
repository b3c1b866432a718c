// /v1/models: the loaded package as its manifest declares it (identity, networks, blocks,
// provenance, licenses); built once at start.
import Tensor
import Tensor

struct ModelList: Encodable {
    struct Network: Encodable {
        let name: String
        let file: ManifestValue
    }

    struct Model: Encodable {
        let name: String
        let version: String
        let format: ManifestValue
        let description: ManifestValue
        let networks: [Network]
        let blocks: [String: ManifestValue]
        let provenance: [ManifestValue]
        let licenses: [String]
    }

    let models: [Model]

    init(_ package: ModelPackage) {
        let m = package.manifest
        let provenance = m["provenance"]?.array ?? []
        let model = Model(
            name: package.name, version: package.version,
            format: ManifestValue(m["format"]), description: ManifestValue(m["description"]),
            networks: (m["networks"]?.object ?? [:]).keys.sorted().map { Network(name: $0, file: ManifestValue(m["networks"]?[$0]?["file"])) },
            blocks: ["detector", "affect"].reduce(into: [:]) { blocks, key in if let b = m[key] { blocks[key] = ManifestValue(b) } },
            provenance: provenance.map { ManifestValue($0) },
            licenses: Set(provenance.compactMap { $0["license"]?.string }).sorted())
        models = [model]
    }
}

/// A manifest value written back as JSON; a missing value is null.
struct ManifestValue: Encodable {
    let json: JSON

    init(_ json: JSON?) { self.json = json ?? .null }

    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch json {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let d): if let i = json.int { try c.encode(i) } else { try c.encode(d) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a.map { ManifestValue($0) })
        case .object(let o): try c.encode(o.mapValues { ManifestValue($0) })
        }
    }
}
