import Foundation
import HTTP
import Logging
import XCTest

/// TLS through OpenSSL, exercised by curl with a throw-away self-signed certificate.
final class HTTPTLSTests: XCTestCase {
    var dir: URL!
    var server: HTTPServer!
    var base: String { "https://127.0.0.1:\(server.port)" }

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("affectd-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-keyout", dir.appendingPathComponent("key.pem").path,
            "-out", dir.appendingPathComponent("cert.pem").path,
        ]
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "openssl could not make a test certificate")
        server = try makeServer(events: Events()) {
            $0.tls = HTTPTLSConfig(
                certificatePath: self.dir.appendingPathComponent("cert.pem").path,
                privateKeyPath: self.dir.appendingPathComponent("key.pem").path)
        }
    }

    override func tearDown() {
        server?.stop(gracePeriod: .seconds(2))
        try? FileManager.default.removeItem(at: dir)
    }

    func testCurlOverTLSWithKeepAliveGzipAndStreaming() throws {
        var r = try runCurl(["-k", "-v", "\(base)/slow?a", "\(base)/slow?b"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(String(decoding: r.out, as: UTF8.self), "/slow?a/slow?b")
        XCTAssertTrue(r.err.contains("Re-using existing connection") || r.err.contains("Reusing existing"), r.err)
        XCTAssertTrue(r.err.contains("SSL connection using TLSv1.3"), r.err)

        let expected = "[" + (0..<200).map { "{\"i\":\($0)}" }.joined(separator: ",") + "]"
        r = try runCurl(["-k", "--compressed", "\(base)/json"])
        XCTAssertEqual(String(decoding: r.out, as: UTF8.self), expected, r.err)

        r = try runCurl(["-k", "-N", "\(base)/stream?n=3"])
        XCTAssertEqual(String(decoding: r.out, as: UTF8.self), "{\"i\":0}\n{\"i\":1}\n{\"i\":2}\n", r.err)
    }

    func testLargeUploadOverTLS() throws {
        let large = Data((0..<200_000).map { UInt8($0 % 241) })
        let r = try runCurl(["-k", "--data-binary", "@-", "\(base)/echo"], stdin: large)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out == large)
    }

    func testPlaintextOnTheTLSPortIsDroppedAndTheServerCarriesOn() throws {
        let c = try RawClient(port: server.port)
        c.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertTrue(c.isClosedByPeer())
        XCTAssertFalse(String(decoding: c.pending, as: UTF8.self).contains("/slow"))
        let r = try runCurl(["-k", "\(base)/slow?ok"])
        XCTAssertEqual(String(decoding: r.out, as: UTF8.self), "/slow?ok", r.err)
    }

    func testMissingKeyFailsAtStart() {
        var config = HTTPServerConfig()
        config.port = 0
        config.tls = HTTPTLSConfig(certificatePath: dir.appendingPathComponent("cert.pem").path, privateKeyPath: "/nonexistent/key.pem")
        let s = HTTPServer(config: config, logger: Logger(label: "t"), handler: { _, r in r.send(HTTPResponse(status: 200)) })
        XCTAssertThrowsError(try s.start()) { XCTAssertTrue("\($0)".contains("private key"), "\($0)") }
    }
}
