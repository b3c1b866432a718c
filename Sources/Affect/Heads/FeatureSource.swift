import Foundation
import Tensor

/// Where a head's input comes from (docs/model-package.md, "VA head"): the pooled scene embedding
/// of the full frame, the person embedding of the upper-body crop, the face-expression embedding
/// (the expression network's penultimate features), the expression posterior, the package's audio
/// encoder on the sound around the frame time (`AudioEncoder`) and that window's coverage [1]: the
/// fraction of it that is real audio (1 inside the clip's audio, less at its edges, 0 without audio).
public enum FeatureSource: String, Sendable, CaseIterable, Codable {
    case scene, person, face, expression, audio
    case audioCoverage = "audio_coverage"

    /// Parses one entry of a head's `inputs`/`zero_inputs` list; `what` names the list in the error.
    static func parse(_ json: JSON, _ what: String) throws -> FeatureSource {
        guard let s = json.string.flatMap(FeatureSource.init(rawValue:)) else {
            throw AffectModelError("\(what): \(json.serialized) is not one of \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return s
    }
}

/// The per-frame, per-face features a head reads. Only the sources a head requires need be set;
/// the Analyzer runs the scene and person encoders only when some head requires them.
public struct FaceFeatures: Sendable, Equatable {
    public var scene: [Float]?
    public var person: [Float]?
    public var face: [Float]?
    public var expression: [Float]?
    /// The audio encoder's features of the frame's window, and that window's coverage (`[fraction]`).
    public var audio: [Float]?
    public var audioCoverage: [Float]?

    public init(
        scene: [Float]? = nil, person: [Float]? = nil, face: [Float]? = nil, expression: [Float]? = nil,
        audio: AudioFeature? = nil
    ) {
        self.scene = scene; self.person = person; self.face = face; self.expression = expression
        self.audio = audio?.values; self.audioCoverage = audio.map { [$0.coverage] }
    }

    public subscript(source: FeatureSource) -> [Float]? {
        get {
            switch source {
            case .scene: return scene
            case .person: return person
            case .face: return face
            case .expression: return expression
            case .audio: return audio
            case .audioCoverage: return audioCoverage
            }
        }
        set {
            switch source {
            case .scene: scene = newValue
            case .person: person = newValue
            case .face: face = newValue
            case .expression: expression = newValue
            case .audio: audio = newValue
            case .audioCoverage: audioCoverage = newValue
            }
        }
    }
}

/// How a head's raw output is brought into [-1, 1], as the manifest declares: `tanh` (a head trained
/// with a tanh output layer that the network leaves out) or `clip`.
public enum OutputSquash: String, Sendable {
    case tanh, clip

    func apply(_ x: Float) -> Double {
        switch self {
        case .tanh: return Double(x).isFinite ? Foundation.tanh(Double(x)) : VA.clip(Double(x))
        case .clip: return VA.clip(Double(x))
        }
    }
}

public struct AffectModelError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "model package: \(message)" }
}

/// Concatenates the declared sources of each row into one [rows, width] tensor (for networks that
/// take a single feature vector per step), checking every row has every source at the same width.
func featureMatrix(_ rows: [FaceFeatures], _ sources: [FeatureSource], width: Int) throws -> Tensor {
    let t = Tensor(zeros: [rows.count, width])
    for (r, row) in rows.enumerated() {
        var offset = 0
        for s in sources {
            guard let v = row[s] else { throw AffectModelError("features of row \(r) lack \(s.rawValue)") }
            guard offset + v.count <= width else { throw AffectModelError("features of row \(r) are wider than \(width)") }
            (t.data + r * width + offset).update(from: v, count: v.count)
            offset += v.count
        }
        guard offset == width else { throw AffectModelError("features of row \(r) have \(offset) values, the head takes \(width)") }
    }
    return t
}
