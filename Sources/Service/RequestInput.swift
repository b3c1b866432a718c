// From an HTTP request to what the Analyzer takes: the media (raw body or multipart part), the
// analysis options (query string, or a multipart `options` part), image batches and support sets.
// Every refusal is a ProblemError with the status design.md gives it.
import Affect
import Foundation
import HTTP
import Media
import Pipeline

struct ProblemError: Error, Sendable {
    let status: Int
    let detail: String
    init(_ status: Int, _ detail: String) { self.status = status; self.detail = detail }
}

/// Options of one analysis as the API names them.
struct AnalysisOptions: Sendable {
    var request: AnalyzeRequest
    var stream = false
}

enum Work: Sendable {
    case clip(MediaSource)
    case images([ImageInput])
    case label(MediaSource, [SupportSetLabeler.Support])
}

struct ParsedRequest: Sendable {
    var work: Work
    var options: AnalysisOptions
}

enum RequestInput {
    static let videoTypes: Set<String> = ["video/mp4", "video/quicktime", "video/webm", "application/octet-stream"]
    static let imageTypes: Set<String> = ["image/jpeg", "image/png"]
    static let queryKeys: Set<String> = ["fps", "max_faces", "include", "stream"]

    /// `application/json; charset=x` -> `application/json`.
    static func mediaType(_ header: String?) -> String? {
        header.map { $0.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? "" }
    }

    static func parseQuery(_ query: Substring?) throws -> [(String, String)] {
        guard let query, !query.isEmpty else { return [] }
        return try query.split(separator: "&").map { pair in
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let k = percentDecode(kv[0]), let v = percentDecode(kv.count > 1 ? kv[1] : "") else {
                throw ProblemError(400, "query parameter \(pair) is not valid percent-encoding")
            }
            return (k, v)
        }
    }

    static func percentDecode(_ s: Substring) -> String? {
        (s.replacingOccurrences(of: "+", with: " ")).removingPercentEncoding
    }

    /// Applies API options (from the query or an `options` part) over the service defaults.
    static func options(_ pairs: [(String, String)], config: ServiceConfig, limits: MediaLimits, allowStream: Bool) throws -> AnalysisOptions {
        var r = AnalyzeRequest()
        r.sampling = .fps(config.defaultFPS)
        r.maxFaces = config.maxFaces
        r.limits = limits
        var o = AnalysisOptions(request: r)
        for (key, value) in pairs {
            switch key {
            case "fps":
                guard let f = Double(value), f.isFinite, f > 0, f <= config.maxFPS else {
                    throw ProblemError(400, "fps must be a number in (0, \(config.maxFPS)], got \"\(value)\"")
                }
                o.request.sampling = .fps(f)
            case "max_faces":
                guard let n = Int(value), (1...config.maxFaces).contains(n) else {
                    throw ProblemError(400, "max_faces must be an integer in 1...\(config.maxFaces), got \"\(value)\"")
                }
                o.request.maxFaces = n
            case "include":
                o.request.includeFrames = false
                for item in value.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
                    switch item {
                    case "frames", "faces": o.request.includeFrames = true
                    case "expressions": o.request.includeExpressions = true; o.request.includeFrames = true
                    case "embeddings": o.request.includeEmbeddings = true; o.request.includeFrames = true
                    default: throw ProblemError(400, "include: unknown part \"\(item)\" (frames, faces, expressions, embeddings)")
                    }
                }
            case "stream":
                guard value == "ndjson", allowStream else { throw ProblemError(400, allowStream ? "stream must be \"ndjson\"" : "stream is not available here") }
                o.stream = true
            default:
                throw ProblemError(400, "unknown parameter \"\(key)\" (fps, max_faces, include, stream)")
            }
        }
        return o
    }

    /// The request body as one source: in memory, or the server's spooled file.
    static func bodySource(_ body: HTTPRequestBody) throws -> MediaSource {
        switch body {
        case .empty: throw ProblemError(400, "the request body is empty: send the media as the body")
        case .bytes(let b): return .memory(Data(b))
        case .file(let path, _): return .file(path)
        }
    }

    static func bodyData(_ body: HTTPRequestBody) throws -> Data {
        switch body {
        case .empty: return Data()
        case .bytes(let b): return Data(b)
        case .file(let path, _):
            guard let d = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
                throw ProblemError(500, "the spooled request body could not be read")
            }
            return d
        }
    }

    static func requireBody(_ request: HTTPRequest) throws {
        if case .none = request.head.framing {
            throw ProblemError(411, "a body is required: send Content-Length or Transfer-Encoding: chunked")
        }
    }

    /// /v1/analyze and /v1/jobs: raw video body, or multipart with `file` and optional `options` (JSON object).
    static func clip(_ request: HTTPRequest, config: ServiceConfig, limits: MediaLimits, allowStream: Bool) throws -> ParsedRequest {
        try requireBody(request)
        var pairs = try parseQuery(request.head.query)
        let type = mediaType(request.head.headers["Content-Type"])
        if type == "multipart/form-data" {
            let parts = try multipart(request)
            guard let file = parts.first(where: { $0.name == "file" }) else { throw ProblemError(400, "multipart body has no part named \"file\"") }
            if let opts = parts.first(where: { $0.name == "options" }) { pairs += try optionPairs(opts.body) }
            guard !file.body.isEmpty else { throw ProblemError(400, "the \"file\" part is empty") }
            return ParsedRequest(work: .clip(.memory(file.body)), options: try options(pairs, config: config, limits: limits, allowStream: allowStream))
        }
        guard let type, videoTypes.contains(type) else {
            throw ProblemError(415, "Content-Type \(request.head.headers["Content-Type"] ?? "(none)") is not accepted: send video/mp4, video/quicktime, video/webm, application/octet-stream or multipart/form-data")
        }
        let o = try options(pairs, config: config, limits: limits, allowStream: allowStream)
        return ParsedRequest(work: .clip(try bodySource(request.body)), options: o)
    }

    /// /v1/frames: multipart of JPEG/PNG parts (optional `timestamps` part: JSON array of seconds,
    /// optional `options`), or JSON `{"frames": [{"image": base64, "t": seconds?}], "options": {...}?}`.
    static func frames(_ request: HTTPRequest, config: ServiceConfig, limits: MediaLimits) throws -> ParsedRequest {
        try requireBody(request)
        var pairs = try parseQuery(request.head.query)
        var images: [ImageInput] = []
        switch mediaType(request.head.headers["Content-Type"]) {
        case "multipart/form-data":
            let parts = try multipart(request)
            var times: [Double]? = nil
            for p in parts {
                switch p.name {
                case "options": pairs += try optionPairs(p.body)
                case "timestamps":
                    guard let t = try? JSONSerialization.jsonObject(with: p.body) as? [NSNumber] else {
                        throw ProblemError(400, "the \"timestamps\" part must be a JSON array of seconds")
                    }
                    times = t.map(\.doubleValue)
                default:
                    guard let ct = mediaType(p.contentType), imageTypes.contains(ct) else {
                        throw ProblemError(415, "part \"\(p.name)\" has Content-Type \(p.contentType ?? "(none)"): frames are image/jpeg or image/png")
                    }
                    images.append(ImageInput(source: .memory(p.body)))
                }
            }
            if let times {
                guard times.count == images.count else { throw ProblemError(400, "\(times.count) timestamps for \(images.count) images") }
                for i in images.indices { images[i].t = times[i] }
            }
        case "application/json":
            struct Item: Decodable { let image: String; let t: Double? }
            struct Body: Decodable { let frames: [Item] }
            let data = try bodyData(request.body)
            guard let body = try? JSONDecoder().decode(Body.self, from: data) else {
                throw ProblemError(400, "JSON body must be {\"frames\": [{\"image\": \"<base64 JPEG/PNG>\", \"t\": seconds}], \"options\": {...}}")
            }
            if let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let o = root["options"] {
                // Re-serialise only an object: JSONSerialization traps on anything else at the top level.
                guard let object = o as? [String: Any], JSONSerialization.isValidJSONObject(object),
                      let encoded = try? JSONSerialization.data(withJSONObject: object) else {
                    throw ProblemError(400, "\"options\" must be a JSON object (fps, max_faces, include)")
                }
                pairs += try optionPairs(encoded)
            }
            for (k, item) in body.frames.enumerated() {
                guard let bytes = Data(base64Encoded: item.image, options: .ignoreUnknownCharacters), !bytes.isEmpty else {
                    throw ProblemError(400, "frames[\(k)].image must be a non-empty base64 JPEG or PNG")
                }
                images.append(ImageInput(source: .memory(bytes), t: item.t))
            }
        default:
            throw ProblemError(415, "Content-Type \(request.head.headers["Content-Type"] ?? "(none)") is not accepted: send multipart/form-data of images or application/json")
        }
        guard !images.isEmpty else { throw ProblemError(400, "no images in the request") }
        guard images.count <= config.maxFramesPerBatch else {
            throw ProblemError(413, "\(images.count) images exceed analysis.max_frames_per_batch \(config.maxFramesPerBatch)")
        }
        return ParsedRequest(work: .images(images), options: try options(pairs, config: config, limits: limits, allowStream: false))
    }

    /// /v1/label: multipart with `file` (the clip), `support` (JSON [{t, valence, arousal}]), optional `options`.
    static func label(_ request: HTTPRequest, config: ServiceConfig, limits: MediaLimits) throws -> ParsedRequest {
        try requireBody(request)
        var pairs = try parseQuery(request.head.query)
        guard mediaType(request.head.headers["Content-Type"]) == "multipart/form-data" else {
            throw ProblemError(415, "send multipart/form-data with parts \"file\" (the clip) and \"support\" (JSON [{t, valence, arousal}])")
        }
        let parts = try multipart(request)
        guard let file = parts.first(where: { $0.name == "file" }), !file.body.isEmpty else { throw ProblemError(400, "multipart body has no non-empty part named \"file\"") }
        guard let supportPart = parts.first(where: { $0.name == "support" }) else { throw ProblemError(400, "multipart body has no part named \"support\"") }
        let support: [SupportSetLabeler.Support]
        do { support = try JSONDecoder().decode([SupportSetLabeler.Support].self, from: supportPart.body) } catch {
            throw ProblemError(400, "the \"support\" part must be a JSON array of {t, valence, arousal}")
        }
        guard !support.isEmpty, support.allSatisfy({ $0.t.isFinite && $0.t >= 0 && abs($0.valence) <= 1 && abs($0.arousal) <= 1 }) else {
            throw ProblemError(400, "support needs at least one entry with t >= 0 and valence, arousal in [-1, 1]")
        }
        if let opts = parts.first(where: { $0.name == "options" }) { pairs += try optionPairs(opts.body) }
        return ParsedRequest(work: .label(.memory(file.body), support), options: try options(pairs, config: config, limits: limits, allowStream: false))
    }

    static func multipart(_ request: HTTPRequest) throws -> [MultipartPart] {
        guard let boundary = Multipart.boundary(contentType: request.head.headers["Content-Type"] ?? "") else {
            throw ProblemError(400, "multipart/form-data needs a boundary parameter")
        }
        do { return try Multipart.parse(try bodyData(request.body), boundary: boundary) } catch let e as MultipartError {
            throw ProblemError(400, e.description)
        }
    }

    /// An `options` part: a JSON object with the query's keys.
    static func optionPairs(_ data: Data) throws -> [(String, String)] {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ProblemError(400, "the \"options\" part must be a JSON object (fps, max_faces, include)")
        }
        return object.keys.sorted().map { key in
            let v = object[key]!
            if let list = v as? [String] { return (key, list.joined(separator: ",")) }
            return (key, "\(v)")
        }
    }
}
