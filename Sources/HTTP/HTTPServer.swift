// The server: one event-loop thread on epoll owns the listening socket and every connection
// (non-blocking sockets, no thread per idle connection). Handlers run on Dispatch queues and
// answer through an HTTPResponder, whose calls are posted back to the loop.
import Dispatch
import Foundation
import Glibc
import Logging
import Synchronization
import CEpoll
import COpenSSL

public final class HTTPServer: @unchecked Sendable {
    public let config: HTTPServerConfig
    let handler: HTTPHandler
    let logger: Logger

    // Set by start() before the loop thread exists, then read-only.
    public private(set) var port: UInt16 = 0
    var epfd: Int32 = -1
    var wakeFd: Int32 = -1

    // Loop-thread state.
    var listenFd: Int32 = -1
    var reserveFd: Int32 = -1
    var connections: [UInt64: Connection] = [:]
    var nextConnectionId: UInt64 = 2
    var requestCounter: UInt64 = 0
    var drainDeadline: UInt64?
    var tlsContext: TLSContext?
    /// TLS connections holding decrypted input that epoll cannot report.
    var rereads: Set<UInt64> = []
    /// Upgraded connections, counted when a handler accepts (any thread).
    let webSocketSlots = Atomic<Int>(0)

    /// Closures posted from other threads; `open` turns false when the loop has exited.
    let tasks = Mutex<(queue: [@Sendable () -> Void], open: Bool)>(([], true))
    let stopped = DispatchSemaphore(value: 0)
    let lifecycle = Mutex<(started: Bool, finished: Bool)>((false, false))

    static let listenerToken: UInt64 = 0
    static let wakeToken: UInt64 = 1

    public init(config: HTTPServerConfig, logger: Logger, handler: @escaping HTTPHandler) {
        self.config = config
        self.logger = logger
        self.handler = handler
    }

    // MARK: lifecycle

    /// Binds, listens and starts the event loop thread. `port` is valid when this returns.
    public func start() throws {
        signal(SIGPIPE, SIG_IGN)  // writes to a gone client must fail with EPIPE, not kill us
        if let tls = config.tls { tlsContext = try TLSContext(tls) }
        listenFd = try bindListener()
        reserveFd = open("/dev/null", O_RDONLY | O_CLOEXEC)
        epfd = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFd = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard epfd >= 0, wakeFd >= 0 else { throw HTTPServerError.system("epoll/eventfd", errno) }
        register(listenFd, token: Self.listenerToken, events: EPOLLIN.rawValue, op: EPOLL_CTL_ADD)
        register(wakeFd, token: Self.wakeToken, events: EPOLLIN.rawValue, op: EPOLL_CTL_ADD)
        lifecycle.withLock { $0.started = true }
        let thread = Thread { [self] in runLoop() }
        thread.name = "http-loop"
        thread.start()
        logger.info("http server listening", metadata: ["address": "\(config.host):\(port)", "tls": "\(tlsContext != nil)"])
    }

    /// Stops accepting, lets in-flight requests finish for at most `gracePeriod`, then closes
    /// every connection (cancelling what still runs). Blocks until the loop has exited.
    public func stop(gracePeriod: Duration = .seconds(10)) {
        let deadline = monotonicNanoseconds() + gracePeriod.nanoseconds
        execute { [self] in beginDrain(deadline: deadline) }
        waitUntilStopped()
    }

    public func waitUntilStopped() {
        let (started, finished) = lifecycle.withLock { ($0.started, $0.finished) }
        guard started, !finished else { return }
        stopped.wait()
        stopped.signal()  // let other waiters through too
    }

    /// Runs `task` on the loop thread (dropped if the loop has already exited).
    func execute(_ task: @escaping @Sendable () -> Void) {
        tasks.withLock { t in
            guard t.open else { return }
            t.queue.append(task)
            // One wake-up per batch: the loop drains the whole queue. Written under the lock so
            // the loop cannot close wakeFd in between.
            if t.queue.count == 1 {
                var one: UInt64 = 1
                _ = write(wakeFd, &one, 8)
            }
        }
    }

    func bindListener() throws -> Int32 {
        var v4 = sockaddr_in(), v6 = sockaddr_in6()
        let isV6 = config.host.contains(":")
        if isV6 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = config.port.bigEndian
            guard inet_pton(AF_INET6, config.host, &v6.sin6_addr) == 1 else { throw HTTPServerError.badAddress(config.host) }
        } else {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = config.port.bigEndian
            guard inet_pton(AF_INET, config.host, &v4.sin_addr) == 1 else { throw HTTPServerError.badAddress(config.host) }
        }
        let fd = socket(isV6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HTTPServerError.system("socket", errno) }
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        let rc =
            isV6
            ? withUnsafePointer(to: &v6) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
            : withUnsafePointer(to: &v4) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { let e = errno; close(fd); throw HTTPServerError.system("bind \(config.host):\(config.port)", e) }
        guard listen(fd, config.backlog) == 0 else { let e = errno; close(fd); throw HTTPServerError.system("listen", e) }
        var bound = sockaddr_in6()
        var len = socklen_t(MemoryLayout<sockaddr_in6>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = UInt16(bigEndian: bound.sin6_port)  // sin_port and sin6_port share the offset
        return fd
    }

    // MARK: loop

    func runLoop() {
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        var nextSweep: UInt64 = 0
        while true {
            let n = epoll_wait(epfd, &events, Int32(events.count), rereads.isEmpty ? 100 : 0)
            if n < 0 && errno != EINTR {
                logger.critical("epoll_wait failed", metadata: ["errno": "\(errno)"])
                break
            }
            for i in 0..<max(0, Int(n)) {
                let token = events[i].data.u64
                let flags = events[i].events
                if token == Self.listenerToken {
                    acceptAll()
                } else if token == Self.wakeToken {
                    var value: UInt64 = 0
                    _ = read(wakeFd, &value, 8)
                    runTasks()
                } else if let conn = connections[token] {
                    handleEvents(conn, flags)
                }
            }
            if !rereads.isEmpty {
                let ids = rereads
                rereads = []
                for id in ids { if let conn = connections[id], !conn.readPaused { readAvailable(conn) } }
            }
            let now = monotonicNanoseconds()
            if now >= nextSweep {
                sweep(now: now)
                nextSweep = now + 100_000_000
            }
            if drainDeadline != nil && connections.isEmpty { break }
        }
        for conn in Array(connections.values) { closeConnection(conn) }
        if listenFd >= 0 { close(listenFd); listenFd = -1 }
        // Tasks still queued are for connections that no longer exist: each finds nothing to
        // answer, but an upgrade accepted at the last moment still reports its close.
        let leftover = tasks.withLock { t in
            defer { t.queue = [] }
            t.open = false
            close(wakeFd)
            return t.queue
        }
        for task in leftover { task() }
        close(epfd)
        if reserveFd >= 0 { close(reserveFd) }
        lifecycle.withLock { $0.finished = true }
        logger.info("http server stopped")
        stopped.signal()
    }

    func runTasks() {
        let batch = tasks.withLock { t -> [@Sendable () -> Void] in
            defer { t.queue.removeAll() }
            return t.queue
        }
        for task in batch { task() }
    }

    func register(_ fd: Int32, token: UInt64, events: UInt32, op: Int32) {
        var ev = epoll_event()
        ev.events = events
        ev.data.u64 = token
        epoll_ctl(epfd, op, fd, &ev)
    }

    /// Keeps epoll interest in step with what the connection waits for.
    func updateInterest(_ conn: Connection) {
        var events = EPOLLRDHUP.rawValue
        if !conn.readPaused { events |= EPOLLIN.rawValue }
        if conn.wantWrite || conn.tls?.readWantsWrite == true { events |= EPOLLOUT.rawValue }
        if events != conn.registeredEvents {
            register(conn.fd, token: conn.id, events: events, op: EPOLL_CTL_MOD)
            conn.registeredEvents = events
        }
    }

    // MARK: accept

    func acceptAll() {
        while listenFd >= 0 {
            var addr = sockaddr_storage()
            var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    accept(listenFd, $0, &len)
                }
            }
            if fd >= 0 {
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            }
            if fd < 0 {
                switch errno {
                case EAGAIN, EWOULDBLOCK: return
                case EINTR, ECONNABORTED, EPROTO: continue
                case EMFILE, ENFILE:
                    // Out of descriptors: accept with the reserve and close at once, so the
                    // client gets a clean close instead of hanging in the backlog.
                    logger.warning("out of file descriptors; refusing a connection")
                    if reserveFd >= 0 { close(reserveFd); reserveFd = -1 }
                    let victim = accept(listenFd, nil, nil)
                    if victim >= 0 { close(victim) }
                    reserveFd = open("/dev/null", O_RDONLY | O_CLOEXEC)
                    if victim < 0 { return }
                    continue
                default:
                    logger.warning("accept failed", metadata: ["errno": "\(errno)"])
                    return
                }
            }
            if connections.count >= config.maxConnections {
                refuse(fd)
                continue
            }
            var on: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
            if let bytes = config.socketSendBufferBytes {
                var size = Int32(clamping: bytes)
                setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            }
            let id = nextConnectionId
            nextConnectionId += 1
            let conn = Connection(id: id, fd: fd, remoteAddress: describe(addr), limits: config.parser, now: monotonicNanoseconds())
            if let tlsContext {
                guard let session = tlsContext.session(fd: fd) else {
                    logger.error("cannot create a TLS session: \(tlsErrorText())")
                    close(fd)
                    continue
                }
                conn.tls = session
            }
            connections[id] = conn
            conn.registeredEvents = EPOLLIN.rawValue | EPOLLRDHUP.rawValue
            register(fd, token: id, events: conn.registeredEvents, op: EPOLL_CTL_ADD)
        }
    }

    /// At the connection limit: a best-effort 503 and close, without keeping any state.
    func refuse(_ fd: Int32) {
        logger.warning("connection limit reached; refusing", metadata: ["max_connections": "\(config.maxConnections)"])
        guard tlsContext == nil else { close(fd); return }  // no plaintext 503 inside a TLS handshake
        var out: [UInt8] = []
        var response = HTTPResponse.problem(
            status: 503, detail: "the server is at its connection limit (\(config.maxConnections)); retry later",
            extraHeaders: HTTPHeaders([("Retry-After", "1")]))
        response.headers.add("Content-Length", "\(response.body.count)")
        response.headers.add("Connection", "close")
        encodeHead(status: 503, headers: response.headers, into: &out)
        out.append(contentsOf: response.body)
        _ = out.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) }
        shutdown(fd, Int32(SHUT_WR))
        close(fd)
    }

    func describe(_ addr: sockaddr_storage) -> String {
        var addr = addr
        var host = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        if addr.ss_family == sa_family_t(AF_INET) {
            return withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { p in
                    var a = p.pointee.sin_addr
                    inet_ntop(AF_INET, &a, &host, socklen_t(host.count))
                    return "\(cString(host)):\(UInt16(bigEndian: p.pointee.sin_port))"
                }
            }
        }
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in
                var a = p.pointee.sin6_addr
                inet_ntop(AF_INET6, &a, &host, socklen_t(host.count))
                return "[\(cString(host))]:\(UInt16(bigEndian: p.pointee.sin6_port))"
            }
        }
    }

    // MARK: reading

    func handleEvents(_ conn: Connection, _ flags: UInt32) {
        // TLS can need the opposite direction: a read may wait for writability (handshake) and
        // a write for readability.
        let tlsReadWaiting = conn.tls?.readWantsWrite == true
        if flags & EPOLLOUT.rawValue != 0 || (conn.tls != nil && conn.outputPending > 0 && flags & EPOLLIN.rawValue != 0) {
            flush(conn)
            guard connections[conn.id] != nil else { return }
        }
        let hangup = flags & (EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0
        let writableForRead = tlsReadWaiting && flags & EPOLLOUT.rawValue != 0
        if flags & EPOLLIN.rawValue != 0 || writableForRead || (hangup && !conn.readPaused) {
            readAvailable(conn)
        } else if hangup {
            // Reading is paused (a pipelined backlog), but the client is gone.
            clientGone(conn)
        }
    }

    func readAvailable(_ conn: Connection) {
        var eof = false
        let wasWaiting = conn.tls?.readWantsWrite == true
        withUnsafeTemporaryAllocation(byteCount: 64 * 1024, alignment: 16) { buf in
            // Bounded, so one busy client cannot starve the others (TLS records are <= 16 KiB).
            for _ in 0..<(conn.tls == nil ? 8 : 32) {
                switch readSome(conn, buf) {
                case .done(let n):
                    if conn.phase == .closing { continue }  // draining after an error response
                    conn.append(UnsafeRawBufferPointer(rebasing: buf[0..<n]))
                    if conn.phase == .handling && conn.unconsumed > config.parser.maxHeaderBytes + 64 * 1024 { return }
                    if n < buf.count && conn.tls == nil { return }
                case .wouldBlock:
                    return
                case .eof, .failed:
                    eof = true
                    return
                }
            }
        }
        if wasWaiting != (conn.tls?.readWantsWrite == true) { updateInterest(conn) }
        if !eof, conn.tls?.hasBufferedInput == true { rereads.insert(conn.id) }
        process(conn)
        guard connections[conn.id] != nil else { return }
        if eof { clientGone(conn) }
    }

    func readSome(_ conn: Connection, _ buf: UnsafeMutableRawBufferPointer) -> IOResult {
        if let tls = conn.tls { return tls.read(buf) }
        while true {
            let n = recv(conn.fd, buf.baseAddress, buf.count, 0)
            if n > 0 { return .done(n) }
            if n == 0 { return .eof }
            if errno == EINTR { continue }
            return errno == EAGAIN || errno == EWOULDBLOCK ? .wouldBlock : .failed
        }
    }

    func writeSome(_ conn: Connection, _ bytes: UnsafeRawBufferPointer) -> IOResult {
        if let tls = conn.tls { return tls.write(bytes) }
        while true {
            let n = send(conn.fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            if n > 0 { return .done(n) }
            if n < 0 && errno == EINTR { continue }
            return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? .wouldBlock : .failed
        }
    }

    /// The peer closed (or reset). A running handler is cancelled: we treat a half-close like a
    /// close, because we cannot tell them apart without writing.
    func clientGone(_ conn: Connection) {
        if conn.phase == .handling {
            logger.debug("client went away; cancelling the request", metadata: ["connection": "\(conn.id)"])
        }
        closeConnection(conn)
    }

    /// Feeds buffered input to the parser until it needs more bytes or a handler has the request.
    func process(_ conn: Connection) {
        if conn.phase == .webSocket { return processWebSocket(conn) }
        while conn.phase == .head || conn.phase == .body {
            var bodyBytes: [UInt8]? = nil
            let (consumed, event) = conn.input.withUnsafeBytes { raw -> (Int, HTTPRequestParser.Event?) in
                let rest = UnsafeRawBufferPointer(rebasing: raw[conn.inputStart...])
                let step = conn.parser.parse(rest)
                if case .body(let range) = step.event { bodyBytes = Array(rest[range]) }
                return step
            }
            conn.inputStart += consumed
            guard let event else {
                if consumed == 0 { break }
                continue
            }
            switch event {
            case .head(let head): beginRequest(conn, head)
            case .body: appendBody(conn, bodyBytes!)
            case .end: dispatch(conn)
            case .error(let e):
                logger.info("refusing request", metadata: ["status": "\(e.status)", "detail": "\(e.detail)", "remote": "\(conn.remoteAddress)"])
                fail(conn, status: e.status, detail: e.detail)
            }
        }
        guard connections[conn.id] != nil else { return }
        if conn.phase == .head && conn.headStartedAt == nil && (conn.unconsumed > 0 || !conn.parser.isIdle) {
            conn.headStartedAt = monotonicNanoseconds()
        }
        // Pipelined requests wait in the buffer while one is handled; bound that buffer.
        let paused = conn.phase == .handling && conn.unconsumed > config.parser.maxHeaderBytes
        if paused != conn.readPaused {
            conn.readPaused = paused
            updateInterest(conn)
        }
    }

    func beginRequest(_ conn: Connection, _ head: HTTPRequestHead) {
        let now = monotonicNanoseconds()
        conn.head = head
        conn.phase = .body
        conn.lastActivity = now
        if head.expectsContinue && conn.unconsumed == 0 {
            conn.enqueue(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8), now: now)
            flush(conn)
        }
    }

    func appendBody(_ conn: Connection, _ bytes: [UInt8]) {
        conn.bodyCount += bytes.count
        conn.lastActivity = monotonicNanoseconds()
        if conn.bodyFile == nil && conn.bodyMemory.count + bytes.count > config.maxInMemoryBodyBytes {
            var template = Array("\(config.temporaryDirectory)/affectd-body-XXXXXX".utf8CString)
            let fd = mkstemp(&template)
            guard fd >= 0 else {
                logger.error("cannot create a temp file for a request body", metadata: ["errno": "\(errno)"])
                return fail(conn, status: 500, detail: "the server could not store the request body")
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            conn.bodyFile = (fd, cString(template))
            let spilled = conn.bodyMemory
            conn.bodyMemory = []
            guard writeAll(fd, spilled) else { return fail(conn, status: 500, detail: "the server could not store the request body") }
        }
        if let file = conn.bodyFile {
            guard writeAll(file.fd, bytes) else {
                logger.error("cannot write a request body to its temp file", metadata: ["errno": "\(errno)"])
                return fail(conn, status: 500, detail: "the server could not store the request body")
            }
        } else {
            conn.bodyMemory.append(contentsOf: bytes)
        }
    }

    func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 { if errno == EINTR { continue }; return false }
                off += n
            }
            return true
        }
    }

    func dispatch(_ conn: Connection) {
        guard let head = conn.head else { return }
        let body: HTTPRequestBody
        if let file = conn.bodyFile {
            close(file.fd)
            conn.bodyFile = nil
            conn.spooledPath = file.path
            body = .file(path: file.path, byteCount: conn.bodyCount)
        } else {
            body = conn.bodyMemory.isEmpty ? .empty : .bytes(conn.bodyMemory)
            conn.bodyMemory = []
        }
        conn.phase = .handling
        conn.sequence += 1
        requestCounter += 1
        conn.responseKeepAlive = head.keepAlive && drainDeadline == nil
        let gzip = config.gzip && head.method != "HEAD" && acceptsGzip(head.headers["Accept-Encoding"])
        let responder = HTTPResponder(
            sink: LoopSink(server: self, connection: conn.id, sequence: conn.sequence, pending: conn.pending),
            gzipMinimumBytes: gzip ? config.gzipMinimumBytes : nil,
            maxUnsentBytes: config.maxUnsentResponseBytes)
        conn.responder = responder
        let request = HTTPRequest(id: requestCounter, head: head, body: body, remoteAddress: conn.remoteAddress)
        logger.debug("request", metadata: ["request_id": "\(request.id)", "method": "\(head.method)", "path": "\(head.path)"])
        let handler = self.handler
        DispatchQueue.global().async { handler(request, responder) }
    }
}

func cString(_ chars: [CChar]) -> String {
    String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

public enum HTTPServerError: Error, CustomStringConvertible {
    case badAddress(String)
    case system(String, Int32)
    case tls(String)

    public var description: String {
        switch self {
        case .badAddress(let a): return "not a numeric IP address: \(a)"
        case .system(let what, let e): return "\(what): \(String(cString: strerror(e)))"
        case .tls(let what): return "TLS: \(what)"
        }
    }
}
