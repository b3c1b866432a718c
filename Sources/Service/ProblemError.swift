// A refusal on its way to the client: status, detail and the headers that go with it (Allow,
// WWW-Authenticate, Retry-After). It stays this value until `response` writes it as problem+json.
import HTTP

struct ProblemError: Error, Sendable, Encodable {
    let status: Int
    let detail: String
    var headers = HTTPHeaders()

    /// A job record's `error` shows status and detail; headers belong to a response only.
    enum CodingKeys: String, CodingKey { case status, detail }

    init(_ status: Int, _ detail: String, headers: HTTPHeaders = HTTPHeaders()) {
        self.status = status
        self.detail = detail
        self.headers = headers
    }

    /// The RFC 9457 body the HTTP module writes for its own errors too.
    var response: HTTPResponse { .problem(status: status, detail: detail, extraHeaders: headers) }
}
