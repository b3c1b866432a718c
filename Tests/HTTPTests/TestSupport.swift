import Foundation
import HTTP
import Logging
import XCTest

/// A blocking TCP client on 127.0.0.1 for byte-exact requests (curl would normalise them).
final class RawClient {
    let fd: Int32

    init(port: UInt16, receiveTimeout: Double = 5) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { close(fd); throw NSError(domain: "RawClient", code: Int(errno)) }
        var tv = timeval(tv_sec: Int(receiveTimeout), tv_usec: Int((receiveTimeout - Double(Int(receiveTimeout))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ text: String) { send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            off += n
        }
    }

    var pending: [UInt8] = []

    /// Reads more bytes; false on close, reset or timeout.
    func fill() -> Bool {
        var buf = [UInt8](repeating: 0, count: 65536)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return false }
        pending.append(contentsOf: buf[0..<n])
        return true
    }

    struct Response {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Reads one response (Content-Length or chunked framing; otherwise until close).
    func readResponse() -> Response? {
        var headEnd: Int?
        while true {
            if let r = pending.firstRange(of: Array("\r\n\r\n".utf8)) { headEnd = r.upperBound; break }
            guard fill() else { return nil }
        }
        let head = String(decoding: pending[0..<headEnd!], as: UTF8.self)
        pending.removeFirst(headEnd!)
        let lines = head.components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() where line.contains(":") {
            let i = line.firstIndex(of: ":")!
            headers[line[..<i].lowercased()] = line[line.index(after: i)...].trimmingCharacters(in: .whitespaces)
        }
        if status < 200 || status == 204 { return Response(status: status, headers: headers, body: []) }
        if let cl = headers["content-length"].flatMap(Int.init) {
            while pending.count < cl { guard fill() else { return nil } }
            let body = Array(pending[0..<cl])
            pending.removeFirst(cl)
            return Response(status: status, headers: headers, body: body)
        }
        if headers["transfer-encoding"] == "chunked" {
            var body: [UInt8] = []
            while true {
                var lineEnd: Int?
                while true {
                    if let r = pending.firstRange(of: Array("\r\n".utf8)) { lineEnd = r.lowerBound; break }
                    guard fill() else { return nil }
                }
                let size = Int(String(decoding: pending[0..<lineEnd!], as: UTF8.self), radix: 16) ?? 0
                pending.removeFirst(lineEnd! + 2)
                while pending.count < size + 2 { guard fill() else { return nil } }
                body.append(contentsOf: pending[0..<size])
                pending.removeFirst(size + 2)
                if size == 0 { return Response(status: status, headers: headers, body: body) }
            }
        }
        while fill() {}
        let body = pending
        pending = []
        return Response(status: status, headers: headers, body: body)
    }

    /// True when the server closed the connection (EOF or reset) within the receive timeout.
    func isClosedByPeer() -> Bool {
        while true {
            var byte: UInt8 = 0
            let n = recv(fd, &byte, 1, 0)
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
            pending.append(byte)
        }
    }
}

/// Runs curl (a real, independent client) and returns its exit status, stdout and stderr.
func runCurl(_ args: [String], stdin: Data? = nil) throws -> (status: Int32, out: Data, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    p.arguments = ["--silent", "--show-error", "--max-time", "20"] + args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    let input = Pipe()
    p.standardInput = input
    try p.run()
    if let stdin { input.fileHandleForWriting.write(stdin) }
    try input.fileHandleForWriting.close()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, o, String(decoding: e, as: UTF8.self))
}

/// Thread-safe record of what handlers saw.
final class Events: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    private var kept: [HTTPResponder] = []
    func add(_ s: String) { lock.lock(); items.append(s); lock.unlock() }
    func keep(_ r: HTTPResponder) { lock.lock(); kept.append(r); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return items }

    func waitFor(_ s: String, timeout: Double) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if all.contains(s) { return true }
            usleep(20_000)
        }
        return false
    }
}

/// The handler the server tests run against; routes by path.
func testHandler(events: Events) -> HTTPHandler {
    return { request, responder in
        if webSocketRoute(request, responder, events: events) { return }
        let head = request.head
        let params = Dictionary(
            uniqueKeysWithValues: (head.query ?? "").split(separator: "&").map { kv -> (String, String) in
                let p = kv.split(separator: "=", maxSplits: 1)
                return (String(p[0]), p.count > 1 ? String(p[1]) : "")
            })
        switch head.path {
        case "/echo":
            var body: [UInt8] = []
            var kind = "empty"
            switch request.body {
            case .empty: break
            case .bytes(let b): body = b; kind = "memory"
            case .file(let path, let count):
                body = Array((try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data())
                kind = "file"
                XCTAssertEqual(body.count, count)
            }
            responder.send(HTTPResponse(status: 200, headers: HTTPHeaders([("X-Body-Kind", kind), ("Content-Type", "application/octet-stream")]), body: body))
        case "/slow":
            usleep(UInt32(Int(params["ms"] ?? "0")! * 1000))
            responder.send(HTTPResponse(status: 200, contentType: "text/plain", body: head.target))
        case "/stream":
            let n = Int(params["n"] ?? "5")!
            let stream = responder.startStream(status: 200, headers: HTTPHeaders([("Content-Type", "application/x-ndjson")]))
            for i in 0..<n {
                stream.write("{\"i\":\(i)}\n")
                usleep(20_000)
            }
            stream.finish()
        case "/wait-cancel":
            events.add("started \(request.id)")
            let sem = DispatchSemaphore(value: 0)
            responder.onCancel {
                events.add("cancelled")
                sem.signal()
            }
            if sem.wait(timeout: .now() + 10) == .timedOut { events.add("not cancelled") }
            responder.send(HTTPResponse(status: 200))
        case "/json":
            let n = Int(params["n"] ?? "200")!
            let body = "[" + (0..<n).map { "{\"i\":\($0)}" }.joined(separator: ",") + "]"
            responder.send(HTTPResponse(status: 200, contentType: "application/json", body: body))
        case "/flood":
            // Streams until the server gives up on a client that does not read.
            let stream = responder.startStream(status: 200, headers: HTTPHeaders([("Content-Type", "application/octet-stream")]))
            let chunk = [UInt8](repeating: 120, count: 64 * 1024)
            var maxPending = 0
            while !responder.isCancelled {
                maxPending = max(maxPending, stream.pendingBytes)
                if stream.pendingBytes > 1 << 20 { usleep(10_000); continue }  // wait for a slow reader
                guard stream.write(chunk) else { break }
            }
            events.add("flood stopped, pending seen \(maxPending > 0)")
            stream.finish()
        case "/flood-blind":
            // Ignores backpressure entirely; only the server's unsent-bytes cap stops it.
            let stream = responder.startStream(status: 200, headers: HTTPHeaders([("Content-Type", "application/octet-stream")]))
            let chunk = [UInt8](repeating: 120, count: 64 * 1024)
            var written = 0
            while stream.write(chunk) && written < 1 << 30 { written += chunk.count }
            events.add(written < 1 << 30 ? "blind flood cut" : "blind flood never cut")
            stream.finish()
        case "/forget":
            break  // drops the responder unanswered
        case "/forget-stream":
            let stream = responder.startStream(status: 200, headers: HTTPHeaders([("Content-Type", "text/plain")]))
            stream.write("partial")
        case "/never":
            events.keep(responder)  // holds it, never answers
            events.add("never \(request.id)")
            responder.onCancel { events.add("never cancelled") }
        default:
            responder.send(.problem(status: 404, detail: "no route for \(head.path)"))
        }
    }
}

func makeServer(events: Events, configure: (inout HTTPServerConfig) -> Void = { _ in }) throws -> HTTPServer {
    var config = HTTPServerConfig()
    config.port = 0
    config.parser.maxBodyBytes = 256 * 1024
    config.maxInMemoryBodyBytes = 16 * 1024
    config.headerTimeout = .seconds(1)
    config.bodyProgressTimeout = .seconds(1)
    config.idleTimeout = .seconds(2)
    config.writeTimeout = .seconds(2)
    config.lingerTimeout = .milliseconds(500)
    config.socketSendBufferBytes = 64 * 1024
    config.webSocket.maxFrameBytes = 256 * 1024
    config.webSocket.maxMessageBytes = 512 * 1024
    config.webSocket.maxBufferedBytes = 256 * 1024
    config.webSocket.idleTimeout = .seconds(10)
    config.webSocket.closeTimeout = .seconds(1)
    configure(&config)
    var logger = Logger(label: "http-test")
    logger.logLevel = .critical
    let server = HTTPServer(config: config, logger: logger, handler: testHandler(events: events))
    try server.start()
    return server
}
