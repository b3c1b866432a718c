// Responses, their wire form, and RFC 9457 problem bodies for errors.

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public init(status: Int, contentType: String, body: String) {
        self.init(status: status, headers: HTTPHeaders([("Content-Type", contentType)]), body: Array(body.utf8))
    }

    /// An `application/problem+json` response (RFC 9457) with a human-readable detail.
    public static func problem(status: Int, detail: String, extraHeaders: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
        let json = "{\"type\":\"about:blank\",\"title\":\(jsonString(reasonPhrase(status))),\"status\":\(status),\"detail\":\(jsonString(detail))}"
        var headers = extraHeaders
        headers.add("Content-Type", "application/problem+json")
        return HTTPResponse(status: status, headers: headers, body: Array(json.utf8))
    }
}

/// Serialises a status line and header block; the caller decides framing headers.
func encodeHead(status: Int, headers: HTTPHeaders, into out: inout [UInt8]) {
    out.append(contentsOf: "HTTP/1.1 \(status) \(reasonPhrase(status))\r\n".utf8)
    for (name, value) in headers {
        // Never let a handler inject a line break into the head.
        guard !name.utf8.contains(where: { $0 < 33 || $0 == 58 }), !value.utf8.contains(where: { $0 == 13 || $0 == 10 }) else { continue }
        out.append(contentsOf: name.utf8)
        out.append(contentsOf: ": ".utf8)
        out.append(contentsOf: value.utf8)
        out.append(contentsOf: "\r\n".utf8)
    }
    out.append(contentsOf: "\r\n".utf8)
}

public func reasonPhrase(_ status: Int) -> String {
    switch status {
    case 100: return "Continue"
    case 101: return "Switching Protocols"
    case 200: return "OK"
    case 201: return "Created"
    case 202: return "Accepted"
    case 204: return "No Content"
    case 301: return "Moved Permanently"
    case 304: return "Not Modified"
    case 400: return "Bad Request"
    case 401: return "Unauthorized"
    case 403: return "Forbidden"
    case 404: return "Not Found"
    case 405: return "Method Not Allowed"
    case 408: return "Request Timeout"
    case 409: return "Conflict"
    case 411: return "Length Required"
    case 413: return "Content Too Large"
    case 414: return "URI Too Long"
    case 415: return "Unsupported Media Type"
    case 417: return "Expectation Failed"
    case 422: return "Unprocessable Content"
    case 426: return "Upgrade Required"
    case 429: return "Too Many Requests"
    case 431: return "Request Header Fields Too Large"
    case 500: return "Internal Server Error"
    case 501: return "Not Implemented"
    case 503: return "Service Unavailable"
    case 504: return "Gateway Timeout"
    case 505: return "HTTP Version Not Supported"
    default: return "Status \(status)"
    }
}

/// A JSON string literal for `s` (RFC 8259 escaping).
public func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where u.value < 0x20:
            let hex = String(u.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}
