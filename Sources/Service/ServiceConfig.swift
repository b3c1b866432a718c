// Every setting of `affectd serve` with its default, and loading them: file < environment < flags.
// Keys, variables and parsers are in Settings.swift; config/affectd.yaml documents the same table
// and a test checks the two agree.
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
    // compute threads, requests analysed at once, and the queue for the rest
    public var workers = 0
    public var activeRequests = 0
    public var interactiveWeight = 4
    public var batchWeight = 1
    public var queueLength = 16
    public var queueHighWater = 12
    public var overloadStatus = 503
    public var retryAfter = 5
    public var jobDeadline = 300.0
    public var jobRetention = 600.0
    public var maxJobRecords = 1000
    // live streams (/v1/stream)
    public var streamMaxSessions = 256
    public var streamMaxMessageBytes = 4 << 20
    public var streamMaxPixels = 2_073_600
    public var streamIdleTimeout = 30.0
    public var streamStateKey = ""
    public var jobStore = "sqlite:///var/lib/affectd/jobs.db"
    public var jobLease = 30.0
    public var jobMaxAttempts = 3
    public var jobPollInterval = 0.5
    public var webhookAllow: [String] = []
    public var webhookSecret = ""
    public var webhookCAFile = ""
    public var webhookTimeout = 5.0
    public var webhookBackoff = 1.0
    public var webhookRetryFor = 3600.0
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

    /// Compute threads of the frame scheduler: `workers: 0` means one per core (docs/engine.md:
    /// threads x intra-op threads <= cores, with one intra-op thread each).
    public var effectiveWorkers: Int { workers > 0 ? workers : max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Requests analysed at once (each one's chunks share the compute threads): `0` means twice the
    /// compute threads, so a short request finds a free slot next to a couple of long ones.
    public var effectiveActiveRequests: Int { activeRequests > 0 ? activeRequests : 2 * effectiveWorkers }
}

extension ServiceConfig {
    /// File (YAML) < environment (`AFFECTD_*`) < command-line overrides (`key=value`), then checks.
    /// `path` nil: `AFFECTD_CONFIG`, else built-in defaults.
    public static func load(
        path: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
        overrides: [String] = []
    ) throws(ConfigError) -> ServiceConfig {
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
                throw ConfigError(key: key(\.apiKeysFile), "cannot read \(config.apiKeysFile)")
            }
            config.apiKeys += text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        }
        try config.validate()
        return config
    }

    /// Cross-setting checks (single values are checked by their parsers).
    func validate() throws(ConfigError) {
        let key = Self.key
        if queueHighWater > queueLength { throw ConfigError(key: key(\.queueHighWater), "\(queueHighWater) exceeds \(key(\.queueLength)) \(queueLength)") }
        if tlsCert.isEmpty != tlsKey.isEmpty {
            throw ConfigError(key: tlsCert.isEmpty ? key(\.tlsCert) : key(\.tlsKey), "\(key(\.tlsCert)) and \(key(\.tlsKey)) go together")
        }
        if maxInMemoryBodyBytes > maxBodyBytes { throw ConfigError(key: key(\.maxInMemoryBodyBytes), "exceeds \(key(\.maxBodyBytes))") }
        if maxFPS < defaultFPS { throw ConfigError(key: key(\.defaultFPS), "\(defaultFPS) exceeds \(key(\.maxFPS)) \(maxFPS)") }
        if !streamStateKey.isEmpty && streamStateKey.count < 16 { throw ConfigError(key: key(\.streamStateKey), "needs at least 16 characters") }
        if let bad = webhookAllow.first(where: { CallbackURL($0) == nil }) {
            throw ConfigError(key: key(\.webhookAllow), "\"\(bad)\" is not an origin like https://host:port")
        }
        if !webhookAllow.isEmpty && webhookSecret.count < 16 {
            throw ConfigError(key: key(\.webhookSecret), "needs at least 16 characters when \(key(\.webhookAllow)) allows callbacks")
        }
        if apiKeys.contains(where: { $0.count < 16 }) { throw ConfigError(key: key(\.apiKeys), "every key needs at least 16 characters") }
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
}
