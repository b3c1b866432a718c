// The one outbound HTTP request the service makes: a webhook POST over a socket, in TLS (OpenSSL,
// certificate and host name verified) for https, bounded by one timeout for connecting, the
// handshake, sending and reading the status line. (URLSession on Linux needs FoundationNetworking
// and libcurl at run time; this needs neither.)
import COpenSSL
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

struct WebhookClient {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let timeout: Double
    /// For https: the TLS client context (verification on; see `WebhookTLS`).
    let tls: WebhookTLS

    /// POSTs `body` and returns the response's status code.
    func post(_ url: CallbackURL, headers: [(String, String)], body: [UInt8]) throws(Failure) -> Int {
        let deadline = Date(timeIntervalSinceNow: timeout)
        let fd = try connect(url, deadline: deadline)
        defer { close(fd) }
        // From here the socket blocks, each call bounded by what is left of the timeout.
        var remaining = timeval(tv_sec: Int(max(0.001, deadline.timeIntervalSinceNow)), tv_usec: 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &remaining, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &remaining, socklen_t(MemoryLayout<timeval>.size))
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        let stream: WebhookStream = url.secure ? try tls.open(fd, host: url.host) : PlainStream(fd: fd)
        var head = "POST \(url.target) HTTP/1.1\r\nHost: \(url.hostHeader)\r\n"
        head += "Content-Length: \(body.count)\r\nConnection: close\r\nUser-Agent: affectd\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        try stream.write(Array(head.utf8) + body)
        return try status(stream)
    }

    private func connect(_ url: CallbackURL, deadline: Date) throws(Failure) -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(url.host, String(url.port), &hints, &list) == 0, let first = list else {
            throw Failure(description: "cannot resolve \(url.host)")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address for \(url.host)"
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let a = node {
            node = a.pointee.ai_next
            let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { continue }
            if Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 || errno == EINPROGRESS {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                if poll(&p, 1, Int32(max(0, deadline.timeIntervalSinceNow * 1000))) == 1 {
                    var err: Int32 = 0
                    var len = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
                    if err == 0 { return fd }
                    lastError = "connect: \(String(cString: strerror(err)))"
                } else {
                    lastError = "connect: timed out"
                }
            } else {
                lastError = "connect: \(String(cString: strerror(errno)))"
            }
            close(fd)
        }
        throw Failure(description: lastError)
    }

    /// Reads until the status line is complete; the rest of the response is not needed.
    private func status(_ stream: WebhookStream) throws(Failure) -> Int {
        var received: [UInt8] = []
        while !received.contains(0x0A) {
            guard received.count < 8192 else { throw Failure(description: "the status line is too long") }
            let chunk = try stream.read()
            guard !chunk.isEmpty else { throw Failure(description: "the connection closed before a status line") }
            received += chunk
        }
        let line = String(decoding: received.prefix { $0 != 0x0D && $0 != 0x0A }, as: UTF8.self)
        let fields = line.split(separator: " ")
        guard fields.count >= 2, fields[0].hasPrefix("HTTP/1."), let code = Int(fields[1]), (100...599).contains(code) else {
            throw Failure(description: "not an HTTP response: \(line.prefix(80))")
        }
        return code
    }
}

/// A connected socket, in the clear or in TLS.
protocol WebhookStream {
    func write(_ bytes: [UInt8]) throws(WebhookClient.Failure)
    /// Some bytes, or none at the end of the stream.
    func read() throws(WebhookClient.Failure) -> [UInt8]
}

struct PlainStream: WebhookStream {
    let fd: Int32

    func write(_ bytes: [UInt8]) throws(WebhookClient.Failure) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else {
                throw WebhookClient.Failure(description: errno == EAGAIN ? "send: timed out" : "send: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }

    func read() throws(WebhookClient.Failure) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n >= 0 else {
            throw WebhookClient.Failure(description: errno == EAGAIN ? "no response before the timeout" : "recv: \(String(cString: strerror(errno)))")
        }
        return Array(buffer[..<n])
    }
}
