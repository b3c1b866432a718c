// One JSON object per log line on stderr (ts, level, label, msg, metadata). Callers put a
// request id in metadata and never payloads or keys.
import Foundation
import HTTP
import Logging
import Synchronization

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

    public func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?,
                    source: String, file: String, function: String, line: UInt) {
        var fields = metadata
        if let explicit { fields.merge(explicit) { _, new in new } }
        var out = "{\"ts\":\(jsonString(Self.timestamp())),\"level\":\(jsonString(level.rawValue)),\"label\":\(jsonString(label)),\"msg\":\(jsonString(message.description))"
        for key in fields.keys.sorted() where !["ts", "level", "label", "msg"].contains(key) {
            out += ",\(jsonString(key)):\(Self.encode(fields[key]!))"
        }
        sink(out + "}\n")
    }

    static func encode(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let s): return jsonString(s)
        case .stringConvertible(let c):
            if let n = c as? any BinaryInteger { return "\(n)" }
            if let d = c as? Double, d.isFinite { return "\(d)" }
            return jsonString(c.description)
        case .array(let a): return "[" + a.map(encode).joined(separator: ",") + "]"
        case .dictionary(let d): return "{" + d.keys.sorted().map { "\(jsonString($0)):\(encode(d[$0]!))" }.joined(separator: ",") + "}"
        }
    }

    static func timestamp() -> String {
        var tv = timeval()
        gettimeofday(&tv, nil)
        var t = time_t(tv.tv_sec), parts = tm()
        gmtime_r(&t, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
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
