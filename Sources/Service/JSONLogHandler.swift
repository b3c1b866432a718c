// One JSON object per log line on stderr (ts, level, label, msg and the metadata, keys sorted as in
// every JSON the service writes). Callers put a request id in metadata and never payloads or keys.
import Affect
import Foundation
import Logging

public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    let label: String
    let sink: @Sendable (String) -> Void

    public init(label: String, level: Logger.Level, sink: @escaping @Sendable (String) -> Void = JSONLogHandler.stderr) {
        self.label = label
        self.logLevel = level
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(
        level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?,
        source: String, file: String, function: String, line: UInt
    ) {
        var fields = metadata
        if let explicit { fields.merge(explicit) { _, new in new } }
        let record = LogRecord(ts: Self.timestamp(), level: level.rawValue, label: label, msg: message.description, metadata: fields)
        guard let json = try? ResultJSON.encode(record) else { return }
        sink(String(decoding: json, as: UTF8.self) + "\n")
    }

    static func timestamp() -> String {
        var tv = timeval()
        gettimeofday(&tv, nil)
        var t = time_t(tv.tv_sec), parts = tm()
        gmtime_r(&t, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
            parts.tm_hour, parts.tm_min, parts.tm_sec, Int(tv.tv_usec) / 1000)
    }

    /// Whole lines with one write(2) each, so lines from many threads never interleave.
    public static let stderr: @Sendable (String) -> Void = { line in
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { buf in
            var off = 0
            while off < buf.count {
                let n = write(2, buf.baseAddress! + off, buf.count - off)
                if n < 0 { if errno == EINTR { continue }; return }
                off += n
            }
        }
    }
}

/// One log line: the four fixed fields, then the metadata (which cannot replace them).
struct LogRecord: Encodable {
    let ts, level, label, msg: String
    let metadata: Logger.Metadata

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingName.self)
        let fixed = ["ts": ts, "level": level, "label": label, "msg": msg]
        for (key, value) in fixed { try c.encode(value, forKey: CodingName(key)) }
        for (key, value) in metadata where fixed[key] == nil { try c.encode(MetadataValue(value), forKey: CodingName(key)) }
    }
}

/// A metadata value as JSON: integers and finite doubles as numbers, everything else as text.
struct MetadataValue: Encodable {
    let value: Logger.Metadata.Value
    init(_ value: Logger.Metadata.Value) { self.value = value }

    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch value {
        case .string(let s): try c.encode(s)
        case .stringConvertible(let v):
            if let n = v as? any BinaryInteger, let i = Int64(exactly: n) {
                try c.encode(i)
            } else if let d = v as? Double, d.isFinite {
                try c.encode(d)
            } else {
                try c.encode(v.description)
            }
        case .array(let a): try c.encode(a.map(MetadataValue.init))
        case .dictionary(let d): try c.encode(d.mapValues(MetadataValue.init))
        }
    }
}
