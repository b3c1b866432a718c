// The one outbound HTTP request the service makes: a webhook POST over a plain socket, bounded by
// one timeout for connecting, sending and reading the status line. (URLSession on Linux needs
// FoundationNetworking and libcurl at run time; this needs neither.)
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

struct WebhookClient {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let timeout: Double

    /// POSTs `body` and returns the response's status code.
    func post(_ url: CallbackURL, headers: [(String, String)], body: [UInt8]) throws(Failure) -> Int {
        let deadline = Date(timeIntervalSinceNow: timeout)
        let fd = try connect(url, deadline: deadline)
        defer { close(fd) }
        var head = "POST \(url.target) HTTP/1.1\r\nHost: \(url.host.contains(":") ? "[\(url.host)]" : url.host):\(url.port)\r\n"
        head += "Content-Length: \(body.count)\r\nConnection: close\r\nUser-Agent: affectd\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        try send(fd, Array(head.utf8) + body, deadline: deadline)
        return try status(fd, deadline: deadline)
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
                if wait(fd, events: Int16(POLLOUT), deadline: deadline) {
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

    private func send(_ fd: Int32, _ bytes: [UInt8], deadline: Date) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                offset += n
            } else if n < 0 && (errno == EAGAIN || errno == EINTR) {
                guard wait(fd, events: Int16(POLLOUT), deadline: deadline) else { throw Failure(description: "send: timed out") }
            } else {
                throw Failure(description: "send: \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Reads until the status line is complete; the rest of the response is not needed.
    private func status(_ fd: Int32, deadline: Date) throws(Failure) -> Int {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        while !received.contains(0x0A) {
            guard received.count < 8192 else { throw Failure(description: "the status line is too long") }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                received += buffer[..<n]
            } else if n == 0 {
                throw Failure(description: "the connection closed before a status line")
            } else if errno == EAGAIN || errno == EINTR {
                guard wait(fd, events: Int16(POLLIN), deadline: deadline) else { throw Failure(description: "no response before the timeout") }
            } else {
                throw Failure(description: "recv: \(String(cString: strerror(errno)))")
            }
        }
        let line = String(decoding: received.prefix { $0 != 0x0D && $0 != 0x0A }, as: UTF8.self)
        let fields = line.split(separator: " ")
        guard fields.count >= 2, fields[0].hasPrefix("HTTP/1."), let code = Int(fields[1]), (100...599).contains(code) else {
            throw Failure(description: "not an HTTP response: \(line.prefix(80))")
        }
        return code
    }

    private func wait(_ fd: Int32, events: Int16, deadline: Date) -> Bool {
        var p = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let ms = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
            let r = poll(&p, 1, ms)
            if r > 0 { return true }
            if r == 0 || errno != EINTR { return false }
        }
    }
}
