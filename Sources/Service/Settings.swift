// The settings table: each setting of ServiceConfig declared once, with its key (the YAML path and
// the `--set` name), its environment variable and its parser. Flags, error messages and the
// documentation check all take the key from here.
import Foundation

struct Setting: Sendable {
    let key: String
    let env: String
    let field: PartialKeyPath<ServiceConfig> & Sendable
    let apply: @Sendable (inout ServiceConfig, String) throws(ConfigError) -> Void

    /// `env` is the variable's name after `AFFECTD_`.
    init<V>(_ key: String, env: String, _ field: WritableKeyPath<ServiceConfig, V> & Sendable, _ value: SettingValue<V>) {
        self.key = key
        self.env = "AFFECTD_" + env
        self.field = field
        apply = { config, text throws(ConfigError) in
            do throws(SettingValue<V>.Failure) { config[keyPath: field] = try value.read(text) } catch { throw ConfigError(key: key, error.message) }
        }
    }
}

extension ServiceConfig {
    static let settings: [Setting] = [
        Setting("server.host", env: "HOST", \.host, .nonEmpty),
        Setting("server.port", env: "PORT", \.port, .int(0...65535)),
        Setting("server.max_connections", env: "MAX_CONNECTIONS", \.maxConnections, .int(1...1_000_000)),
        Setting("server.tls_cert", env: "TLS_CERT", \.tlsCert, .text),
        Setting("server.tls_key", env: "TLS_KEY", \.tlsKey, .text),
        Setting("server.gzip", env: "GZIP", \.gzip, .bool),
        Setting("limits.max_body_bytes", env: "MAX_BODY_BYTES", \.maxBodyBytes, .int(1...(1 << 40))),
        Setting("limits.max_in_memory_body_bytes", env: "MAX_IN_MEMORY_BODY_BYTES", \.maxInMemoryBodyBytes, .int(0...(1 << 30))),
        Setting("limits.max_request_line_bytes", env: "MAX_REQUEST_LINE_BYTES", \.maxRequestLineBytes, .int(64...(1 << 20))),
        Setting("limits.max_header_bytes", env: "MAX_HEADER_BYTES", \.maxHeaderBytes, .int(256...(1 << 24))),
        Setting("limits.max_header_count", env: "MAX_HEADER_COUNT", \.maxHeaderCount, .int(1...10_000)),
        Setting("limits.header_timeout", env: "HEADER_TIMEOUT", \.headerTimeout, .seconds()),
        Setting("limits.body_timeout", env: "BODY_TIMEOUT", \.bodyTimeout, .seconds()),
        Setting("limits.idle_timeout", env: "IDLE_TIMEOUT", \.idleTimeout, .seconds()),
        Setting("limits.write_timeout", env: "WRITE_TIMEOUT", \.writeTimeout, .seconds()),
        Setting("limits.temporary_directory", env: "TMPDIR", \.temporaryDirectory, .nonEmpty),
        Setting("media.max_duration", env: "MEDIA_MAX_DURATION", \.mediaMaxDuration, .seconds()),
        Setting("media.max_pixels", env: "MEDIA_MAX_PIXELS", \.mediaMaxPixels, .int(1...(1 << 30))),
        Setting("media.max_frames", env: "MEDIA_MAX_FRAMES", \.mediaMaxFrames, .int(1...(1 << 30))),
        Setting("media.max_streams", env: "MEDIA_MAX_STREAMS", \.mediaMaxStreams, .int(1...1024)),
        Setting("media.probe_bytes", env: "MEDIA_PROBE_BYTES", \.mediaProbeBytes, .int(4096...(1 << 30))),
        Setting("media.max_decode_seconds", env: "MEDIA_MAX_DECODE_SECONDS", \.mediaMaxDecodeSeconds, .seconds()),
        Setting("analysis.default_fps", env: "DEFAULT_FPS", \.defaultFPS, .positive),
        Setting("analysis.max_fps", env: "MAX_FPS", \.maxFPS, .positive),
        Setting("analysis.max_faces", env: "MAX_FACES", \.maxFaces, .int(1...64)),
        Setting("analysis.max_frames_per_batch", env: "MAX_FRAMES_PER_BATCH", \.maxFramesPerBatch, .int(1...10_000)),
        Setting("model.dir", env: "MODEL", \.modelDir, .nonEmpty),
        Setting("workers.count", env: "WORKERS", \.workers, .int(0...256)),
        Setting("workers.active_requests", env: "ACTIVE_REQUESTS", \.activeRequests, .int(0...4096)),
        Setting("scheduler.interactive_weight", env: "INTERACTIVE_WEIGHT", \.interactiveWeight, .int(1...1000)),
        Setting("scheduler.batch_weight", env: "BATCH_WEIGHT", \.batchWeight, .int(1...1000)),
        Setting("queue.length", env: "QUEUE_LENGTH", \.queueLength, .int(1...100_000)),
        Setting("queue.high_water", env: "QUEUE_HIGH_WATER", \.queueHighWater, .int(1...100_000)),
        Setting("queue.overload_status", env: "OVERLOAD_STATUS", \.overloadStatus, .int(0...999, oneOf: [503, 429])),
        Setting("queue.retry_after", env: "RETRY_AFTER", \.retryAfter, .int(1...3600)),
        Setting("jobs.deadline", env: "JOB_DEADLINE", \.jobDeadline, .seconds()),
        Setting("jobs.retention", env: "JOB_RETENTION", \.jobRetention, .seconds()),
        Setting("jobs.max_records", env: "MAX_JOB_RECORDS", \.maxJobRecords, .int(1...1_000_000)),
        Setting("stream.max_sessions", env: "STREAM_MAX_SESSIONS", \.streamMaxSessions, .int(1...100_000)),
        Setting("stream.max_message_bytes", env: "STREAM_MAX_MESSAGE_BYTES", \.streamMaxMessageBytes, .int(1024...(64 << 20))),
        Setting("stream.max_pixels", env: "STREAM_MAX_PIXELS", \.streamMaxPixels, .int(1...(1 << 30))),
        Setting("stream.idle_timeout", env: "STREAM_IDLE_TIMEOUT", \.streamIdleTimeout, .seconds()),
        Setting("stream.state_key", env: "STREAM_STATE_KEY", \.streamStateKey, .text),
        Setting("jobs.store", env: "JOB_STORE", \.jobStore, .jobStore),
        Setting("jobs.lease", env: "JOB_LEASE", \.jobLease, .seconds()),
        Setting("jobs.max_attempts", env: "JOB_MAX_ATTEMPTS", \.jobMaxAttempts, .int(1...100)),
        Setting("jobs.poll_interval", env: "JOB_POLL_INTERVAL", \.jobPollInterval, .seconds()),
        Setting("jobs.webhook_allow", env: "WEBHOOK_ALLOW", \.webhookAllow, .list),
        Setting("jobs.webhook_secret", env: "WEBHOOK_SECRET", \.webhookSecret, .text),
        Setting("jobs.webhook_ca_file", env: "WEBHOOK_CA_FILE", \.webhookCAFile, .text),
        Setting("jobs.webhook_timeout", env: "WEBHOOK_TIMEOUT", \.webhookTimeout, .seconds()),
        Setting("jobs.webhook_backoff", env: "WEBHOOK_BACKOFF", \.webhookBackoff, .seconds()),
        Setting("jobs.webhook_retry_for", env: "WEBHOOK_RETRY_FOR", \.webhookRetryFor, .seconds()),
        Setting("auth.api_keys", env: "API_KEYS", \.apiKeys, .list),
        Setting("auth.api_keys_file", env: "API_KEYS_FILE", \.apiKeysFile, .text),
        Setting("auth.protect_health", env: "PROTECT_HEALTH", \.authHealth, .bool),
        Setting("auth.protect_metrics", env: "PROTECT_METRICS", \.authMetrics, .bool),
        Setting("shutdown.propagation_window", env: "PROPAGATION_WINDOW", \.propagationWindow, .seconds(allowZero: true)),
        Setting("shutdown.drain_timeout", env: "DRAIN_TIMEOUT", \.drainTimeout, .seconds()),
        Setting("log.level", env: "LOG_LEVEL", \.logLevel, .oneOf(["trace", "debug", "info", "notice", "warning", "error", "critical"])),
    ]

    /// The key of the setting that sets `field` (for flags and messages that name a setting).
    public static func key(_ field: PartialKeyPath<ServiceConfig>) -> String {
        guard let setting = settings.first(where: { $0.field == field }) else { preconditionFailure("\(field) is not a setting") }
        return setting.key
    }

    /// `key=value` overrides for the flags that were given, by the field each flag sets.
    public static func overrides(_ flags: [PartialKeyPath<ServiceConfig>: String?]) -> [String] {
        flags.compactMap { field, value in value.map { "\(key(field))=\($0)" } }.sorted()
    }

    /// Every key and variable, for the documentation check.
    public static var settingKeys: [String] { settings.map(\.key) }
    public static var settingEnvironment: [String] { settings.map(\.env) }
}

/// How a setting reads its value from text (YAML scalar, environment, `--set`); a failure says
/// what is wrong and the setting adds its key.
struct SettingValue<V>: Sendable {
    struct Failure: Error { let message: String }
    let read: @Sendable (String) throws(Failure) -> V
}

extension SettingValue where V == String {
    static var text: Self { Self { $0 } }
    static var nonEmpty: Self {
        Self { v throws(Failure) in
            guard !v.isEmpty else { throw Failure(message: "must not be empty") }
            return v
        }
    }
    static func oneOf(_ allowed: [String]) -> Self {
        Self { v throws(Failure) in
            guard allowed.contains(v) else { throw Failure(message: "must be one of \(allowed.joined(separator: ", ")); got \"\(v)\"") }
            return v
        }
    }
}

extension SettingValue where V == String {
    /// `sqlite:///absolute/path.db`, `postgres://...` / `postgresql://...`, or `memory` (tests).
    static var jobStore: Self {
        Self { v throws(Failure) in
            if v == "memory" || v.hasPrefix("postgres://") || v.hasPrefix("postgresql://") { return v }
            guard v.hasPrefix("sqlite:///"), v.count > "sqlite:///".count, !v.hasSuffix("/") else {
                throw Failure(message: "must be sqlite:///absolute/path/jobs.db, postgres://... or memory; got \"\(v)\"")
            }
            return v
        }
    }
}

extension SettingValue where V == [String] {
    /// Comma-separated (a YAML list arrives joined with commas).
    static var list: Self { Self { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } } }
}

extension SettingValue where V == Int {
    static func int(_ range: ClosedRange<Int>, oneOf allowed: [Int]? = nil) -> Self {
        Self { v throws(Failure) in
            guard let n = Int(v.trimmingCharacters(in: .whitespaces)) else { throw Failure(message: "\"\(v)\" is not an integer") }
            guard range.contains(n) else { throw Failure(message: "\(n) is outside \(range.lowerBound)...\(range.upperBound)") }
            if let allowed, !allowed.contains(n) {
                throw Failure(message: "must be \(allowed.map(String.init).joined(separator: " or ")), got \(n)")
            }
            return n
        }
    }
}

extension SettingValue where V == Double {
    static var positive: Self {
        Self { v throws(Failure) in
            guard let d = Double(v.trimmingCharacters(in: .whitespaces)), d.isFinite, d > 0 else {
                throw Failure(message: "\"\(v)\" is not a positive number")
            }
            return d
        }
    }

    /// Seconds: finite, positive (or zero where a window may be skipped), at most a day.
    static func seconds(allowZero: Bool = false) -> Self {
        Self { v throws(Failure) in
            guard let d = Double(v.trimmingCharacters(in: .whitespaces)), d.isFinite, allowZero ? d >= 0 : d > 0, d <= 86_400 else {
                throw Failure(message: "\"\(v)\" is not a number of seconds in \(allowZero ? "[0" : "(0"), 86400]")
            }
            return d
        }
    }
}

extension SettingValue where V == Bool {
    static var bool: Self {
        Self { v throws(Failure) in
            switch v.lowercased() {
            case "true", "yes", "on", "1": return true
            case "false", "no", "off", "0": return false
            default: throw Failure(message: "\"\(v)\" is not true or false")
            }
        }
    }
}
