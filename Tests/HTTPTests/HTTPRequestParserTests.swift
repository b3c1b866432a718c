import XCTest
import Foundation
import HTTP

/// Runs the parser over `input` delivered in pieces of `step` bytes, the way a socket would.
struct ParseOutcome {
    var heads: [HTTPRequestHead] = []
    var bodies: [[UInt8]] = []
    var error: HTTPParseError?
}

func parseAll(_ input: [UInt8], step: Int = Int.max, limits: HTTPParserLimits = HTTPParserLimits()) -> ParseOutcome {
    var parser = HTTPRequestParser(limits: limits)
    var out = ParseOutcome()
    var buffer: [UInt8] = []
    var fed = 0
    var body: [UInt8] = []
    while true {
        let (consumed, event) = buffer.withUnsafeBytes { raw -> (Int, HTTPRequestParser.Event?) in
            let r = parser.parse(raw)
            if case .body(let range) = r.event { body.append(contentsOf: raw[range]) }
            return r
        }
        buffer.removeFirst(consumed)
        switch event {
        case .head(let h): out.heads.append(h)
        case .end: out.bodies.append(body); body = []
        case .error(let e): out.error = e; return out
        case .body, nil: break
        }
        if event == nil && consumed == 0 {
            if fed == input.count { return out }
            let n = min(step, input.count - fed)
            buffer.append(contentsOf: input[fed..<(fed + n)])
            fed += n
        }
    }
}

func parseAll(_ text: String, step: Int = Int.max, limits: HTTPParserLimits = HTTPParserLimits()) -> ParseOutcome {
    parseAll(Array(text.utf8), step: step, limits: limits)
}

final class HTTPRequestParserTests: XCTestCase {
    func testSimpleGet() {
        let r = parseAll("GET /v1/models?x=1 HTTP/1.1\r\nHost: a\r\nAccept:  */* \r\n\r\n")
        XCTAssertNil(r.error)
        XCTAssertEqual(r.heads.count, 1)
        let h = r.heads[0]
        XCTAssertEqual(h.method, "GET")
        XCTAssertEqual(h.target, "/v1/models?x=1")
        XCTAssertEqual(h.path, "/v1/models")
        XCTAssertEqual(h.query, "x=1")
        XCTAssertEqual(h.minorVersion, 1)
        XCTAssertEqual(h.headers["accept"], "*/*")
        XCTAssertEqual(h.framing, .none)
        XCTAssertTrue(h.keepAlive)
        XCTAssertEqual(r.bodies, [[]])
    }

    func testAbsoluteFormTargetsRouteByPath() {
        let h = parseAll("GET http://example.com:8080/v1/jobs/7?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n").heads[0]
        XCTAssertEqual(h.path, "/v1/jobs/7")
        XCTAssertEqual(h.query, "x=1")
        XCTAssertEqual(parseAll("GET HTTPS://example.com HTTP/1.1\r\nHost: a\r\n\r\n").heads[0].path, "/")
        XCTAssertEqual(parseAll("GET http://example.com?q HTTP/1.1\r\nHost: a\r\n\r\n").heads[0].query, "q")
        XCTAssertEqual(parseAll("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").heads[0].path, "*")
    }

    func testByteByByteFeedingGivesTheSameResult() {
        let text = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nHost: b\r\n\r\n"
        let whole = parseAll(text), drip = parseAll(text, step: 1)
        XCTAssertNil(drip.error)
        XCTAssertEqual(whole.heads, drip.heads)
        XCTAssertEqual(drip.heads.map(\.target), ["/a", "/b"])
        XCTAssertEqual(drip.bodies, [Array("hello".utf8), []])
    }

    func testChunkedBodyWithExtensionsAndTrailers() {
        let text =
            "POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\nA\r\n, world!!!\r\n0\r\nX-Checksum: 1\r\n\r\n"
        for step in [1, 3, 7, 1000] {
            let r = parseAll(text, step: step)
            XCTAssertNil(r.error, "step \(step)")
            XCTAssertEqual(r.heads.first?.framing, .chunked)
            XCTAssertEqual(r.bodies, [Array("hello, world!!!".utf8)], "step \(step)")
        }
    }

    func testHTTP10ConnectionSemantics() {
        XCTAssertFalse(parseAll("GET / HTTP/1.0\r\n\r\n").heads[0].keepAlive)
        XCTAssertTrue(parseAll("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").heads[0].keepAlive)
        XCTAssertFalse(parseAll("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").heads[0].keepAlive)
    }

    func testExpectContinue() {
        let r = parseAll("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc")
        XCTAssertTrue(r.heads[0].expectsContinue)
        XCTAssertEqual(parseAll("PUT / HTTP/1.1\r\nHost: a\r\nExpect: fancy\r\nContent-Length: 3\r\n\r\nabc").error?.status, 417)
    }

    func testLeadingEmptyLinesAreIgnored() {
        let r = parseAll("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertNil(r.error)
        XCTAssertEqual(r.heads.count, 1)
    }

    /// Request smuggling and malformed framing: each must be refused with the given status.
    func testFramingViolationsAreRefused() {
        let cases: [(String, String, Int)] = [
            ("CL.TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
            ("TE.CL", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n", 400),
            ("differing CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", 400),
            ("differing CL list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 5\r\n\r\nabcde", 400),
            ("CL with plus", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +4\r\n\r\nabcd", 400),
            ("CL negative", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
            ("CL hex", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x4\r\n\r\nabcd", 400),
            ("CL overflow", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400),
            ("CL empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", 400),
            ("chunk size plus", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n", 400),
            ("chunk size 0x", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", 400),
            ("chunk size empty", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\r\nhello\r\n0\r\n\r\n", 400),
            ("chunk size overflow", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", 400),
            ("chunk size trailing space", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n", 400),
            ("chunk without CRLF", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n", 400),
            ("chunk bare LF", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", 400),
            ("TE not chunked last", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 400),
            ("TE unknown", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
            ("TE in 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
            ("obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n  folded\r\n\r\n", 400),
            ("space before colon", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nhello", 400),
            ("tab before colon", "GET / HTTP/1.1\r\nHost: a\r\nX-A\t: 5\r\n\r\n", 400),
            ("bare LF", "GET / HTTP/1.1\nHost: a\n\n", 400),
            ("bare LF in header", "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", 400),
            ("bare CR", "GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n", 400),
            ("NUL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{0}b\r\n\r\n", 400),
            ("no host", "GET / HTTP/1.1\r\n\r\n", 400),
            ("two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            ("double space", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("lowercase version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400),
            ("HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
            ("bad method char", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("no colon", "GET / HTTP/1.1\r\nHost: a\r\nnocolon\r\n\r\n", 400),
        ]
        for (name, text, status) in cases {
            for step in [1, Int.max] {
                let r = parseAll(text, step: step)
                XCTAssertEqual(r.error?.status, status, "\(name) (step \(step))")
            }
        }
    }

    func testLimits() {
        var limits = HTTPParserLimits()
        limits.maxRequestLineBytes = 64
        limits.maxHeaderBytes = 256
        limits.maxHeaderCount = 5
        limits.maxBodyBytes = 100

        let longLine = "GET /" + String(repeating: "a", count: 100) + " HTTP/1.1\r\nHost: a\r\n\r\n"
        XCTAssertEqual(parseAll(longLine, limits: limits).error?.status, 414)
        // Refused as soon as the line is too long, even before its end arrives.
        XCTAssertEqual(parseAll("GET /" + String(repeating: "a", count: 100), limits: limits).error?.status, 414)
        // Exactly at the limit is fine.
        let atLimit = "GET /" + String(repeating: "a", count: 64 - 14) + " HTTP/1.1"
        XCTAssertEqual(atLimit.utf8.count, 64)
        XCTAssertNil(parseAll(atLimit + "\r\nHost: a\r\n\r\n", limits: limits).error)

        let manyHeaders = "GET / HTTP/1.1\r\nHost: a\r\n" + (1...5).map { "X-\($0): v\r\n" }.joined() + "\r\n"
        XCTAssertEqual(parseAll(manyHeaders, limits: limits).error?.status, 431)
        let fiveHeaders = "GET / HTTP/1.1\r\nHost: a\r\n" + (1...4).map { "X-\($0): v\r\n" }.joined() + "\r\n"
        XCTAssertNil(parseAll(fiveHeaders, limits: limits).error)

        let bigHeader = "GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "v", count: 300) + "\r\n\r\n"
        XCTAssertEqual(parseAll(bigHeader, limits: limits).error?.status, 431)
        XCTAssertEqual(parseAll(bigHeader, step: 1, limits: limits).error?.status, 431)

        XCTAssertEqual(parseAll("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n", limits: limits).error?.status, 413)
        XCTAssertNil(parseAll("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n" + String(repeating: "b", count: 100), limits: limits).error)

        // Chunked: counted as chunks arrive; the 413 comes mid-stream, after the first chunk's bytes.
        let chunk = "32\r\n" + String(repeating: "c", count: 50) + "\r\n"
        let r = parseAll("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + chunk + chunk + "0\r\n\r\n", limits: limits)
        XCTAssertEqual(r.error?.status, 413)
        XCTAssertEqual(r.heads.count, 1)
    }

    func testPipelinedRequestsInOneBuffer() {
        let text = (1...5).map { "GET /\($0) HTTP/1.1\r\nHost: a\r\n\r\n" }.joined()
        let r = parseAll(text)
        XCTAssertNil(r.error)
        XCTAssertEqual(r.heads.map(\.target), ["/1", "/2", "/3", "/4", "/5"])
    }

    func testErrorIsSticky() {
        var parser = HTTPRequestParser()
        let bad = Array("GET / HTTP/1.1\nHost: a\n\n".utf8)
        let first = bad.withUnsafeBytes { parser.parse($0) }
        let again = bad.withUnsafeBytes { parser.parse($0) }
        XCTAssertEqual(first.event, again.event)
        XCTAssertEqual(again.consumed, 0)
    }

    func testProblemBodyIsJSONWithEscapedDetail() throws {
        let p = HTTPResponse.problem(status: 400, detail: "bad \"quote\"\n")
        let obj = try JSONSerialization.jsonObject(with: Data(p.body)) as? [String: Any]
        XCTAssertEqual(obj?["status"] as? Int, 400)
        XCTAssertEqual(obj?["title"] as? String, "Bad Request")
        XCTAssertEqual(obj?["detail"] as? String, "bad \"quote\"\n")
        XCTAssertEqual(p.headers["content-type"], "application/problem+json")
    }
}
