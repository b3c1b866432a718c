import ArgumentParser
import Foundation
import Logging
import Service

/// `affectd serve`: the HTTP service (docs/design.md, "HTTP API"; settings in config/affectd.yaml).
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the REST API of openapi.yaml (settings: config file < AFFECTD_* environment < flags).")

    @Option(help: "YAML config file (default: $AFFECTD_CONFIG, else config/affectd.yaml if present, else built-in defaults).")
    var config: String?
    @Option(help: "Address to bind (server.host).") var host: String?
    @Option(help: "Port, 0 for a free one (server.port).") var port: Int?
    @Option(help: "Model package directory (model.dir).") var model: String?
    @Option(help: "Worker threads, 0 = one per core (workers.count).") var workers: Int?
    @Option(help: "Log level (log.level).") var logLevel: String?
    @Option(name: .customLong("set"), help: "Any setting as key=value, e.g. --set queue.length=4 (repeatable).")
    var settings: [String] = []

    func run() throws {
        var overrides = settings
        if let host { overrides.append("server.host=\(host)") }
        if let port { overrides.append("server.port=\(port)") }
        if let model { overrides.append("model.dir=\(model)") }
        if let workers { overrides.append("workers.count=\(workers)") }
        if let logLevel { overrides.append("log.level=\(logLevel)") }
        let env = ProcessInfo.processInfo.environment
        let file = config ?? env["AFFECTD_CONFIG"] ?? (FileManager.default.fileExists(atPath: "config/affectd.yaml") ? "config/affectd.yaml" : nil)
        let settings: ServiceConfig
        do { settings = try ServiceConfig.load(path: file, environment: env, overrides: overrides) } catch {
            FileHandle.standardError.write(Data("affectd serve: invalid configuration: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let level = Logger.Level(rawValue: settings.logLevel) ?? .info
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        let logger = Logger(label: "affectd")
        let host: ServiceHost
        do { host = try ServiceHost(config: settings, logger: logger) } catch {
            logger.critical("start-up failed", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
        logger.notice("listening", metadata: ["host": "\(settings.host)", "port": "\(host.port)", "config": "\(file ?? "built-in defaults")"])
        host.runUntilSignalled()
    }
}
