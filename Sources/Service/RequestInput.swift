// From an HTTP request to what the Analyzer takes: the media (raw body or multipart part), image
// batches, support sets and the analysis options (query, then an `options` part or member over it).
// Every refusal is a ProblemError with the status design.md gives it.
import Affect
import Foundation
import HTTP
import Media
import Pipeline

enum Work: Sendable {
    case clip(MediaSource)
    case images([ImageInput])
    case label(MediaSource, [SupportSetLabeler.Support])
}

struct ParsedRequest: Sendable {
    var work: Work
    var request: AnalyzeRequest
    var stream: Bool
    /// The options as given (a job stores them), and the values of the `extras` a route asked for.
    var options = AnalysisOptions()
    var extras: [String: String] = [:]
}

struct RequestInput: Sendable {
    let config: ServiceConfig
    let limits: MediaLimits

    static let videoTypes: Set<String> = ["video/mp4", "video/quicktime", "video/webm", "application/octet-stream"]
    static let imageTypes: Set<String> = ["image/jpeg", "image/png"]

    /// /v1/analyze and /v1/jobs: raw video body, or multipart with `file` and optional `options` (JSON object).
    /// `extras` (a job's callback_url, metadata) come from query parameters or parts of those names.
    func clip(_ request: HTTPRequest, allowStream: Bool, extras: [String] = []) throws -> ParsedRequest {
        try request.requireBody()
        let query = try QueryDecoder.parse(request.head.query)
        var found = query.filter { extras.contains($0.key) }
        if request.mediaType == "multipart/form-data" {
            let parts = try request.multipartParts()
            guard let file = parts.first(where: { $0.name == "file" }) else { throw ProblemError(400, "multipart body has no part named \"file\"") }
            let options = try parts.first(where: { $0.name == "options" }).map(optionsPart)
            guard !file.body.isEmpty else { throw ProblemError(400, "the \"file\" part is empty") }
            for p in parts where extras.contains(p.name) { found[p.name] = String(decoding: p.body, as: UTF8.self) }
            var out = try parsed(.clip(.memory(file.body)), request, options, allowStream: allowStream, ignoring: extras)
            out.extras = found
            return out
        }
        guard let type = request.mediaType, Self.videoTypes.contains(type) else {
            throw ProblemError(
                415,
                "Content-Type \(request.head.headers["Content-Type"] ?? "(none)") is not accepted: send video/mp4, video/quicktime, video/webm, application/octet-stream or multipart/form-data"
            )
        }
        var out = try parsed(.clip(try request.bodySource()), request, nil, allowStream: allowStream, ignoring: extras)
        out.extras = found
        return out
    }

    /// /v1/frames: multipart of JPEG/PNG parts (optional `timestamps` part: JSON array of seconds,
    /// optional `options`), or JSON `{"frames": [{"image": base64, "t": seconds?}], "options": {...}?}`.
    func frames(_ request: HTTPRequest) throws -> ParsedRequest {
        try request.requireBody()
        var options: AnalysisOptions? = nil
        var images: [ImageInput] = []
        switch request.mediaType {
        case "multipart/form-data":
            var times: [Double]? = nil
            for p in try request.multipartParts() {
                switch p.name {
                case "options": options = try optionsPart(p)
                case "timestamps":
                    guard let t = try? JSONDecoder().decode([Double].self, from: p.body) else {
                        throw ProblemError(400, "the \"timestamps\" part must be a JSON array of seconds")
                    }
                    times = t
                default:
                    guard let ct = HTTPRequest.mediaType(p.contentType), Self.imageTypes.contains(ct) else {
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
            let batch = try FrameBatch.decode(try request.bodyData())
            options = batch.options
            for (k, item) in batch.frames.enumerated() {
                guard let bytes = Data(base64Encoded: item.image, options: .ignoreUnknownCharacters), !bytes.isEmpty else {
                    throw ProblemError(400, "frames[\(k)].image must be a non-empty base64 JPEG or PNG")
                }
                images.append(ImageInput(source: .memory(bytes), t: item.t))
            }
        default:
            throw ProblemError(
                415, "Content-Type \(request.head.headers["Content-Type"] ?? "(none)") is not accepted: send multipart/form-data of images or application/json")
        }
        guard !images.isEmpty else { throw ProblemError(400, "no images in the request") }
        guard images.count <= config.maxFramesPerBatch else {
            throw ProblemError(413, "\(images.count) images exceed analysis.max_frames_per_batch \(config.maxFramesPerBatch)")
        }
        return try parsed(.images(images), request, options, allowStream: false)
    }

    /// /v1/label: multipart with `file` (the clip), `support` (JSON [{t, valence, arousal}]), optional `options`.
    func label(_ request: HTTPRequest) throws -> ParsedRequest {
        try request.requireBody()
        guard request.mediaType == "multipart/form-data" else {
            throw ProblemError(415, "send multipart/form-data with parts \"file\" (the clip) and \"support\" (JSON [{t, valence, arousal}])")
        }
        let parts = try request.multipartParts()
        guard let file = parts.first(where: { $0.name == "file" }), !file.body.isEmpty else {
            throw ProblemError(400, "multipart body has no non-empty part named \"file\"")
        }
        guard let supportPart = parts.first(where: { $0.name == "support" }) else { throw ProblemError(400, "multipart body has no part named \"support\"") }
        guard let support = try? JSONDecoder().decode([SupportSetLabeler.Support].self, from: supportPart.body) else {
            throw ProblemError(400, "the \"support\" part must be a JSON array of {t, valence, arousal}")
        }
        guard !support.isEmpty, support.allSatisfy({ $0.t.isFinite && $0.t >= 0 && abs($0.valence) <= 1 && abs($0.arousal) <= 1 }) else {
            throw ProblemError(400, "support needs at least one entry with t >= 0 and valence, arousal in [-1, 1]")
        }
        let options = try parts.first(where: { $0.name == "options" }).map(optionsPart)
        return try parsed(.label(.memory(file.body), support), request, options, allowStream: false)
    }

    /// The work with its options: the query's, overridden by those of the body (`options`), checked.
    func parsed(_ work: Work, _ request: HTTPRequest, _ options: AnalysisOptions?, allowStream: Bool, ignoring: [String] = []) throws -> ParsedRequest {
        var merged: AnalysisOptions
        do { merged = try QueryDecoder.decode(AnalysisOptions.self, from: request.head.query, ignoring: ignoring) } catch {
            throw AnalysisOptions.problem(error, source: "the query")
        }
        if let options { merged = merged.overridden(by: options) }
        return ParsedRequest(
            work: work, request: try merged.request(config: config, limits: limits, allowStream: allowStream),
            stream: merged.stream ?? false, options: merged)
    }

    func optionsPart(_ part: MultipartPart) throws -> AnalysisOptions {
        do { return try JSONDecoder().decode(AnalysisOptions.self, from: part.body) } catch {
            throw AnalysisOptions.problem(error, source: "the \"options\" part")
        }
    }
}

/// The JSON form of /v1/frames, decoded in one pass with its options.
struct FrameBatch: Decodable {
    struct Item: Decodable { let image: String; let t: Double? }
    let frames: [Item]
    let options: AnalysisOptions?

    static func decode(_ data: Data) throws -> FrameBatch {
        do { return try JSONDecoder().decode(FrameBatch.self, from: data) } catch let e as DecodingError {
            if e.context?.codingPath.first?.stringValue == "options" { throw AnalysisOptions.problem(e, source: "\"options\"", depth: 1) }
            throw ProblemError(
                400, "JSON body must be an object with frames (a list of objects with image, a base64 JPEG/PNG, and t, seconds) and optional options")
        }
    }
}
