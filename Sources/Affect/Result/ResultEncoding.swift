import Foundation

/// JSON for results: compact, keys sorted (stable output for diffs and tests), `/` unescaped.
public enum ResultJSON {
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    public static func encode<T: Encodable>(_ value: T) throws -> Data { try encoder().encode(value) }
}

/// One line of an NDJSON stream (`stream=ndjson`): each analysed frame as it is computed
/// (`{"type": "frame", "t": ..., "faces": [...]}`), then one summary line
/// (`{"type": "summary", "model": ..., "media": ..., "summary": ..., "persons": [...]}`).
/// A line is compact JSON (no raw newlines inside) followed by "\n".
public enum StreamLine: Encodable, Sendable {
    case frame(FrameResult)
    case summary(AnalysisResult)

    enum TypeKey: String, CodingKey { case type }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: TypeKey.self)
        switch self {
        case .frame(let f):
            try c.encode("frame", forKey: .type)
            try f.encode(to: encoder)
        case .summary(var r):
            try c.encode("summary", forKey: .type)
            r.frames = nil
            try r.encode(to: encoder)
        }
    }

    /// The line's bytes, newline-terminated.
    public func ndjson() throws -> Data {
        var d = try ResultJSON.encode(self)
        d.append(0x0A)
        return d
    }
}
