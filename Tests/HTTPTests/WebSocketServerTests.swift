import Foundation
import HTTP
import XCTest

/// WebSocket on a real server (127.0.0.1, ephemeral port), driven by raw sockets with crafted frames.
final class WebSocketServerTests: XCTestCase {
    var events: Events!
    var server: HTTPServer!
    var port: UInt16 { server.port }

    override func setUpWithError() throws {
        events = Events()
        server = try makeServer(events: events)
    }

    override func tearDown() {
        server.stop(gracePeriod: .seconds(2))
    }

    func restart(_ configure: (inout HTTPServerConfig) -> Void) throws {
        server.stop(gracePeriod: .seconds(1))
        server = try makeServer(events: events, configure: configure)
    }

    /// The server still answers plain HTTP (nothing a WebSocket client did disturbed it).
    func assertServing(file: StaticString = #filePath, line: UInt = #line) throws {
        let c = try RawClient(port: port)
        c.send("GET /slow?alive HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(c.readResponse()?.text, "/slow?alive", file: file, line: line)
    }

    // MARK: handshake

    func testHandshakeAnswersTheRFCAcceptValueAndTheChosenSubprotocol() throws {
        let c = try WSClient(port: port, extraHeaders: "Sec-WebSocket-Protocol: chat, bearer.abc123\r\n")
        let h = try XCTUnwrap(c.handshake)
        XCTAssertEqual(h.headers["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")  // RFC 6455 §1.3
        XCTAssertEqual(h.headers["upgrade"]?.lowercased(), "websocket")
        XCTAssertEqual(h.headers["connection"]?.lowercased(), "upgrade")
        XCTAssertEqual(h.headers["sec-websocket-protocol"], "bearer.abc123")
        XCTAssertNil(try WSClient(port: port).handshake?.headers["sec-websocket-protocol"], "no subprotocol offered, none chosen")
    }

    func testMalformedHandshakesAreRefused() throws {
        let good = ["Host: a", "Upgrade: websocket", "Connection: keep-alive, Upgrade", "Sec-WebSocket-Key: \(WSClient.key)", "Sec-WebSocket-Version: 13"]
        func without(_ prefix: String, adding extra: [String] = []) -> [String] { good.filter { !$0.hasPrefix(prefix) } + extra }
        let cases: [(String, String, [String], Int)] = [
            ("no version", "GET", without("Sec-WebSocket-Version"), 426),
            ("version 8", "GET", without("Sec-WebSocket-Version", adding: ["Sec-WebSocket-Version: 8"]), 426),
            ("no Upgrade", "GET", without("Upgrade"), 426),
            ("no Connection: Upgrade", "GET", without("Connection", adding: ["Connection: keep-alive"]), 400),
            ("no key", "GET", without("Sec-WebSocket-Key"), 400),
            ("key not base64", "GET", without("Sec-WebSocket-Key", adding: ["Sec-WebSocket-Key: not base64!"]), 400),
            ("key of 15 bytes", "GET", without("Sec-WebSocket-Key", adding: ["Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA"]), 400),
            ("two keys", "GET", good + ["Sec-WebSocket-Key: \(WSClient.key)"], 400),
            ("POST", "POST", good + ["Content-Length: 0"], 405),
        ]
        let c = try RawClient(port: port)
        for (name, method, headers, status) in cases {
            c.send("\(method) /ws HTTP/1.1\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n")
            let r = c.readResponse()
            XCTAssertEqual(r?.status, status, name)
            XCTAssertEqual(r?.headers["content-type"], "application/problem+json", name)
            if name.hasPrefix("version") || name == "no version" { XCTAssertEqual(r?.headers["sec-websocket-version"], "13", name) }
        }
        c.send("GET /ws-unoffered HTTP/1.1\r\n" + good.map { $0 + "\r\n" }.joined() + "Sec-WebSocket-Protocol: chat\r\n\r\n")
        XCTAssertEqual(c.readResponse()?.status, 500, "a subprotocol the client did not offer")
        // A refusal is an ordinary response: the connection goes on serving HTTP.
        c.send("GET /slow?after HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(c.readResponse()?.text, "/slow?after")
    }

    func testUpgradesBeyondTheLimitAre503() throws {
        try restart { $0.webSocket.maxConnections = 2 }
        let a = try WSClient(port: port), b = try WSClient(port: port)
        XCTAssertThrowsError(try WSClient(port: port)) { XCTAssertEqual(($0 as NSError).code, 503) }
        // Closing one frees its slot.
        a.send(clientFrame(8, closePayload(1000)))
        XCTAssertEqual(a.closeCode(), 1000)
        XCTAssertTrue(events.waitFor("closed 1000 ", timeout: 2), "\(events.all)")
        XCTAssertNoThrow(try WSClient(port: port))
        b.sendText("still here")
        XCTAssertEqual(b.read()?.text, "still here")
    }

    // MARK: framing

    func testEchoesEveryLengthEncoding() throws {
        let c = try WSClient(port: port)
        for n in [0, 1, 125, 126, 65535, 65536, 200_000] {
            let payload = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            c.send(clientFrame(2, payload, key: [UInt8(n & 0xFF), 0x55, 0xAA, 0x01]))
            let f = c.read()
            XCTAssertEqual(f?.opcode, 2, "\(n)")
            XCTAssertEqual(f?.fin, true)
            XCTAssertTrue(f?.payload == payload, "\(n) bytes came back different")
        }
        c.sendText("héllo wörld ✓ 𝄞")
        XCTAssertEqual(c.read(), ServerFrame(fin: true, opcode: 1, payload: Array("héllo wörld ✓ 𝄞".utf8)))
    }

    func testFragmentsReassembleAroundInterleavedPings() throws {
        let c = try WSClient(port: port)
        // "né✓" with both multi-byte characters split across fragments, a ping in the middle.
        let text = Array("né✓".utf8)  // 6E C3 A9 E2 9C 93
        c.send(clientFrame(1, Array(text[0..<2]), fin: false))
        c.send(clientFrame(9, Array("p1".utf8)))
        c.send(clientFrame(0, Array(text[2..<4]), fin: false))
        c.send(clientFrame(0, [], fin: false))
        c.send(clientFrame(0, Array(text[4...])))
        XCTAssertEqual(c.read(), ServerFrame(fin: true, opcode: 0xA, payload: Array("p1".utf8)), "pong first, with the ping's payload")
        XCTAssertEqual(c.read(), ServerFrame(fin: true, opcode: 1, payload: text))
        // Fragmented binary, sent byte by byte.
        for byte in clientFrame(2, [1, 2], fin: false) + clientFrame(0, [3]) { c.send([byte]) }
        XCTAssertEqual(c.read()?.payload, [1, 2, 3])
        // A pong from the client is ignored.
        c.send(clientFrame(0xA, [9]))
        c.sendText("after pong")
        XCTAssertEqual(c.read()?.text, "after pong")
    }

    /// Each protocol violation closes the connection with its code (Autobahn sections 1-7).
    func testViolationsCloseWithTheirCode() throws {
        let big = [UInt8](repeating: 0x61, count: 256 * 1024 + 1)
        let half = [UInt8](repeating: 0x61, count: 200 * 1024)
        let cases: [(String, [UInt8], UInt16)] = [
            ("unmasked frame", clientFrame(1, Array("hi".utf8), masked: false), 1002),
            ("RSV1 without extension", clientFrame(1, Array("hi".utf8), rsv: 4), 1002),
            ("RSV3 on a ping", clientFrame(9, [], rsv: 1), 1002),
            ("reserved data opcode 3", clientFrame(3, []), 1002),
            ("reserved control opcode 0xB", clientFrame(0xB, []), 1002),
            ("fragmented ping", clientFrame(9, [], fin: false), 1002),
            ("ping of 126 bytes", clientFrame(9, [UInt8](repeating: 0, count: 126)), 1002),
            ("continuation without a message", clientFrame(0, Array("x".utf8)), 1002),
            ("new text inside a fragmented message", clientFrame(1, [0x61], fin: false) + clientFrame(1, [0x62]), 1002),
            ("close with a 1-byte body", clientFrame(8, [0x03]), 1002),
            ("close code 999", clientFrame(8, closePayload(999)), 1002),
            ("close code 1005", clientFrame(8, closePayload(1005)), 1002),
            ("close code 1006", clientFrame(8, closePayload(1006)), 1002),
            ("close code 2000", clientFrame(8, closePayload(2000)), 1002),
            ("close code 5000", clientFrame(8, closePayload(5000)), 1002),
            ("invalid UTF-8 text", clientFrame(1, [0x61, 0xFF]), 1007),
            ("overlong UTF-8", clientFrame(1, [0xC0, 0xAF]), 1007),
            ("UTF-16 surrogate", clientFrame(1, [0xED, 0xA0, 0x80]), 1007),
            ("text ending mid-character", clientFrame(1, [0xE2, 0x9C]), 1007),
            ("invalid UTF-8 in a later fragment", clientFrame(1, [0x61], fin: false) + clientFrame(0, [0xF5]), 1007),
            ("character split and never finished", clientFrame(1, [0xE2], fin: false) + clientFrame(0, [0x9C]), 1007),
            ("invalid UTF-8 close reason", clientFrame(8, closePayload(1000) + [0xFF]), 1007),
            ("frame over the limit", clientFrame(2, big), 1009),
            ("64-bit length over the limit", [0x82, 0xFF, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4], 1009),
            ("message over the limit in fragments", clientFrame(2, half, fin: false) + clientFrame(0, half, fin: false) + clientFrame(0, half), 1009),
        ]
        for (name, bytes, code) in cases {
            let c = try WSClient(port: port)
            c.send(bytes)
            XCTAssertEqual(c.closeCode(), code, name)
            XCTAssertTrue(c.raw.isClosedByPeer(), "\(name): connection left open")
        }
        XCTAssertTrue(events.waitFor("closed 1009 a frame of 262145 bytes exceeds the limit of 262144 bytes", timeout: 2), "\(events.all)")
        try assertServing()
    }

    // MARK: closing

    func testClientCloseIsEchoedAndReported() throws {
        let c = try WSClient(port: port)
        c.send(clientFrame(8, closePayload(1000, "done")))
        XCTAssertEqual(c.read(), ServerFrame(fin: true, opcode: 8, payload: closePayload(1000)))
        XCTAssertTrue(c.raw.isClosedByPeer(), "the server closes TCP after the close handshake")
        XCTAssertTrue(events.waitFor("closed 1000 done", timeout: 2), "\(events.all)")

        let d = try WSClient(port: port)
        d.send(clientFrame(8, []))
        XCTAssertEqual(d.read(), ServerFrame(fin: true, opcode: 8, payload: []), "an empty close is answered empty")
        XCTAssertTrue(events.waitFor("closed 1005 ", timeout: 2), "\(events.all)")

        var e: WSClient? = try WSClient(port: port)
        e!.sendText("x")
        XCTAssertEqual(e!.read()?.text, "x")
        e = nil  // dropped without a close frame
        XCTAssertTrue(events.waitFor("closed 1006 ", timeout: 2), "\(events.all)")
    }

    func testHandlerCloseWaitsForTheClientsAnswer() throws {
        let c = try WSClient(port: port, path: "/ws-close")
        c.sendText("close please")
        XCTAssertEqual(c.read(), ServerFrame(fin: true, opcode: 8, payload: closePayload(4000, "bye")))
        c.sendText("ignored after the server's close")
        XCTAssertFalse(events.all.contains { $0.hasPrefix("closed") }, "closed before the client answered")
        c.send(clientFrame(8, closePayload(4000)))
        XCTAssertTrue(c.raw.isClosedByPeer())
        XCTAssertTrue(events.waitFor("closed 4000 bye", timeout: 2), "\(events.all)")

        // A client that never answers is cut after closeTimeout (1 s).
        let d = try WSClient(port: port, path: "/ws-close")
        d.sendText("close please")
        XCTAssertEqual(d.read()?.closeCode, 4000)
        let start = Date()
        XCTAssertTrue(d.raw.isClosedByPeer())
        XCTAssertEqual(Date().timeIntervalSince(start), 1, accuracy: 0.5)
    }

    func testIdleConnectionIsPingedThenClosed() throws {
        try restart { $0.webSocket.idleTimeout = .seconds(1) }
        let silent = try WSClient(port: port)
        let lively = try WSClient(port: port)
        let start = Date()
        XCTAssertEqual(silent.read()?.opcode, 9, "a ping half-way through the idle timeout")
        XCTAssertEqual(Date().timeIntervalSince(start), 0.5, accuracy: 0.3)
        // The lively client answers its pings like any WebSocket stack; the silent one does not.
        for _ in 0..<3 {
            XCTAssertEqual(lively.read()?.opcode, 9)
            lively.send(clientFrame(0xA, []))
        }
        XCTAssertGreaterThan(Date().timeIntervalSince(start), 1.4)
        XCTAssertEqual(silent.read()?.closeCode, 1001)
        XCTAssertTrue(events.waitFor("closed 1001 no traffic for 1.0 seconds", timeout: 2), "\(events.all)")
        lively.sendText("still open")
        var reply = lively.read()
        while reply?.opcode == 9 { reply = lively.read() }
        XCTAssertEqual(reply?.text, "still open")
    }

    func testGracefulStopSendsGoingAway() throws {
        let c = try WSClient(port: port)
        let stopped = DispatchSemaphore(value: 0)
        DispatchQueue.global().async { [server] in
            server!.stop(gracePeriod: .seconds(5))
            stopped.signal()
        }
        XCTAssertEqual(c.read(), ServerFrame(fin: true, opcode: 8, payload: closePayload(1001, "the server is shutting down")))
        c.send(clientFrame(8, closePayload(1001)))
        XCTAssertTrue(c.raw.isClosedByPeer())
        XCTAssertEqual(stopped.wait(timeout: .now() + 2), .success, "the stop waited for more than the close handshake")
        XCTAssertTrue(events.waitFor("closed 1001 the server is shutting down", timeout: 2), "\(events.all)")
    }

    // MARK: flow control and threads

    func testSlowClientMakesSendRefuseInsteadOfQueueing() throws {
        let c = try WSClient(port: port, path: "/ws-flood")
        c.sendText("go")  // and read nothing yet
        // The handler stops at the first refusal instead of queueing without bound.
        let report = try XCTUnwrap(floodReport(0), "the flood never stopped")
        let numbers = report.split(separator: " ").compactMap { Int($0) }
        let (sent, maxBuffered, buffered) = (numbers[0], numbers[1], numbers[2])
        XCTAssertTrue(report.hasSuffix("open true"), "refused for backpressure, not because it closed: \(report)")
        XCTAssertGreaterThanOrEqual(buffered, 256 * 1024, report)
        XCTAssertLessThan(maxBuffered, 256 * 1024 + 64 * 1024 + 64, "bounded by maxBufferedBytes plus one message: \(report)")
        XCTAssertLessThan(sent, 64, report)
        // Everything accepted arrives, intact and in order, once the client reads.
        for i in 0..<sent {
            let f = c.read()
            XCTAssertEqual(f?.payload.count, 64 * 1024)
            XCTAssertEqual(f?.payload.first, UInt8(i & 0xFF))
        }
        // Drained, the buffer accepts messages again.
        c.sendText("again")
        let second = try XCTUnwrap(floodReport(1), "no second flood")
        XCTAssertGreaterThan(second.split(separator: " ").compactMap { Int($0) }[0], 0, second)
    }

    /// The flood route's report number `index` (0-based), waiting up to 5 s for it.
    func floodReport(_ index: Int) -> String? {
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            let reports = events.all.filter { $0.hasPrefix("flood sent") }
            if reports.count > index { return reports[index] }
            usleep(10_000)
        }
        return nil
    }

    func testSlowHandlerGetsEveryMessageInOrder() throws {
        try restart { $0.webSocket.maxMessageBytes = 64 * 1024 }
        let c = try WSClient(port: port, path: "/ws-slow")
        // 40 messages of 32 KiB at a handler taking 20 ms each: reading pauses and resumes.
        let writer = Thread {
            for i in 0..<40 { c.send(clientFrame(2, [UInt8](repeating: UInt8(i), count: 32 * 1024 - 1 + i % 2))) }
        }
        writer.start()
        for i in 0..<40 { XCTAssertEqual(c.read()?.text, "\(32 * 1024 - 1 + i % 2)", "message \(i)") }
    }

    func testSendsFromManyThreadsArriveAsWholeFrames() throws {
        let c = try WSClient(port: port, path: "/ws-threads")
        c.sendText("go")
        var next = [Int](repeating: 0, count: 8)
        for _ in 0..<800 {
            let f = try XCTUnwrap(c.read())
            let parts = f.text.split(separator: ":").compactMap { Int($0) }
            XCTAssertEqual(f.opcode, 1)
            XCTAssertEqual(parts.count, 2, f.text)
            XCTAssertEqual(parts[1], next[parts[0]], "thread \(parts[0]) out of order")
            next[parts[0]] += 1
        }
        XCTAssertEqual(next, [Int](repeating: 100, count: 8))
    }
}
