// The analysis options of openapi.yaml ("Options"). Query parameters (through QueryDecoder), a
// multipart `options` part and the `options` member of a JSON frame batch all decode into this one
// type; `request(config:limits:allowStream:)` is the one place their values are checked.
import Affect
import Foundation
import Media
import Pipeline

struct AnalysisOptions: Decodable, Sendable, Equatable {
    enum Part: String, CaseIterable, Sendable { case frames, faces, expressions, embeddings, audio, blendshapes, pose, landmarks }

    var fps: Double?
    var maxFaces: Int?
    /// nil: the default (frames); empty: summary and persons only.
    var include: Set<Part>?
    var stream: Bool?
    /// "track" or "reuse" (checked in `request`); nil: the service's analyzer default (track).
    var betweenDetections: String?

    enum Key: String, CodingKey, CaseIterable {
        case fps, maxFaces = "max_faces", include, stream, betweenDetections = "between_detections"
    }

    init(fps: Double? = nil, maxFaces: Int? = nil, include: Set<Part>? = nil, stream: Bool? = nil, betweenDetections: String? = nil) {
        self.fps = fps
        self.maxFaces = maxFaces
        self.include = include
        self.stream = stream
        self.betweenDetections = betweenDetections
    }

    init(from decoder: Decoder) throws {
        let names = Key.allCases.map(\.rawValue)
        // A container keyed by Key would silently drop unknown keys: list them by name first.
        if let unknown = try decoder.container(keyedBy: CodingName.self).allKeys.first(where: { !names.contains($0.stringValue) }) {
            throw ProblemError(400, "unknown parameter \"\(unknown.stringValue)\" (\(names.joined(separator: ", ")))")
        }
        let c = try decoder.container(keyedBy: Key.self)
        fps = try c.decodeIfPresent(Double.self, forKey: .fps)
        maxFaces = try c.decodeIfPresent(Int.self, forKey: .maxFaces)
        // Comma-separated text (a query, or a JSON string), or a JSON array of names.
        let items =
            try (try? c.decodeIfPresent(String.self, forKey: .include)).map { $0.split(separator: ",").map(String.init) }
            ?? c.decodeIfPresent([String].self, forKey: .include)
        include = try items.map { try Self.parts($0) }
        betweenDetections = try c.decodeIfPresent(String.self, forKey: .betweenDetections)
        if let s = try c.decodeIfPresent(String.self, forKey: .stream) {
            guard s == "ndjson" else { throw ProblemError(400, "stream must be \"ndjson\"") }
            stream = true
        }
    }

    static func parts(_ items: [String]) throws(ProblemError) -> Set<Part> {
        var parts = Set<Part>()
        for item in items.map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            guard let part = Part(rawValue: item) else {
                throw ProblemError(400, "include: unknown part \"\(item)\" (\(Part.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            parts.insert(part)
        }
        return parts
    }

    /// Options from a later source (an `options` part) override those of an earlier one (the query).
    func overridden(by later: AnalysisOptions) -> AnalysisOptions {
        var o = self
        o.fps = later.fps ?? fps
        o.maxFaces = later.maxFaces ?? maxFaces
        o.include = later.include ?? include
        o.stream = later.stream ?? stream
        o.betweenDetections = later.betweenDetections ?? betweenDetections
        return o
    }

    /// The Analyzer's request: these options checked against the service's bounds, over its defaults.
    func request(config: ServiceConfig, limits: MediaLimits, allowStream: Bool) throws(ProblemError) -> AnalyzeRequest {
        var r = AnalyzeRequest()
        r.sampling = .fps(config.defaultFPS)
        r.maxFaces = config.maxFaces
        r.limits = limits
        if let fps {
            guard fps.isFinite, fps > 0, fps <= config.maxFPS else { throw ProblemError(400, "fps must be a number in (0, \(config.maxFPS)], got \(fps)") }
            r.sampling = .fps(fps)
        }
        if let maxFaces {
            guard (1...config.maxFaces).contains(maxFaces) else {
                throw ProblemError(400, "max_faces must be an integer in 1...\(config.maxFaces), got \(maxFaces)")
            }
            r.maxFaces = maxFaces
        }
        if let include {
            r.includeExpressions = include.contains(.expressions)
            r.includeEmbeddings = include.contains(.embeddings)
            r.includeAudio = include.contains(.audio)
            r.includeBlendshapes = include.contains(.blendshapes)
            r.includePose = include.contains(.pose)
            r.includeMesh = include.contains(.landmarks)
            r.includeFrames = !include.subtracting([.audio]).isEmpty
        }
        switch betweenDetections {
        case nil: break
        case "track": r.tracking = true
        case "reuse": r.tracking = false
        case let other?: throw ProblemError(400, "between_detections must be \"track\" or \"reuse\", got \"\(other)\"")
        }
        if stream == true && !allowStream { throw ProblemError(400, "stream is not available here") }
        return r
    }

    /// A decoding failure as a 400 naming the parameter; `source` says where the options came from,
    /// `depth` how many coding-path entries lead to them. Other errors (ProblemError) pass unchanged.
    static func problem(_ error: Error, source: String, depth: Int = 0) -> Error {
        guard let context = (error as? DecodingError)?.context else { return error }
        guard let key = context.codingPath.dropFirst(depth).first?.stringValue else {
            return ProblemError(400, "\(source) must be a JSON object (\(Key.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return ProblemError(400, "\(source): \(key): \(context.debugDescription)")
    }
}

/// A job's options as the store keeps them (a job never streams).
extension AnalysisOptions: Encodable {
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encodeIfPresent(fps, forKey: .fps)
        try c.encodeIfPresent(maxFaces, forKey: .maxFaces)
        try c.encodeIfPresent(include.map { $0.map(\.rawValue).sorted() }, forKey: .include)
        try c.encodeIfPresent(betweenDetections, forKey: .betweenDetections)
    }
}

extension DecodingError {
    var context: Context? {
        switch self {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c), .dataCorrupted(let c): c
        @unknown default: nil
        }
    }
}
