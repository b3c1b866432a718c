import ArgumentParser
import Foundation
import Glibc
import Service

/// `affectd health [--url]`: exit 0 when the URL answers 200 (the image's HEALTHCHECK; no curl there).
/// Plain HTTP on a numeric host only: it checks this service from its own container.
struct HealthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health", abstract: "Exit 0 if the service's /healthz answers 200 (for container health checks).")

    @Option(help: "URL to check (default: /healthz on 127.0.0.1 at the port `serve` would use: config file < AFFECTD_* < none).")
    var url: String?
    @Option(help: "YAML config file to read the port from (default: $AFFECTD_CONFIG, else config/affectd.yaml if present).")
    var config: String?
    @Option(help: "Seconds before giving up.") var timeout = 3

    func run() throws {
        let url = try self.url ?? defaultURL()
        guard let u = URLComponents(string: url), u.scheme == "http", let host = u.host, !host.isEmpty else {
            throw ValidationError("--url must be http://HOST:PORT/PATH")
        }
        let path = u.percentEncodedPath.isEmpty ? "/" : u.percentEncodedPath
        let status = try fetchStatus(host: host, port: u.port ?? 80, path: path)
        guard status == 200 else {
            FileHandle.standardError.write(Data("affectd health: \(url) answered \(status)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// The server's own settings decide the port (a container sets AFFECTD_PORT or mounts a config).
    func defaultURL() throws -> String {
        let env = ProcessInfo.processInfo.environment
        let file = config ?? env["AFFECTD_CONFIG"] ?? (FileManager.default.fileExists(atPath: "config/affectd.yaml") ? "config/affectd.yaml" : nil)
        do {
            let settings = try ServiceConfig.load(path: file, environment: env, overrides: [])
            return "http://127.0.0.1:\(settings.port)/healthz"
        } catch {
            throw fail("invalid configuration: \(error)")
        }
    }

    /// One GET; returns the status code of the response line.
    func fetchStatus(host: String, port: Int, path: String) throws -> Int {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let ai = list else { throw fail("cannot resolve \(host)") }
        defer { freeaddrinfo(list) }
        let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, ai.pointee.ai_protocol)
        guard fd >= 0 else { throw fail("socket: errno \(errno)") }
        defer { close(fd) }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 else { throw fail("cannot connect to \(host):\(port) (errno \(errno))") }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\n\r\n".utf8)
        guard send(fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else { throw fail("send failed") }
        var buffer = [UInt8](repeating: 0, count: 512)
        var got = 0
        while got < 12 {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, $0.count - got, 0) }
            guard n > 0 else { throw fail("no response from \(host):\(port)") }
            got += n
        }
        let line = String(decoding: buffer[0..<got], as: UTF8.self)
        guard line.hasPrefix("HTTP/1."), let code = Int(line.dropFirst(9).prefix(3)) else { throw fail("not an HTTP response") }
        return code
    }

    func fail(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("affectd health: \(message)\n".utf8))
        return ExitCode(1)
    }
}
