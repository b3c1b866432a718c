// The body of a request as the analysis routes read it: its media type, the bytes (in memory or
// the server's spooled file) and multipart parts. Every refusal is a ProblemError.
import Foundation
import HTTP
import Media

extension HTTPRequest {
    /// `application/json; charset=x` -> `application/json`.
    var mediaType: String? { Self.mediaType(head.headers["Content-Type"]) }

    static func mediaType(_ header: String?) -> String? {
        header.map { $0.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? "" }
    }

    func requireBody() throws(ProblemError) {
        if case .none = head.framing {
            throw ProblemError(411, "a body is required: send Content-Length or Transfer-Encoding: chunked")
        }
    }

    /// The body as one media source: in memory, or the server's spooled file.
    func bodySource() throws(ProblemError) -> MediaSource {
        switch body {
        case .empty: throw ProblemError(400, "the request body is empty: send the media as the body")
        case .bytes(let b): return .memory(Data(b))
        case .file(let path, _): return .file(path)
        }
    }

    func bodyData() throws(ProblemError) -> Data {
        switch body {
        case .empty: return Data()
        case .bytes(let b): return Data(b)
        case .file(let path, _):
            guard let d = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
                throw ProblemError(500, "the spooled request body could not be read")
            }
            return d
        }
    }

    func multipartParts() throws(ProblemError) -> [MultipartPart] {
        guard let boundary = Multipart.boundary(contentType: head.headers["Content-Type"] ?? "") else {
            throw ProblemError(400, "multipart/form-data needs a boundary parameter")
        }
        let data = try bodyData()
        do { return try Multipart.parse(data, boundary: boundary) } catch { throw ProblemError(400, error.description) }
    }
}
