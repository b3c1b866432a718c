import ArgumentParser
import Dispatch
import Foundation
import HTTP
import Logging

/// A bare HTTP server with trivial routes, for the HTTP benchmark and the Python HTTP tests.
struct HTTPEchoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http-echo",
        abstract: "Serve trivial routes (GET /hello, POST /echo, GET /stream?n=N, WebSocket echo on GET /ws) for tests and benchmarks.")

    @Option(help: "Address to bind (numeric).") var host = "127.0.0.1"
    @Option(help: "Port (0 picks a free one; the chosen port is printed).") var port: UInt16 = 8081
    @Option(help: "Largest accepted request body in bytes.") var maxBodyBytes = 64 * 1024 * 1024
    @Option(help: "Bodies above this many bytes are spooled to a temp file.") var maxInMemoryBodyBytes = 1024 * 1024
    @Option(help: "PEM certificate chain; with --tls-key, serve HTTPS.") var tlsCert: String?
    @Option(help: "PEM private key for --tls-cert.") var tlsKey: String?
    @Option(help: "Seconds allowed for a request head.") var headerTimeout = 10
    @Option(help: "Seconds a keep-alive connection may idle.") var idleTimeout = 60

    func run() throws {
        var config = HTTPServerConfig()
        config.host = host
        config.port = port
        config.parser.maxBodyBytes = maxBodyBytes
        config.maxInMemoryBodyBytes = maxInMemoryBodyBytes
        config.headerTimeout = .seconds(headerTimeout)
        config.idleTimeout = .seconds(idleTimeout)
        if let cert = tlsCert, let key = tlsKey {
            config.tls = HTTPTLSConfig(certificatePath: cert, privateKeyPath: key)
        } else if tlsCert != nil || tlsKey != nil {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        var logger = Logger(label: "affectd.http-echo")
        logger.logLevel = .warning
        let server = HTTPServer(config: config, logger: logger, handler: Self.handle)
        try server.start()
        FileHandle.standardOutput.write(Data("listening on \(host):\(server.port)\n".utf8))  // unbuffered: a parent waits for it

        // SIGTERM/SIGINT: graceful stop (in-flight requests get up to 5 s).
        let signals = [SIGTERM, SIGINT].map { sig -> DispatchSourceSignal in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { server.stop(gracePeriod: .seconds(5)) }
            source.resume()
            return source
        }
        server.waitUntilStopped()
        signals.forEach { $0.cancel() }
    }

    @Sendable static func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let head = request.head
        switch (head.method, head.path) {
        case ("GET", "/hello"), ("HEAD", "/hello"):
            responder.send(HTTPResponse(status: 200, contentType: "text/plain", body: "hello\n"))
        case ("POST", "/echo"), ("PUT", "/echo"):
            var headers = HTTPHeaders([("Content-Type", head.headers["Content-Type"] ?? "application/octet-stream")])
            switch request.body {
            case .empty:
                headers.add("X-Body-Kind", "empty")
                responder.send(HTTPResponse(status: 200, headers: headers))
            case .bytes(let bytes):
                headers.add("X-Body-Kind", "memory")
                responder.send(HTTPResponse(status: 200, headers: headers, body: bytes))
            case .file(let path, _):
                headers.add("X-Body-Kind", "file")
                guard let data = FileManager.default.contents(atPath: path) else {
                    return responder.send(.problem(status: 500, detail: "spooled body unreadable"))
                }
                responder.send(HTTPResponse(status: 200, headers: headers, body: Array(data)))
            }
        case ("GET", "/stream"):
            let n = head.query.flatMap { q in q.split(separator: "&").first { $0.hasPrefix("n=") }.flatMap { Int($0.dropFirst(2)) } } ?? 3
            let stream = responder.startStream(status: 200, headers: HTTPHeaders([("Content-Type", "application/x-ndjson")]))
            for i in 0..<max(0, min(n, 10_000)) where !responder.isCancelled {
                stream.write("{\"line\":\(i)}\n")
            }
            stream.finish()
        case (_, "/ws"):
            // Echoes every message; agrees to the client's first subprotocol, if it offers any.
            responder.upgradeToWebSocket(request, subprotocol: head.webSocketProtocols.first) { socket, message in
                switch message {
                case .text(let text): socket.send(text: text)
                case .binary(let bytes): socket.send(binary: bytes)
                }
            }
        case (_, "/hello"), (_, "/echo"), (_, "/stream"):
            responder.send(.problem(status: 405, detail: "method \(head.method) not allowed on \(head.path)"))
        default:
            responder.send(.problem(status: 404, detail: "no route for \(head.path)"))
        }
    }
}
