// The messages of /v1/stream (openapi.yaml, "x-websocket"): what a client may send (binary frames,
// JSON control messages), parsed strictly, and what the server answers. A message that breaks
// the protocol is a StreamViolation carrying the close code it ends the session with.
import Foundation
import HTTP

struct StreamViolation: Error, Equatable {
    let code: WebSocketCloseCode
    let reason: String
    /// 1003: a binary message that is not a frame.
    static func unsupported(_ reason: String) -> Self { Self(code: .unsupportedData, reason: reason) }
    /// 1008: a control message (or a frame time) the protocol does not allow.
    static func policy(_ reason: String) -> Self { Self(code: .policyViolation, reason: reason) }
}

/// A binary message: an 8-byte big-endian IEEE 754 double (seconds, on the client's clock), then
/// the bytes of one JPEG or PNG.
struct StreamFrame: Equatable {
    let t: Double
    let image: Data

    static let headerBytes = 8

    static func parse(_ bytes: [UInt8]) throws(StreamViolation) -> StreamFrame {
        let format = "a frame is an 8-byte big-endian float64 time followed by a JPEG or PNG"
        guard bytes.count > headerBytes else { throw .unsupported("frame too short: \(format)") }
        let t = Double(bitPattern: bytes.prefix(headerBytes).reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        guard t.isFinite, t >= 0 else { throw .policy("frame time must be a finite number >= 0") }
        let image = bytes[headerBytes...]
        let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF], png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard image.starts(with: jpeg) || image.starts(with: png) else { throw .unsupported("frame image is neither JPEG nor PNG: \(format)") }
        return StreamFrame(t: t, image: Data(image))
    }
}

/// What a session analyses with; changed by `options` messages.
struct StreamOptions: Equatable, Encodable {
    /// Frames per second analysed at most (by frame times; frames closer together are skipped).
    var fps: Double?
    var maxFaces: Int
    var expressions = false

    enum CodingKeys: String, CodingKey { case fps, maxFaces = "max_faces", include }
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(fps, forKey: .fps)
        try c.encode(maxFaces, forKey: .maxFaces)
        try c.encode(expressions ? ["expressions"] : [], forKey: .include)
    }
}

/// A text message from the client: a JSON object with a `type`.
enum StreamControl: Equatable {
    case options(StreamOptions)
    case resume(token: String)
    case end

    /// Parses `text` strictly (unknown types, unknown keys and values out of range are refused);
    /// `options` starts from `current` and is bounded by the service's `maxFPS` and `maxFaces`.
    static func parse(_ text: String, current: StreamOptions, maxFPS: Double, maxFaces: Int) throws(StreamViolation) -> StreamControl {
        guard case .object(let object)? = JSONValue.parse(text) else {
            throw .policy("a control message is a JSON object")
        }
        guard case .string(let type)? = object["type"] else { throw .policy("a control message needs a string \"type\"") }
        func only(_ keys: Set<String>) throws(StreamViolation) {
            if let extra = Set(object.keys).subtracting(keys.union(["type"])).sorted().first {
                throw .policy("\(type): unknown key \"\(extra)\"")
            }
        }
        switch type {
        case "end":
            try only([])
            return .end
        case "resume":
            try only(["state"])
            guard case .string(let token)? = object["state"] else { throw .policy("resume: \"state\" must be the token string") }
            return .resume(token: token)
        case "options":
            try only(["fps", "max_faces", "include"])
            var options = current
            switch object["fps"] {
            case nil: break
            case .null?: options.fps = nil
            case let v? where v.number.map { $0 > 0 && $0 <= maxFPS } == true: options.fps = v.number
            default: throw .policy("options: fps must be a number in (0, \(maxFPS)] or null")
            }
            switch object["max_faces"] {
            case nil: break
            case let v? where v.number.map { $0 == $0.rounded() && $0 >= 1 && $0 <= Double(maxFaces) } == true:
                options.maxFaces = Int(v.number!)
            default: throw .policy("options: max_faces must be an integer in 1...\(maxFaces)")
            }
            switch object["include"] {
            case nil: break
            case .array(let items)? where items.allSatisfy({ $0 == .string("expressions") }): options.expressions = !items.isEmpty
            default: throw .policy("options: include must be a list of \"expressions\" (or empty)")
            }
            return .options(options)
        default:
            throw .policy("unknown control message type \"\(type)\"")
        }
    }
}

// MARK: - server to client

struct StreamReady: Encodable {
    let type = "ready"
    let model: [String: String]
    let options: StreamOptions
    let limits: Limits
    struct Limits: Encodable {
        let maxMessageBytes: Int
        let maxPixels: Int
        let idleTimeout: Double
        enum CodingKeys: String, CodingKey { case maxMessageBytes = "max_message_bytes", maxPixels = "max_pixels", idleTimeout = "idle_timeout" }
    }
}

struct StreamOptionsAck: Encodable {
    let type = "options"
    let options: StreamOptions
}

struct StreamCounts: Encodable, Equatable {
    /// Frames analysed so far.
    var analysed = 0
    /// Frames replaced by a newer one before a worker took them (the server keeps only the newest).
    var dropped = 0
    /// Frames skipped by the session's fps cap.
    var skipped = 0
    /// Estimates not sent because the client was not reading (WebSocket backpressure).
    var unsent = 0
}

struct StreamEstimate: Encodable {
    let type = "estimate"
    let t: Double
    let persons: [Person]
    /// Milliseconds from the frame's arrival at the server to this message.
    let latencyMs: Double
    let detected: Bool
    let counts: StreamCounts

    struct Person: Encodable {
        let id: Int
        let box: [Double]
        let valence: Double?
        let arousal: Double?
        let confidence: Double
        let expression: [String: Double]?
        enum CodingKeys: String, CodingKey { case id, box, valence, arousal, confidence, expression }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(box, forKey: .box)
            try c.encode(valence, forKey: .valence)
            try c.encode(arousal, forKey: .arousal)
            try c.encode(confidence, forKey: .confidence)
            try c.encodeIfPresent(expression, forKey: .expression)
        }
    }

    enum CodingKeys: String, CodingKey { case type, t, persons, latencyMs = "latency_ms", detected, counts }
}

struct StreamState: Encodable {
    let type = "state"
    let state: String
    let counts: StreamCounts
}

struct StreamError: Encodable {
    let type = "error"
    let code: Int
    let detail: String
}

enum StreamJSON {
    static func encode(_ message: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(message), as: UTF8.self)
    }
}
