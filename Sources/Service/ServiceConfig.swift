// Every setting of `affectd serve`, with its default, its YAML key, its environment variable and
// its parser. config/affectd.yaml documents the same table; a test checks the two agree.
import Foundation
import Yams

public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public let key: String
    public let message: String
    public init(key: String, _ message: String) { self.key = key; self.message = message }
    public var description: String { "config: \(key): \(message)" }
}

public struct ServiceConfig: Sendable, Equatable {
    // server
    public var host = "127.0.0.1"
    public var port = 8080
    public var maxConnections = 1024
    public var tlsCert = ""
    public var tlsKey = ""
    public var gzip = true
    // HTTP limits
    public var maxBodyBytes = 256 << 20
    public var maxInMemoryBodyBytes = 1 << 20
    public var maxRequestLineBytes = 8 << 10
    public var maxHeaderBytes = 32 << 10
    public var maxHeaderCount = 100
    public var headerTimeout = 10.0
    public var bodyTimeout = 30.0
    public var idleTimeout = 60.0
    public var writeTimeout = 30.0
    public var temporaryDirectory = "/tmp"
    // media limits
    public var mediaMaxDuration = 600.0
    public var mediaMaxPixels = 8_294_400
    public var mediaMaxFrames = 36_000
    public var mediaMaxStreams = 16
    public var mediaProbeBytes = 32 << 20
    public var mediaMaxDecodeSeconds = 120.0
    // analysis
    public var defaultFPS = 5.0
    public var maxFPS = 30.0
    public var maxFaces = 8
    public var maxFramesPerBatch = 256
    public var modelDir = "models/default"
    // workers and queue
    public var workers = 0
    public var queueLength = 16
    public var queueHighWater = 12
    public var overloadStatus = 503
    public var retryAfter = 5
    public var jobDeadline = 300.0
    public var jobRetention = 600.0
    public var maxJobRecords = 1000
    // auth
    public var apiKeys: [String] = []
    public var apiKeysFile = ""
    public var authHealth = false
    public var authMetrics = false
    // shutdown
    public var propagationWindow = 5.0
    public var drainTimeout = 30.0
    // logs
    public var logLevel = "info"

    public init() {}

    /// Workers actually started: `workers: 0` means one per core (docs/engine.md: workers x
    /// intra-op threads <= cores, with one intra-op thread each).
    public var effectiveWorkers: Int { workers > 0 ? workers : max(1, ProcessInfo.processInfo.activeProcessorCount) }
}

/// One row of the settings table.
struct Setting: Sendable {
    let key: String
    let env: String
    let apply: @Sendable (inout ServiceConfig, String) throws(ConfigError) -> Void
}

extension ServiceConfig {
    /// File (YAML) < environment (`AFFECTD_*`) < command-line overrides (`key=value`), then checks.
    /// `path` nil: `AFFECTD_CONFIG`, else built-in defaults.
    public static func load(path: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                            overrides: [String] = []) throws(ConfigError) -> ServiceConfig {
        var config = ServiceConfig()
        let table = Dictionary(uniqueKeysWithValues: settings.map { ($0.key, $0) })
        if let file = path ?? environment["AFFECTD_CONFIG"], !file.isEmpty {
            for (key, value) in try readYAML(file) {
                guard let s = table[key] else { throw ConfigError(key: key, "unknown setting (in \(file))") }
                try s.apply(&config, value)
            }
        }
        for s in settings { if let v = environment[s.env] { try s.apply(&config, v) } }
        for o in overrides {
            guard let eq = o.firstIndex(of: "=") else { throw ConfigError(key: o, "an override is key=value") }
            let key = String(o[..<eq])
            guard let s = table[key] else { throw ConfigError(key: key, "unknown setting") }
            try s.apply(&config, String(o[o.index(after: eq)...]))
        }
        if !config.apiKeysFile.isEmpty {
            guard let text = try? String(contentsOfFile: config.apiKeysFile, encoding: .utf8) else {
                throw ConfigError(key: "auth.api_keys_file", "cannot read \(config.apiKeysFile)")
            }
            config.apiKeys += text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        }
        try config.validate()
        return config
    }

    /// Cross-setting checks (single values are checked by their parsers).
    func validate() throws(ConfigError) {
        if queueHighWater > queueLength { throw ConfigError(key: "queue.high_water", "\(queueHighWater) exceeds queue.length \(queueLength)") }
        if tlsCert.isEmpty != tlsKey.isEmpty { throw ConfigError(key: tlsCert.isEmpty ? "server.tls_cert" : "server.tls_key", "tls_cert and tls_key go together") }
        if maxInMemoryBodyBytes > maxBodyBytes { throw ConfigError(key: "limits.max_in_memory_body_bytes", "exceeds limits.max_body_bytes") }
        if maxFPS < defaultFPS { throw ConfigError(key: "analysis.default_fps", "\(defaultFPS) exceeds analysis.max_fps \(maxFPS)") }
        if apiKeys.contains(where: { $0.count < 16 }) { throw ConfigError(key: "auth.api_keys", "every key needs at least 16 characters") }
    }

    /// Flattens a YAML mapping of mappings to dotted keys with scalar values.
    static func readYAML(_ path: String) throws(ConfigError) -> [(String, String)] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ConfigError(key: "config", "cannot read \(path)") }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch { throw ConfigError(key: "config", "\(path) is not valid YAML: \(error)") }
        guard let root = node else { return [] }
        var out: [(String, String)] = []
        func walk(_ n: Node, _ prefix: String) throws(ConfigError) {
            switch n {
            case .mapping(let m):
                for (k, v) in m {
                    guard let name = k.string else { throw ConfigError(key: prefix.isEmpty ? "config" : prefix, "keys must be strings") }
                    try walk(v, prefix.isEmpty ? name : prefix + "." + name)
                }
            case .scalar(let s):
                guard !prefix.isEmpty else { throw ConfigError(key: "config", "\(path) must be a mapping") }
                out.append((prefix, s.string))
            case .sequence(let items):
                var values: [String] = []
                for i in items {
                    guard case .scalar(let s) = i else { throw ConfigError(key: prefix, "a list of plain values is expected") }
                    values.append(s.string)
                }
                out.append((prefix, values.joined(separator: ",")))
            case .alias:
                throw ConfigError(key: prefix, "YAML aliases are not supported")
            }
        }
        try walk(root, "")
        return out
    }

    static let settings: [Setting] = [
        Setting(key: "server.host", env: "AFFECTD_HOST", apply: { c, v throws(ConfigError) in c.host = try nonEmpty("server.host", v) }),
        Setting(key: "server.port", env: "AFFECTD_PORT", apply: { c, v throws(ConfigError) in c.port = try int("server.port", v, 0...65535) }),
        Setting(key: "server.max_connections", env: "AFFECTD_MAX_CONNECTIONS", apply: { c, v throws(ConfigError) in c.maxConnections = try int("server.max_connections", v, 1...1_000_000) }),
        Setting(key: "server.tls_cert", env: "AFFECTD_TLS_CERT", apply: { c, v throws(ConfigError) in c.tlsCert = v }),
        Setting(key: "server.tls_key", env: "AFFECTD_TLS_KEY", apply: { c, v throws(ConfigError) in c.tlsKey = v }),
        Setting(key: "server.gzip", env: "AFFECTD_GZIP", apply: { c, v throws(ConfigError) in c.gzip = try bool("server.gzip", v) }),
        Setting(key: "limits.max_body_bytes", env: "AFFECTD_MAX_BODY_BYTES", apply: { c, v throws(ConfigError) in c.maxBodyBytes = try int("limits.max_body_bytes", v, 1...(1 << 40)) }),
        Setting(key: "limits.max_in_memory_body_bytes", env: "AFFECTD_MAX_IN_MEMORY_BODY_BYTES", apply: { c, v throws(ConfigError) in c.maxInMemoryBodyBytes = try int("limits.max_in_memory_body_bytes", v, 0...(1 << 30)) }),
        Setting(key: "limits.max_request_line_bytes", env: "AFFECTD_MAX_REQUEST_LINE_BYTES", apply: { c, v throws(ConfigError) in c.maxRequestLineBytes = try int("limits.max_request_line_bytes", v, 64...(1 << 20)) }),
        Setting(key: "limits.max_header_bytes", env: "AFFECTD_MAX_HEADER_BYTES", apply: { c, v throws(ConfigError) in c.maxHeaderBytes = try int("limits.max_header_bytes", v, 256...(1 << 24)) }),
        Setting(key: "limits.max_header_count", env: "AFFECTD_MAX_HEADER_COUNT", apply: { c, v throws(ConfigError) in c.maxHeaderCount = try int("limits.max_header_count", v, 1...10_000) }),
        Setting(key: "limits.header_timeout", env: "AFFECTD_HEADER_TIMEOUT", apply: { c, v throws(ConfigError) in c.headerTimeout = try seconds("limits.header_timeout", v) }),
        Setting(key: "limits.body_timeout", env: "AFFECTD_BODY_TIMEOUT", apply: { c, v throws(ConfigError) in c.bodyTimeout = try seconds("limits.body_timeout", v) }),
        Setting(key: "limits.idle_timeout", env: "AFFECTD_IDLE_TIMEOUT", apply: { c, v throws(ConfigError) in c.idleTimeout = try seconds("limits.idle_timeout", v) }),
        Setting(key: "limits.write_timeout", env: "AFFECTD_WRITE_TIMEOUT", apply: { c, v throws(ConfigError) in c.writeTimeout = try seconds("limits.write_timeout", v) }),
        Setting(key: "limits.temporary_directory", env: "AFFECTD_TMPDIR", apply: { c, v throws(ConfigError) in c.temporaryDirectory = try nonEmpty("limits.temporary_directory", v) }),
        Setting(key: "media.max_duration", env: "AFFECTD_MEDIA_MAX_DURATION", apply: { c, v throws(ConfigError) in c.mediaMaxDuration = try seconds("media.max_duration", v) }),
        Setting(key: "media.max_pixels", env: "AFFECTD_MEDIA_MAX_PIXELS", apply: { c, v throws(ConfigError) in c.mediaMaxPixels = try int("media.max_pixels", v, 1...(1 << 30)) }),
        Setting(key: "media.max_frames", env: "AFFECTD_MEDIA_MAX_FRAMES", apply: { c, v throws(ConfigError) in c.mediaMaxFrames = try int("media.max_frames", v, 1...(1 << 30)) }),
        Setting(key: "media.max_streams", env: "AFFECTD_MEDIA_MAX_STREAMS", apply: { c, v throws(ConfigError) in c.mediaMaxStreams = try int("media.max_streams", v, 1...1024) }),
        Setting(key: "media.probe_bytes", env: "AFFECTD_MEDIA_PROBE_BYTES", apply: { c, v throws(ConfigError) in c.mediaProbeBytes = try int("media.probe_bytes", v, 4096...(1 << 30)) }),
        Setting(key: "media.max_decode_seconds", env: "AFFECTD_MEDIA_MAX_DECODE_SECONDS", apply: { c, v throws(ConfigError) in c.mediaMaxDecodeSeconds = try seconds("media.max_decode_seconds", v) }),
        Setting(key: "analysis.default_fps", env: "AFFECTD_DEFAULT_FPS", apply: { c, v throws(ConfigError) in c.defaultFPS = try positive("analysis.default_fps", v) }),
        Setting(key: "analysis.max_fps", env: "AFFECTD_MAX_FPS", apply: { c, v throws(ConfigError) in c.maxFPS = try positive("analysis.max_fps", v) }),
        Setting(key: "analysis.max_faces", env: "AFFECTD_MAX_FACES", apply: { c, v throws(ConfigError) in c.maxFaces = try int("analysis.max_faces", v, 1...64) }),
        Setting(key: "analysis.max_frames_per_batch", env: "AFFECTD_MAX_FRAMES_PER_BATCH", apply: { c, v throws(ConfigError) in c.maxFramesPerBatch = try int("analysis.max_frames_per_batch", v, 1...10_000) }),
        Setting(key: "model.dir", env: "AFFECTD_MODEL", apply: { c, v throws(ConfigError) in c.modelDir = try nonEmpty("model.dir", v) }),
        Setting(key: "workers.count", env: "AFFECTD_WORKERS", apply: { c, v throws(ConfigError) in c.workers = try int("workers.count", v, 0...256) }),
        Setting(key: "queue.length", env: "AFFECTD_QUEUE_LENGTH", apply: { c, v throws(ConfigError) in c.queueLength = try int("queue.length", v, 1...100_000) }),
        Setting(key: "queue.high_water", env: "AFFECTD_QUEUE_HIGH_WATER", apply: { c, v throws(ConfigError) in c.queueHighWater = try int("queue.high_water", v, 1...100_000) }),
        Setting(key: "queue.overload_status", env: "AFFECTD_OVERLOAD_STATUS", apply: { c, v throws(ConfigError) in
            let s = try int("queue.overload_status", v, 0...999)
            guard s == 503 || s == 429 else { throw ConfigError(key: "queue.overload_status", "must be 503 or 429, got \(s)") }
            c.overloadStatus = s
        }),
        Setting(key: "queue.retry_after", env: "AFFECTD_RETRY_AFTER", apply: { c, v throws(ConfigError) in c.retryAfter = try int("queue.retry_after", v, 1...3600) }),
        Setting(key: "jobs.deadline", env: "AFFECTD_JOB_DEADLINE", apply: { c, v throws(ConfigError) in c.jobDeadline = try seconds("jobs.deadline", v) }),
        Setting(key: "jobs.retention", env: "AFFECTD_JOB_RETENTION", apply: { c, v throws(ConfigError) in c.jobRetention = try seconds("jobs.retention", v) }),
        Setting(key: "jobs.max_records", env: "AFFECTD_MAX_JOB_RECORDS", apply: { c, v throws(ConfigError) in c.maxJobRecords = try int("jobs.max_records", v, 1...1_000_000) }),
        Setting(key: "auth.api_keys", env: "AFFECTD_API_KEYS", apply: { c, v throws(ConfigError) in
            c.apiKeys = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }),
        Setting(key: "auth.api_keys_file", env: "AFFECTD_API_KEYS_FILE", apply: { c, v throws(ConfigError) in c.apiKeysFile = v }),
        Setting(key: "auth.protect_health", env: "AFFECTD_PROTECT_HEALTH", apply: { c, v throws(ConfigError) in c.authHealth = try bool("auth.protect_health", v) }),
        Setting(key: "auth.protect_metrics", env: "AFFECTD_PROTECT_METRICS", apply: { c, v throws(ConfigError) in c.authMetrics = try bool("auth.protect_metrics", v) }),
        Setting(key: "shutdown.propagation_window", env: "AFFECTD_PROPAGATION_WINDOW", apply: { c, v throws(ConfigError) in c.propagationWindow = try seconds("shutdown.propagation_window", v, allowZero: true) }),
        Setting(key: "shutdown.drain_timeout", env: "AFFECTD_DRAIN_TIMEOUT", apply: { c, v throws(ConfigError) in c.drainTimeout = try seconds("shutdown.drain_timeout", v) }),
        Setting(key: "log.level", env: "AFFECTD_LOG_LEVEL", apply: { c, v throws(ConfigError) in
            guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(v) else {
                throw ConfigError(key: "log.level", "must be one of trace, debug, info, notice, warning, error, critical; got \"\(v)\"")
            }
            c.logLevel = v
        }),
    ]

    /// Every key, for the documentation check.
    public static var settingKeys: [String] { settings.map(\.key) }
    public static var settingEnvironment: [String] { settings.map(\.env) }
}

// MARK: value parsers (each names its key in the error)

private func nonEmpty(_ key: String, _ v: String) throws(ConfigError) -> String {
    guard !v.isEmpty else { throw ConfigError(key: key, "must not be empty") }
    return v
}

private func int(_ key: String, _ v: String, _ range: ClosedRange<Int>) throws(ConfigError) -> Int {
    guard let n = Int(v.trimmingCharacters(in: .whitespaces)) else { throw ConfigError(key: key, "\"\(v)\" is not an integer") }
    guard range.contains(n) else { throw ConfigError(key: key, "\(n) is outside \(range.lowerBound)...\(range.upperBound)") }
    return n
}

private func positive(_ key: String, _ v: String) throws(ConfigError) -> Double {
    guard let d = Double(v.trimmingCharacters(in: .whitespaces)), d.isFinite, d > 0 else {
        throw ConfigError(key: key, "\"\(v)\" is not a positive number")
    }
    return d
}

/// Seconds: finite, positive (or zero where a window may be skipped), at most a day.
private func seconds(_ key: String, _ v: String, allowZero: Bool = false) throws(ConfigError) -> Double {
    guard let d = Double(v.trimmingCharacters(in: .whitespaces)), d.isFinite, allowZero ? d >= 0 : d > 0, d <= 86_400 else {
        throw ConfigError(key: key, "\"\(v)\" is not a number of seconds in \(allowZero ? "[0" : "(0"), 86400]")
    }
    return d
}

private func bool(_ key: String, _ v: String) throws(ConfigError) -> Bool {
    switch v.lowercased() {
    case "true", "yes", "on", "1": return true
    case "false", "no", "off", "0": return false
    default: throw ConfigError(key: key, "\"\(v)\" is not true or false")
    }
}
