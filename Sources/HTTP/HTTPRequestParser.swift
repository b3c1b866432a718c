// HTTP/1.1 request parser (RFC 9112): a state machine over bytes with no I/O. Strict on
// framing because every leniency here is a request-smuggling vector behind a proxy.

/// Limits the parser enforces while bytes arrive.
public struct HTTPParserLimits: Sendable, Equatable {
    public var maxRequestLineBytes = 8 * 1024
    /// Request line plus all header lines (and, separately, all trailer lines).
    public var maxHeaderBytes = 32 * 1024
    public var maxHeaderCount = 100
    public var maxBodyBytes = 64 * 1024 * 1024
    public init() {}
}

/// Feed it the unconsumed bytes of a connection; it reports how many it consumed and at most
/// one event. Bytes it did not consume must be presented again, first, on the next call.
/// Call again while it consumes bytes or returns an event.
public struct HTTPRequestParser: Sendable {
    public enum Event: Sendable, Equatable {
        case head(HTTPRequestHead)
        /// Body bytes at this range of the input just passed in (chunk framing removed).
        case body(Range<Int>)
        case end
        /// The request is refused; every later call returns the same error.
        case error(HTTPParseError)
    }

    enum State: Sendable {
        case head
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers(bytes: Int)
        case end
        case failed(HTTPParseError)
    }

    public let limits: HTTPParserLimits
    var state = State.head
    /// Bytes of the current head (or chunk-size line) already checked, so a slowly dripping
    /// head costs linear time.
    var scanned = 0
    var requestLineEnd: Int? = nil
    var bodyReceived = 0
    var trailerCount = 0

    public init(limits: HTTPParserLimits = HTTPParserLimits()) { self.limits = limits }

    /// True between messages (no byte of the next request seen yet).
    public var isIdle: Bool {
        if case .head = state { return scanned == 0 }
        return false
    }

    public mutating func parse(_ input: UnsafeRawBufferPointer) -> (consumed: Int, event: Event?) {
        let b = input.bindMemory(to: UInt8.self)
        switch state {
        case .failed(let e):
            return (0, .error(e))
        case .end:
            state = .head
            bodyReceived = 0
            return (0, .end)
        case .head:
            return parseHead(b)
        case .fixedBody(let remaining):
            let n = min(remaining, b.count)
            guard n > 0 else { return (0, nil) }
            state = remaining == n ? .end : .fixedBody(remaining: remaining - n)
            return (n, .body(0..<n))
        case .chunkData(let remaining):
            let n = min(remaining, b.count)
            guard n > 0 else { return (0, nil) }
            state = remaining == n ? .chunkDataEnd : .chunkData(remaining: remaining - n)
            return (n, .body(0..<n))
        case .chunkDataEnd:
            guard b.count >= 2 else {
                if b.count == 1 && b[0] != 13 { return fail(400, "chunk data is not followed by CRLF") }
                return (0, nil)
            }
            guard b[0] == 13 && b[1] == 10 else { return fail(400, "chunk data is not followed by CRLF") }
            state = .chunkSize
            return (2, nil)
        case .chunkSize:
            return parseChunkSize(b)
        case .trailers(let bytes):
            return parseTrailer(b, bytesSoFar: bytes)
        }
    }

    mutating func fail(_ status: Int, _ detail: String) -> (consumed: Int, event: Event?) {
        let e = HTTPParseError(status, detail)
        state = .failed(e)
        return (0, .error(e))
    }

    // MARK: head

    /// Finds the end of the head while checking line endings and size limits as bytes arrive.
    mutating func parseHead(_ b: UnsafeBufferPointer<UInt8>) -> (consumed: Int, event: Event?) {
        // RFC 9112 §2.2: ignore empty lines before a request line (some clients send a CRLF after a body).
        if scanned == 0 && b.count >= 2 && b[0] == 13 && b[1] == 10 { return (2, nil) }
        if scanned == 0 && b.count == 1 && b[0] == 13 { return (0, nil) }
        var i = scanned
        while i < b.count {
            let c = b[i]
            if c == 10 {
                guard i > 0 && b[i - 1] == 13 else { return fail(400, "bare LF in the request head; lines must end in CRLF") }
                if requestLineEnd == nil {
                    requestLineEnd = i - 1
                    if i - 1 > limits.maxRequestLineBytes { return fail(414, "request line longer than \(limits.maxRequestLineBytes) bytes") }
                } else if i >= 3 && b[i - 2] == 10 {
                    let headEnd = i + 1
                    let lineEnd = requestLineEnd!
                    scanned = 0
                    requestLineEnd = nil
                    return buildHead(b, requestLineEnd: lineEnd, headEnd: headEnd)
                }
            } else if c == 13 {
                if i + 1 == b.count { break }  // wait for the next byte
                guard b[i + 1] == 10 else { return fail(400, "bare CR in the request head") }
            }
            if requestLineEnd == nil && i >= limits.maxRequestLineBytes && c != 13 && c != 10 {
                return fail(414, "request line longer than \(limits.maxRequestLineBytes) bytes")
            }
            if i >= limits.maxHeaderBytes {
                return fail(431, "request head larger than \(limits.maxHeaderBytes) bytes")
            }
            i += 1
        }
        scanned = i
        return (0, nil)
    }

    mutating func buildHead(_ b: UnsafeBufferPointer<UInt8>, requestLineEnd: Int, headEnd: Int) -> (consumed: Int, event: Event?) {
        // Request line: method SP request-target SP HTTP-version, single spaces only.
        let line = UnsafeBufferPointer(rebasing: b[0..<requestLineEnd])
        guard let sp1 = line.firstIndex(of: 32) else { return fail(400, "malformed request line") }
        guard let sp2 = line[(sp1 + 1)...].firstIndex(of: 32) else { return fail(400, "malformed request line") }
        let method = line[0..<sp1], target = line[(sp1 + 1)..<sp2], version = line[(sp2 + 1)...]
        guard !method.isEmpty, method.allSatisfy(isTokenChar) else { return fail(400, "malformed method in the request line") }
        guard !target.isEmpty, target.allSatisfy({ $0 > 32 && $0 < 127 }) else {
            return fail(400, "malformed request target (must be visible ASCII, no spaces)")
        }
        let minor: Int
        switch Array(version) {
        case Array("HTTP/1.1".utf8): minor = 1
        case Array("HTTP/1.0".utf8): minor = 0
        default:
            if version.count == 8 && version.starts(with: "HTTP/".utf8) && isDigit(version[version.startIndex + 5])
                && version[version.startIndex + 6] == 46 && isDigit(version[version.startIndex + 7])
            {
                return fail(505, "only HTTP/1.0 and HTTP/1.1 are supported")
            }
            return fail(400, "malformed HTTP version in the request line")
        }

        // Header fields.
        var headers = HTTPHeaders()
        var start = requestLineEnd + 2
        let end = headEnd - 2
        while start < end {
            var lineEnd = start
            while b[lineEnd] != 13 { lineEnd += 1 }
            let field = UnsafeBufferPointer(rebasing: b[start..<lineEnd])
            switch parseField(field) {
            case .failure(let e): return fail(e.status, e.detail)
            case .success(let f): headers.add(f.name, f.value)
            }
            if headers.count > limits.maxHeaderCount { return fail(431, "more than \(limits.maxHeaderCount) header fields") }
            start = lineEnd + 2
        }

        var head = HTTPRequestHead(
            method: String(decoding: method, as: UTF8.self),
            target: String(decoding: target, as: UTF8.self),
            minorVersion: minor, headers: headers, framing: .none,
            keepAlive: minor == 1, expectsContinue: false)
        if let e = frame(&head) { return fail(e.status, e.detail) }
        switch head.framing {
        case .none: state = .end
        case .length(let n): state = n == 0 ? .end : .fixedBody(remaining: n)
        case .chunked: state = .chunkSize
        }
        return (headEnd, .head(head))
    }

    /// Validates one `name: value` line; obs-fold and whitespace before the colon are refused (RFC 9112 §5).
    func parseField(_ f: UnsafeBufferPointer<UInt8>) -> Result<(name: String, value: String), HTTPParseError> {
        guard let first = f.first else { return .failure(HTTPParseError(400, "empty header line")) }
        if first == 32 || first == 9 { return .failure(HTTPParseError(400, "obsolete line folding (obs-fold) in header fields")) }
        guard let colon = f.firstIndex(of: 58) else { return .failure(HTTPParseError(400, "header line without a colon")) }
        let name = f[0..<colon]
        if let last = name.last, last == 32 || last == 9 {
            return .failure(HTTPParseError(400, "whitespace between a header name and the colon"))
        }
        guard !name.isEmpty, name.allSatisfy(isTokenChar) else { return .failure(HTTPParseError(400, "invalid character in a header name")) }
        var lo = colon + 1, hi = f.count
        while lo < hi && (f[lo] == 32 || f[lo] == 9) { lo += 1 }
        while hi > lo && (f[hi - 1] == 32 || f[hi - 1] == 9) { hi -= 1 }
        let value = f[lo..<hi]
        // field-vchar / SP / HTAB / obs-text; control characters (NUL, CR, LF, DEL) are refused.
        guard value.allSatisfy({ $0 == 9 || ($0 >= 32 && $0 != 127) }) else {
            return .failure(HTTPParseError(400, "control character in a header value"))
        }
        return .success((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
    }

    /// Decides body framing, persistence and expectations from the header fields (RFC 9112 §6.3).
    mutating func frame(_ head: inout HTTPRequestHead) -> HTTPParseError? {
        let h = head.headers
        let hosts = h.values("Host")
        if head.minorVersion == 1 && hosts.count != 1 { return HTTPParseError(400, "HTTP/1.1 requires exactly one Host header") }
        if hosts.count > 1 { return HTTPParseError(400, "more than one Host header") }

        let te = h.values("Transfer-Encoding")
        let cl = h.values("Content-Length")
        if !te.isEmpty {
            if !cl.isEmpty { return HTTPParseError(400, "both Transfer-Encoding and Content-Length (ambiguous framing)") }
            if head.minorVersion == 0 { return HTTPParseError(400, "Transfer-Encoding in an HTTP/1.0 request") }
            let codings = te.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
                .map { $0.trimmingOWS() }
            guard let last = codings.last, asciiCaseInsensitiveEqual(String(last), "chunked") else {
                return HTTPParseError(400, "Transfer-Encoding does not end in chunked, so the body length is unknown")
            }
            guard codings.count == 1 else { return HTTPParseError(501, "only the chunked transfer coding is supported") }
            head.framing = .chunked
        } else if !cl.isEmpty {
            var length: Int? = nil
            for item in cl.flatMap({ $0.split(separator: ",", omittingEmptySubsequences: false) }) {
                let digits = item.trimmingOWS()
                guard !digits.isEmpty, digits.utf8.allSatisfy(isDigit) else { return HTTPParseError(400, "Content-Length is not a decimal number") }
                guard digits.utf8.count <= 18, let n = Int(digits) else { return HTTPParseError(400, "Content-Length is too large to represent") }
                if let l = length, l != n { return HTTPParseError(400, "differing Content-Length values") }
                length = n
            }
            if length! > limits.maxBodyBytes {
                return HTTPParseError(413, "request body of \(length!) bytes exceeds the limit of \(limits.maxBodyBytes) bytes")
            }
            head.framing = .length(length!)
        }

        let connection = h.values("Connection").flatMap { $0.split(separator: ",") }.map { $0.trimmingOWS().lowercased() }
        if connection.contains("close") { head.keepAlive = false } else if head.minorVersion == 0 { head.keepAlive = connection.contains("keep-alive") }

        if let expect = h["Expect"] {
            guard asciiCaseInsensitiveEqual(String(expect.trimmingOWS()), "100-continue") else {
                return HTTPParseError(417, "unsupported expectation; only 100-continue is known")
            }
            head.expectsContinue = head.minorVersion == 1 && head.framing != .none && head.framing != .length(0)
        }
        return nil
    }

    // MARK: chunked body

    /// chunk-size [ chunk-ext ] CRLF, hex digits only (no sign, no 0x, no spaces before the size).
    mutating func parseChunkSize(_ b: UnsafeBufferPointer<UInt8>) -> (consumed: Int, event: Event?) {
        let maxLine = 4096
        var i = scanned
        while i < b.count {
            let c = b[i]
            if c == 10 { return fail(400, "bare LF after a chunk size") }
            if c == 13 {
                if i + 1 == b.count { break }
                guard b[i + 1] == 10 else { return fail(400, "bare CR after a chunk size") }
                scanned = 0
                return chunkLine(UnsafeBufferPointer(rebasing: b[0..<i]), consumed: i + 2)
            }
            if i >= maxLine { return fail(400, "chunk-size line longer than \(maxLine) bytes") }
            i += 1
        }
        scanned = i
        return (0, nil)
    }

    mutating func chunkLine(_ line: UnsafeBufferPointer<UInt8>, consumed: Int) -> (consumed: Int, event: Event?) {
        var size = 0, digits = 0, i = 0
        while i < line.count, let v = hexValue(line[i]) {
            guard digits < 15 else { return fail(400, "chunk size too large") }
            size = size << 4 | v
            digits += 1
            i += 1
        }
        guard digits > 0 else { return fail(400, "chunk size is not a hexadecimal number") }
        // Optional extensions: BWS ";" ... ; we ignore their content but refuse control characters.
        var j = i
        while j < line.count && (line[j] == 32 || line[j] == 9) { j += 1 }
        if j < line.count {
            guard line[j] == 59 else { return fail(400, "invalid character after the chunk size") }
            guard line[j...].allSatisfy({ $0 == 9 || ($0 >= 32 && $0 != 127) }) else {
                return fail(400, "control character in a chunk extension")
            }
        } else if j != i {
            return fail(400, "whitespace after the chunk size")
        }
        if size == 0 {
            state = .trailers(bytes: 0)
            return (consumed, nil)
        }
        bodyReceived += size
        if bodyReceived > limits.maxBodyBytes {
            return fail(413, "chunked request body exceeds the limit of \(limits.maxBodyBytes) bytes")
        }
        state = .chunkData(remaining: size)
        return (consumed, nil)
    }

    /// Trailer fields after the last chunk: validated like header fields, counted, then dropped.
    mutating func parseTrailer(_ b: UnsafeBufferPointer<UInt8>, bytesSoFar: Int) -> (consumed: Int, event: Event?) {
        var i = scanned
        while i < b.count {
            let c = b[i]
            if c == 10 { return fail(400, "bare LF in the chunked trailer") }
            if c == 13 {
                if i + 1 == b.count { break }
                guard b[i + 1] == 10 else { return fail(400, "bare CR in the chunked trailer") }
                scanned = 0
                if i == 0 {
                    state = .end
                    trailerCount = 0
                    return (2, nil)
                }
                if case .failure(let e) = parseField(UnsafeBufferPointer(rebasing: b[0..<i])) { return fail(e.status, e.detail) }
                trailerCount += 1
                if trailerCount > limits.maxHeaderCount { return fail(431, "more than \(limits.maxHeaderCount) trailer fields") }
                state = .trailers(bytes: bytesSoFar + i + 2)
                return (i + 2, nil)
            }
            if bytesSoFar + i >= limits.maxHeaderBytes { return fail(431, "chunked trailer larger than \(limits.maxHeaderBytes) bytes") }
            i += 1
        }
        scanned = i
        return (0, nil)
    }
}

@inline(__always) func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }

@inline(__always) func hexValue(_ c: UInt8) -> Int? {
    switch c {
    case 48...57: return Int(c - 48)
    case 65...70: return Int(c - 55)
    case 97...102: return Int(c - 87)
    default: return nil
    }
}

/// tchar (RFC 9110 §5.6.2).
@inline(__always) func isTokenChar(_ c: UInt8) -> Bool {
    switch c {
    case 48...57, 65...90, 97...122: return true
    case 33, 35, 36, 37, 38, 39, 42, 43, 45, 46, 94, 95, 96, 124, 126: return true
    default: return false
    }
}

extension StringProtocol {
    /// Drops leading and trailing spaces and tabs (OWS).
    func trimmingOWS() -> Substring {
        let s = Substring(self)
        guard let lo = s.firstIndex(where: { $0 != " " && $0 != "\t" }) else { return s[s.endIndex...] }
        let hi = s.lastIndex(where: { $0 != " " && $0 != "\t" })!
        return s[lo...hi]
    }
}
