import Foundation
import HTTP
import XCTest

/// A real server on 127.0.0.1 (ephemeral port), driven by curl and by raw sockets.
final class HTTPServerTests: XCTestCase {
    var events: Events!
    var server: HTTPServer!
    var port: UInt16 { server.port }
    var base: String { "http://127.0.0.1:\(port)" }

    override func setUpWithError() throws {
        events = Events()
        server = try makeServer(events: events)
    }

    override func tearDown() {
        server.stop(gracePeriod: .seconds(2))
    }

    // MARK: curl

    func testCurlKeepAliveReusesTheConnection() throws {
        let r = try runCurl(["-v", "\(base)/slow?a", "\(base)/slow?b"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(String(decoding: r.out, as: UTF8.self), "/slow?a/slow?b")
        XCTAssertTrue(r.err.contains("Re-using existing connection") || r.err.contains("Reusing existing"), r.err)
    }

    func testCurlUploadsSmallAndLargeBodies() throws {
        let small = Data((0..<1000).map { UInt8($0 % 251) })
        var r = try runCurl(["-D", "-", "--data-binary", "@-", "-H", "Content-Type: application/octet-stream", "\(base)/echo"], stdin: small)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(String(decoding: r.out, as: UTF8.self).lowercased().contains("x-body-kind: memory"))
        XCTAssertTrue(r.out.suffix(small.count) == small)

        // Larger than maxInMemoryBodyBytes: spooled to a temp file; chunked by curl.
        let large = Data((0..<100_000).map { UInt8($0 % 253) })
        r = try runCurl(["-D", "-", "-H", "Transfer-Encoding: chunked", "--data-binary", "@-", "\(base)/echo"], stdin: large)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(String(decoding: r.out.prefix(300), as: UTF8.self).lowercased().contains("x-body-kind: file"))
        XCTAssertTrue(r.out.suffix(large.count) == large)
    }

    func testCurlExpectContinueTooLargeGets413() throws {
        let big = Data(count: 300 * 1024)  // over the 256 KiB test limit
        let r = try runCurl(["-o", "-", "-w", "\n%{http_code}", "-H", "Expect: 100-continue", "--data-binary", "@-", "\(base)/echo"], stdin: big)
        XCTAssertTrue(String(decoding: r.out, as: UTF8.self).hasSuffix("413"), r.err)
        XCTAssertTrue(String(decoding: r.out, as: UTF8.self).contains("\"status\":413"))
    }

    func testCurlStreamedResponse() throws {
        let r = try runCurl(["-N", "-D", "-", "\(base)/stream?n=5"])
        XCTAssertEqual(r.status, 0, r.err)
        let text = String(decoding: r.out, as: UTF8.self)
        XCTAssertTrue(text.lowercased().contains("transfer-encoding: chunked"))
        XCTAssertTrue(text.hasSuffix((0..<5).map { "{\"i\":\($0)}\n" }.joined()), text)
    }

    // MARK: raw sockets

    func testPipelinedResponsesComeInOrder() throws {
        let c = try RawClient(port: port)
        // The first request is the slowest: responses must still come back in request order.
        c.send("GET /slow?ms=300 HTTP/1.1\r\nHost: a\r\n\r\nGET /slow?ms=100 HTTP/1.1\r\nHost: a\r\n\r\nGET /slow?ms=0 HTTP/1.1\r\nHost: a\r\n\r\n")
        let bodies = (0..<3).compactMap { _ in c.readResponse()?.text }
        XCTAssertEqual(bodies, ["/slow?ms=300", "/slow?ms=100", "/slow?ms=0"])
    }

    func testExpectContinueRawFlow() throws {
        let c = try RawClient(port: port)
        c.send("POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        XCTAssertEqual(c.readResponse()?.status, 100)
        c.send("hello")
        let r = c.readResponse()
        XCTAssertEqual(r?.status, 200)
        XCTAssertEqual(r?.text, "hello")

        // Too large: 413 before any body byte is sent, then close.
        let d = try RawClient(port: port)
        d.send("POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 999999999\r\n\r\n")
        let refused = d.readResponse()
        XCTAssertEqual(refused?.status, 413)
        XCTAssertEqual(refused?.headers["content-type"], "application/problem+json")
        XCTAssertTrue(d.isClosedByPeer())
    }

    func testChunkedUploadOverTheLimitGets413MidStream() throws {
        let c = try RawClient(port: port)
        c.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
        let chunk = "10000\r\n" + String(repeating: "x", count: 65536) + "\r\n"
        for _ in 0..<3 { c.send(chunk) }  // 192 KiB: still under the limit, no answer yet
        c.send(chunk)  // 256 KiB + the next header crosses it
        c.send("1\r\nx\r\n")
        let r = c.readResponse()
        XCTAssertEqual(r?.status, 413)
        XCTAssertTrue(r?.text.contains("exceeds the limit") ?? false)
        XCTAssertTrue(c.isClosedByPeer())
    }

    func testTooManyHeadersGets431() throws {
        let c = try RawClient(port: port)
        c.send("GET /echo HTTP/1.1\r\nHost: a\r\n" + (0..<150).map { "X-\($0): v\r\n" }.joined() + "\r\n")
        XCTAssertEqual(c.readResponse()?.status, 431)
        XCTAssertTrue(c.isClosedByPeer())
    }

    func testHugeHeaderGets431() throws {
        let c = try RawClient(port: port)
        c.send("GET /echo HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "v", count: 40_000) + "\r\n\r\n")
        XCTAssertEqual(c.readResponse()?.status, 431)
        XCTAssertTrue(c.isClosedByPeer())
    }

    func testLongRequestLineGets414() throws {
        let c = try RawClient(port: port)
        c.send("GET /" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(c.readResponse()?.status, 414)
        XCTAssertTrue(c.isClosedByPeer())
    }

    func testSlowlorisIsCutAfterTheHeaderTimeout() throws {
        let c = try RawClient(port: port, receiveTimeout: 4)
        let start = Date()
        // Trickle header bytes, each well within any per-read timeout, but the head never completes.
        c.send("GET / HTTP/1.1\r\nHost: a\r\n")
        var cut = false
        for i in 0..<30 {
            usleep(100_000)
            c.send("X-\(i): y\r\n")
            var pfd = pollfd(fd: c.fd, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 0) > 0 { cut = true; break }
        }
        XCTAssertTrue(cut, "the server kept a trickling connection open for 3 s")
        XCTAssertEqual(c.readResponse()?.status, 408)
        XCTAssertTrue(c.isClosedByPeer())
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertGreaterThan(elapsed, 0.9)
        XCTAssertLessThan(elapsed, 2.5)
    }

    func testStalledBodyGets408() throws {
        let c = try RawClient(port: port, receiveTimeout: 4)
        c.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        XCTAssertEqual(c.readResponse()?.status, 408)
        XCTAssertTrue(c.isClosedByPeer())
    }

    func testClientThatStopsReadingIsCutAfterTheWriteTimeout() throws {
        let c = try RawClient(port: port)
        var size: Int32 = 4096
        setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        c.send("GET /flood HTTP/1.1\r\nHost: a\r\n\r\n")
        let start = Date()
        // Never read: the server's output stalls, the write timeout (2 s) closes the connection
        // and cancels the producer.
        XCTAssertTrue(events.waitFor("flood stopped, pending seen true", timeout: 6), "\(events.all)")
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertGreaterThan(elapsed, 1.5)
        XCTAssertLessThan(elapsed, 4)
    }

    func testStreamOutrunningItsReaderIsCutAtTheUnsentCap() throws {
        server.stop(gracePeriod: .seconds(1))
        server = try makeServer(events: events) { $0.maxUnsentResponseBytes = 4 * 1024 * 1024 }
        let c = try RawClient(port: port)
        c.send("GET /flood-blind HTTP/1.1\r\nHost: a\r\n\r\n")
        let start = Date()
        XCTAssertTrue(events.waitFor("blind flood cut", timeout: 10), "\(events.all)")
        XCTAssertLessThan(Date().timeIntervalSince(start), 1.5, "cut by the cap, not by the 2 s write timeout")
    }

    func testIdleKeepAliveConnectionIsClosed() throws {
        let c = try RawClient(port: port, receiveTimeout: 5)
        c.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(c.readResponse()?.status, 200)
        let start = Date()
        XCTAssertTrue(c.isClosedByPeer())
        XCTAssertLessThan(Date().timeIntervalSince(start), 3.5)
    }

    /// Smuggling and framing vectors over a real connection: 400 and the connection is closed.
    func testFramingSuiteIsAnswered400AndClosed() throws {
        let vectors: [(String, String)] = [
            ("CL.TE", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG"),
            ("TE.CL", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n1\r\nG\r\n0\r\n\r\n"),
            ("duplicate differing CL", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"),
            ("CL with sign", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc"),
            ("chunk size with plus", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n+3\r\nabc\r\n0\r\n\r\n"),
            ("obs-fold", "GET /echo HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n b\r\n\r\n"),
            ("bare LF", "GET /echo HTTP/1.1\nHost: a\n\n"),
            ("bare CR", "GET /echo HTTP/1.1\r\nHost: a\rX: b\r\n\r\n"),
            ("whitespace before colon", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length : 3\r\n\r\nabc"),
            ("TE obfuscated", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"),
        ]
        for (name, text) in vectors {
            let c = try RawClient(port: port)
            c.send(text)
            let r = c.readResponse()
            XCTAssertEqual(r?.status, 400, name)
            XCTAssertEqual(r?.headers["content-type"], "application/problem+json", name)
            XCTAssertEqual(r?.headers["connection"], "close", name)
            XCTAssertTrue(c.isClosedByPeer(), "\(name): connection left open")
            // Nothing smuggled reached a handler.
            XCTAssertFalse(c.pending.contains(UInt8(ascii: "H")), name)
        }
    }

    func testRawStreamedResponseIsChunked() throws {
        let c = try RawClient(port: port)
        c.send("GET /stream?n=3 HTTP/1.1\r\nHost: a\r\n\r\n")
        let r = c.readResponse()
        XCTAssertEqual(r?.headers["transfer-encoding"], "chunked")
        XCTAssertEqual(r?.text, "{\"i\":0}\n{\"i\":1}\n{\"i\":2}\n")
        // The connection stays usable after a streamed response.
        c.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(c.readResponse()?.text, "/slow")
    }

    func testHTTP10StreamIsCloseDelimited() throws {
        let c = try RawClient(port: port)
        c.send("GET /stream?n=2 HTTP/1.0\r\n\r\n")
        let r = c.readResponse()
        XCTAssertNil(r?.headers["transfer-encoding"])
        XCTAssertEqual(r?.text, "{\"i\":0}\n{\"i\":1}\n")
    }

    func testClientDisconnectCancelsTheHandler() throws {
        var c: RawClient? = try RawClient(port: port)
        c!.send("GET /wait-cancel HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertTrue(events.waitFor("started 1", timeout: 2))
        c = nil  // closes the socket
        XCTAssertTrue(events.waitFor("cancelled", timeout: 2), "\(events.all)")
        XCTAssertFalse(events.all.contains("not cancelled"))
    }

    func testHeadRequestHasNoBody() throws {
        let c = try RawClient(port: port)
        c.send("HEAD /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /slow?x HTTP/1.1\r\nHost: a\r\n\r\n")
        while !String(decoding: c.pending, as: UTF8.self).hasSuffix("/slow?x") { guard c.fill() else { break } }
        let text = String(decoding: c.pending, as: UTF8.self)
        // The HEAD response's head is followed directly by the next response, no body between.
        let parts = text.components(separatedBy: "\r\n\r\n")
        XCTAssertEqual(parts.count, 3, text)
        XCTAssertTrue(parts[0].contains("Content-Length: 5"), text)
        XCTAssertTrue(parts[1].hasPrefix("HTTP/1.1 200 OK"), text)
        XCTAssertEqual(parts[2], "/slow?x")
    }

    func testGzipForClientsThatAcceptIt() throws {
        let expected = "[" + (0..<200).map { "{\"i\":\($0)}" }.joined(separator: ",") + "]"
        var r = try runCurl(["--compressed", "-D", "/dev/stderr", "\(base)/json"])
        XCTAssertEqual(String(decoding: r.out, as: UTF8.self), expected)
        XCTAssertTrue(r.err.lowercased().contains("content-encoding: gzip"), r.err)

        r = try runCurl(["--compressed", "-N", "-D", "/dev/stderr", "\(base)/stream?n=4"])
        XCTAssertEqual(String(decoding: r.out, as: UTF8.self), (0..<4).map { "{\"i\":\($0)}\n" }.joined())
        XCTAssertTrue(r.err.lowercased().contains("content-encoding: gzip"), r.err)

        let c = try RawClient(port: port)
        c.send("GET /json HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip, deflate\r\n\r\n")
        let gz = c.readResponse()
        XCTAssertEqual(gz?.headers["content-encoding"], "gzip")
        XCTAssertEqual(Array(gz?.body.prefix(2) ?? []), [0x1f, 0x8b])
        XCTAssertLessThan(gz?.body.count ?? .max, expected.utf8.count / 2)
        for refusal in ["gzip;q=0", "identity", "br"] {
            c.send("GET /json HTTP/1.1\r\nHost: a\r\nAccept-Encoding: \(refusal)\r\n\r\n")
            let plain = c.readResponse()
            XCTAssertNil(plain?.headers["content-encoding"], refusal)
            XCTAssertEqual(plain?.text, expected, refusal)
        }
        // Small bodies are not worth compressing.
        c.send("GET /json?n=3 HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n")
        XCTAssertNil(c.readResponse()?.headers["content-encoding"])
    }

    func testDroppedResponderAnswers500AndDroppedStreamIsCut() throws {
        let c = try RawClient(port: port)
        c.send("GET /forget HTTP/1.1\r\nHost: a\r\n\r\n")
        let r = c.readResponse()
        XCTAssertEqual(r?.status, 500)
        XCTAssertTrue(r?.text.contains("without a response") ?? false)
        // The connection stays usable.
        c.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(c.readResponse()?.text, "/slow")

        let d = try RawClient(port: port)
        d.send("GET /forget-stream HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertTrue(d.isClosedByPeer(), "an unfinished chunked body must end in a closed connection")
        let raw = String(decoding: d.pending, as: UTF8.self)
        XCTAssertTrue(raw.hasSuffix("7\r\npartial\r\n"), raw)  // no terminating 0-size chunk
    }

    func testUnknownRouteGetsProblemJSON() throws {
        let r = try runCurl(["-w", "\n%{http_code} %{content_type}", "\(base)/nope"])
        let text = String(decoding: r.out, as: UTF8.self)
        XCTAssertTrue(text.hasSuffix("404 application/problem+json"), text)
    }
}

/// Server-wide behaviour that needs its own configuration.
final class HTTPServerLifecycleTests: XCTestCase {
    func testConnectionLimitRefusesCleanly() throws {
        let events = Events()
        let server = try makeServer(events: events) { $0.maxConnections = 2 }
        defer { server.stop(gracePeriod: .seconds(1)) }
        let a = try RawClient(port: server.port), b = try RawClient(port: server.port)
        a.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        b.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(a.readResponse()?.status, 200)
        XCTAssertEqual(b.readResponse()?.status, 200)
        let c = try RawClient(port: server.port)
        let r = c.readResponse()
        XCTAssertEqual(r?.status, 503)
        XCTAssertEqual(r?.headers["retry-after"], "1")
        XCTAssertTrue(c.isClosedByPeer())
        // The admitted connections still work.
        a.send("GET /slow?again HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(a.readResponse()?.text, "/slow?again")
    }

    /// Out of file descriptors: the server must shed the connection (not spin on a ready
    /// listener or die), then serve normally once descriptors are free again.
    func testDescriptorExhaustionIsSurvived() throws {
        let events = Events()
        let server = try makeServer(events: events)
        defer { server.stop(gracePeriod: .seconds(1)) }
        var saved = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved)
        var low = saved
        low.rlim_cur = 512
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &low)
        var hogs: [Int32] = []
        while true {
            let fd = open("/dev/null", O_RDONLY)
            if fd < 0 { break }
            hogs.append(fd)
        }
        close(hogs.removeLast())  // exactly one free descriptor: the client's socket
        var shedClosed = false
        if let c = try? RawClient(port: server.port, receiveTimeout: 3) {
            c.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
            shedClosed = c.isClosedByPeer() && c.pending.isEmpty
        }
        hogs.forEach { close($0) }
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved)
        XCTAssertTrue(shedClosed, "the connection accepted without a descriptor was not closed")
        let c = try RawClient(port: server.port)
        c.send("GET /slow?after HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(c.readResponse()?.text, "/slow?after")
    }

    func testGracefulStopFinishesInFlightRequests() throws {
        let events = Events()
        let server = try makeServer(events: events)
        let c = try RawClient(port: server.port)
        c.send("GET /slow?ms=500 HTTP/1.1\r\nHost: a\r\n\r\n")
        usleep(100_000)
        let stopped = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            server.stop(gracePeriod: .seconds(5))
            stopped.signal()
        }
        usleep(100_000)
        // New connections are refused once draining starts.
        XCTAssertThrowsError(try RawClient(port: server.port))
        let r = c.readResponse()
        XCTAssertEqual(r?.status, 200)
        XCTAssertEqual(r?.headers["connection"], "close")
        XCTAssertEqual(stopped.wait(timeout: .now() + 3), .success)
    }

    func testGracefulStopIsBoundedAndCancelsStragglers() throws {
        let events = Events()
        let server = try makeServer(events: events)
        let c = try RawClient(port: server.port)
        c.send("GET /never HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertTrue(events.waitFor("never 1", timeout: 2))
        let start = Date()
        server.stop(gracePeriod: .milliseconds(500))
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertLessThan(elapsed, 2)
        XCTAssertGreaterThan(elapsed, 0.4)
        XCTAssertTrue(events.waitFor("never cancelled", timeout: 2))
        XCTAssertTrue(c.isClosedByPeer())
    }
}
