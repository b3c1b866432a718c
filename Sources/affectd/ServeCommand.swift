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
    @Option(help: flagHelp("Address to bind", \.host)) var host: String?
    @Option(help: flagHelp("Port, 0 for a free one", \.port)) var port: Int?
    @Option(help: flagHelp("Model package directory", \.modelDir)) var model: String?
    @Option(help: flagHelp("Compute threads shared by all requests, 0 = one per core", \.workers)) var workers: Int?
    @Option(help: flagHelp("Log level", \.logLevel)) var logLevel: String?
    @Option(name: .customLong("set"), help: "Any setting as key=value, e.g. --set queue.length=4 (repeatable).")
    var settings: [String] = []

    func run() throws {
        let overrides =
            settings
            + ServiceConfig.overrides([
                \.host: host, \.port: port.map(String.init), \.modelDir: model, \.workers: workers.map(String.init), \.logLevel: logLevel,
            ])
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

/// A flag's help names the setting it overrides.
private func flagHelp(_ text: String, _ field: PartialKeyPath<ServiceConfig>) -> ArgumentHelp {
    ArgumentHelp("\(text) (\(ServiceConfig.key(field))).")
}
