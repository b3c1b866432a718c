// A real Service on 127.0.0.1 (ephemeral port, the default model package) inside the test
// process, and a client that sends real HTTP requests to it through curl.
import Foundation
import Logging
import TestSupport
import XCTest
@testable import Service

final class TestServer {
    let host: ServiceHost
    var base: String { "http://127.0.0.1:\(host.port)" }

    /// `settings`: `key=value` overrides over the test defaults.
    init(_ settings: [String] = []) throws {
        let model = Repo.defaultModel
        guard FileManager.default.fileExists(atPath: model + "/manifest.json") else {
            throw XCTSkip("\(model) is missing: run `make setup`")
        }
        let config = try ServiceConfig.load(
            path: nil, environment: [:],
            overrides: [
                "server.port=0", "model.dir=\(model)", "workers.count=1", "shutdown.propagation_window=0", "shutdown.drain_timeout=5",
                "jobs.store=memory", "jobs.poll_interval=0.05",
            ] + settings)
        host = try ServiceHost(config: config, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    func stop() { host.shutdown() }

    struct Reply {
        let status: Int
        /// Lower-cased names.
        let headers: [String: String]
        let body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        func json() throws -> [String: Any] {
            try XCTUnwrap(JSONSerialization.jsonObject(with: body) as? [String: Any], "not a JSON object: \(text)")
        }
    }

    /// One request through curl: `body` is sent as is, `form` are curl `-F` fields.
    func request(
        _ method: String, _ path: String, headers: [String: String] = [:], body: Data? = nil,
        form: [String] = []
    ) throws -> Reply {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("affectd-test-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch + ".head"); try? FileManager.default.removeItem(atPath: scratch + ".body") }
        var args = ["-sS", "--max-time", "120", "-D", scratch + ".head", "-H", "Expect:"] + (method == "HEAD" ? ["--head"] : ["-X", method])
        for (name, value) in headers { args += ["-H", "\(name): \(value)"] }
        if let body {
            try body.write(to: URL(fileURLWithPath: scratch + ".body"))
            args += ["--data-binary", "@" + scratch + ".body"]
        }
        for field in form { args += ["-F", field] }
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = args + [base + path]
        let output = Pipe()
        curl.standardOutput = output
        try curl.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        curl.waitUntilExit()
        XCTAssertEqual(curl.terminationStatus, 0, "curl \(method) \(path) failed")
        return try Self.reply(headerText: String(contentsOfFile: scratch + ".head", encoding: .utf8), body: data)
    }

    static func reply(headerText: String, body: Data) throws -> Reply {
        let lines = headerText.components(separatedBy: "\r\n")
        let status = try XCTUnwrap(lines.first?.split(separator: " ").dropFirst().first.flatMap { Int($0) }, "no status line in \(headerText)")
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Reply(status: status, headers: headers, body: body)
    }
}
