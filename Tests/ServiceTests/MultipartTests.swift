import Foundation
import XCTest
@testable import Service

final class MultipartTests: XCTestCase {
    func body(_ s: String) -> Data { Data(s.replacingOccurrences(of: "\n", with: "\r\n").utf8) }

    func testSplitsPartsWithNamesTypesAndBinaryBodies() throws {
        var d = body("--XyZ\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp4\"\nContent-Type: video/mp4\n\n")
        d.append(Data([0, 13, 10, 45, 45, 255]))  // CRLF-- inside a body is not a delimiter without the boundary
        d.append(body("\n--XyZ\nContent-Disposition: form-data; name=options\n\n{\"fps\":2}\n--XyZ--\n"))
        let parts = try Multipart.parse(d, boundary: "XyZ")
        XCTAssertEqual(parts.map(\.name), ["file", "options"])
        XCTAssertEqual(parts[0].filename, "a.mp4")
        XCTAssertEqual(parts[0].contentType, "video/mp4")
        XCTAssertEqual(parts[0].body, Data([0, 13, 10, 45, 45, 255]))
        XCTAssertEqual(String(decoding: parts[1].body, as: UTF8.self), "{\"fps\":2}")
        XCTAssertEqual(Multipart.boundary(contentType: "multipart/form-data; boundary=\"XyZ\""), "XyZ")
        XCTAssertNil(Multipart.boundary(contentType: "multipart/form-data"))
    }

    func testMalformedBodiesThrowInsteadOfCrashing() {
        let bad = [
            "", "garbage", "--XyZ", "--XyZ\n", "--XyZ\nContent-Disposition: form-data; name=\"a\"\n",
            "--XyZ\nContent-Disposition: form-data; name=\"a\"\n\nunterminated",
            "--XyZ\nno colon here\n\nx\n--XyZ--", "--XyZ\nContent-Type: text/plain\n\nx\n--XyZ--", "--XyZjunk",
        ]
        for b in bad { XCTAssertThrowsError(try Multipart.parse(body(b), boundary: "XyZ"), "\(b)") }
        // Every prefix of a valid body either parses or throws.
        let valid = body("--B\nContent-Disposition: form-data; name=\"f\"\n\nabc\n--B--\n")
        for n in 0...valid.count { _ = try? Multipart.parse(valid.prefix(n), boundary: "B") }
    }
}
