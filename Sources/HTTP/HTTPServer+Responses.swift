// Responses on the loop thread: what a responder posts (full or streamed bodies), server-made
// errors, and flushing output to the socket.
import CEpoll
import Dispatch
import Glibc
import Logging

extension HTTPServer {
    // MARK: responding (loop thread; called through LoopSink)

    func current(_ id: UInt64, _ sequence: UInt64) -> Connection? {
        guard let conn = connections[id], conn.sequence == sequence, conn.phase == .handling, !conn.responseDone else { return nil }
        return conn
    }

    func sendFull(_ id: UInt64, _ sequence: UInt64, _ response: HTTPResponse) {
        guard let conn = current(id, sequence), !conn.responseStarted, let head = conn.head else { return }
        var headers = framed(response.headers, conn)
        let bodyAllowed = !(response.status < 200 || response.status == 204 || response.status == 304)
        if bodyAllowed { headers.add("Content-Length", "\(response.body.count)") }
        var out: [UInt8] = []
        out.reserveCapacity(256 + response.body.count)
        encodeHead(status: response.status, headers: headers, into: &out)
        if bodyAllowed && head.method != "HEAD" { out.append(contentsOf: response.body) }
        conn.responseStarted = true
        conn.responseDone = true
        conn.enqueue(out, now: monotonicNanoseconds())
        flush(conn)
    }

    func startStream(_ id: UInt64, _ sequence: UInt64, _ status: Int, _ headers: HTTPHeaders) {
        guard let conn = current(id, sequence), !conn.responseStarted, let head = conn.head else { return }
        conn.streamChunked = head.minorVersion == 1
        if !conn.streamChunked { conn.responseKeepAlive = false }  // HTTP/1.0: the close ends the body
        var h = framed(headers, conn)
        if conn.streamChunked { h.add("Transfer-Encoding", "chunked") }
        var out: [UInt8] = []
        encodeHead(status: status, headers: h, into: &out)
        conn.responseStarted = true
        conn.enqueue(out, now: monotonicNanoseconds())
        flush(conn)
    }

    func writeChunk(_ id: UInt64, _ sequence: UInt64, _ bytes: [UInt8]) {
        guard let conn = current(id, sequence), conn.responseStarted, conn.head?.method != "HEAD" else { return }
        var out: [UInt8] = []
        if conn.streamChunked {
            out.append(contentsOf: "\(String(bytes.count, radix: 16))\r\n".utf8)
            out.append(contentsOf: bytes)
            out.append(contentsOf: "\r\n".utf8)
        } else {
            out = bytes
        }
        conn.enqueue(out, now: monotonicNanoseconds())
        flush(conn)
    }

    func finishStream(_ id: UInt64, _ sequence: UInt64) {
        guard let conn = current(id, sequence), conn.responseStarted else { return }
        if conn.streamChunked && conn.head?.method != "HEAD" { conn.enqueue(Array("0\r\n\r\n".utf8), now: monotonicNanoseconds()) }
        conn.responseDone = true
        flush(conn)
    }

    func abortResponse(_ id: UInt64, _ sequence: UInt64, _ reason: String) {
        guard let conn = current(id, sequence) else { return }
        logger.warning("closing the connection: \(reason)", metadata: ["connection": "\(id)"])
        closeConnection(conn)
    }

    /// Drops handler-set framing headers (the server owns framing) and adds Connection: close
    /// when this response ends the connection.
    func framed(_ headers: HTTPHeaders, _ conn: Connection) -> HTTPHeaders {
        var h = headers
        h.remove("Content-Length")
        h.remove("Transfer-Encoding")
        h.remove("Connection")
        if drainDeadline != nil { conn.responseKeepAlive = false }
        if !conn.responseKeepAlive { h.add("Connection", "close") }
        return h
    }

    /// A server-generated error: problem+json, then close.
    func fail(_ conn: Connection, status: Int, detail: String) {
        var response = HTTPResponse.problem(status: status, detail: detail)
        response.headers.add("Content-Length", "\(response.body.count)")
        response.headers.add("Connection", "close")
        var out: [UInt8] = []
        encodeHead(status: status, headers: response.headers, into: &out)
        out.append(contentsOf: response.body)
        conn.removeSpooledBody()
        conn.phase = .closing
        if conn.readPaused {
            conn.readPaused = false
            updateInterest(conn)
        }
        conn.enqueue(out, now: monotonicNanoseconds())
        flush(conn)
    }

    // MARK: writing

    func flush(_ conn: Connection) {
        let now = monotonicNanoseconds()
        var broken = false
        writing: while conn.outputPending > 0 {
            let result = conn.output.withUnsafeBytes { raw in writeSome(conn, UnsafeRawBufferPointer(rebasing: raw[conn.outputStart...])) }
            switch result {
            case .done(let n):
                conn.outputStart += n
                // Only substantial progress resets the write timeout: a reader that accepts a
                // few bytes per window probe must not hold the connection forever.
                conn.bytesSinceProgress += n
                if conn.bytesSinceProgress >= 16 * 1024 || conn.outputPending == 0 {
                    conn.lastWriteProgress = now
                    conn.bytesSinceProgress = 0
                }
            case .wouldBlock:
                break writing
            case .eof, .failed:
                broken = true
                break writing
            }
        }
        if broken { return closeConnection(conn) }  // EPIPE/ECONNRESET: the client is gone
        conn.pending.unsent.store(conn.outputPending, ordering: .relaxed)
        if conn.outputPending == 0 {
            conn.output.removeAll(keepingCapacity: conn.output.capacity <= 1 << 20)
            conn.outputStart = 0
        }
        let wantWrite = conn.outputPending > 0
        if wantWrite != conn.wantWrite {
            conn.wantWrite = wantWrite
            updateInterest(conn)
        }
        guard !wantWrite else { return }
        if conn.phase == .handling && conn.responseDone {
            responseFinished(conn)
        } else if conn.phase == .closing && !conn.shutdownSent {
            // Half-close and keep reading for a moment, so unread request bytes do not turn
            // our error response into a reset the client never sees.
            conn.tls?.shutdown()
            shutdown(conn.fd, Int32(SHUT_WR))
            conn.shutdownSent = true
            conn.lingerDeadline = now + config.lingerTimeout.nanoseconds
        }
    }

    func responseFinished(_ conn: Connection) {
        conn.requestsServed += 1
        conn.resetRequest()
        if !conn.responseKeepAlive || drainDeadline != nil {
            conn.phase = .closing
            flush(conn)  // nothing pending: goes straight to the half-close
            return
        }
        conn.phase = .head
        conn.lastActivity = monotonicNanoseconds()
        if conn.readPaused {
            conn.readPaused = false
            updateInterest(conn)
        }
        if conn.tls?.hasBufferedInput == true { rereads.insert(conn.id) }
        process(conn)  // a pipelined request may already be buffered
    }

    func closeConnection(_ conn: Connection) {
        guard connections.removeValue(forKey: conn.id) != nil else { return }
        epoll_ctl(epfd, EPOLL_CTL_DEL, conn.fd, nil)
        close(conn.fd)
        conn.removeSpooledBody()
        if let responder = conn.responder, !conn.responseDone || conn.outputPending > 0 {
            DispatchQueue.global().async { responder.cancel() }
        }
        conn.responder = nil
        if let ws = conn.webSocket {
            conn.webSocket = nil
            ws.socket.didClose(ws.status?.code ?? .abnormalClosure, ws.status?.reason ?? "")
        }
    }
}

/// Posts a responder's calls to the loop thread.
struct LoopSink: ResponseSink {
    let server: HTTPServer
    let connection: UInt64
    let sequence: UInt64
    let pending: PendingCounter

    func sendFull(_ response: HTTPResponse) { server.execute { [self] in server.sendFull(connection, sequence, response) } }
    func startStream(status: Int, headers: HTTPHeaders) { server.execute { [self] in server.startStream(connection, sequence, status, headers) } }
    func writeChunk(_ bytes: [UInt8]) {
        pending.queued.add(bytes.count, ordering: .relaxed)
        server.execute { [self] in
            pending.queued.subtract(bytes.count, ordering: .relaxed)
            server.writeChunk(connection, sequence, bytes)
        }
    }
    func finishStream() { server.execute { [self] in server.finishStream(connection, sequence) } }
    func abort(_ reason: String) { server.execute { [self] in server.abortResponse(connection, sequence, reason) } }
    func pendingBytes() -> Int { pending.queued.load(ordering: .relaxed) + pending.unsent.load(ordering: .relaxed) }

    func acceptWebSocket(
        _ headers: HTTPHeaders, subprotocol: String?,
        onMessage: @escaping WebSocket.MessageHandler, onClose: @escaping WebSocket.CloseHandler
    ) -> WebSocket? {
        guard server.claimWebSocketSlot() else {
            sendFull(
                .problem(
                    status: 503, detail: "the server is at its WebSocket connection limit (\(server.config.webSocket.maxConnections)); retry later",
                    extraHeaders: HTTPHeaders([("Retry-After", "1")])))
            return nil
        }
        let socket = WebSocket(
            sink: WebSocketSink(server: server, connection: connection, pending: pending), subprotocol: subprotocol,
            config: server.config.webSocket, onMessage: onMessage, onClose: onClose)
        server.execute { [self] in server.upgrade(connection, sequence, headers, socket) }
        return socket
    }
}
