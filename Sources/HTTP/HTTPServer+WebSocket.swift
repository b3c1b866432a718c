// WebSocket connections on the event loop: the upgrade, frames in and out, the close handshake,
// idle pings, and the sink through which a WebSocket posts its calls to the loop.
import Glibc
import Logging

extension HTTPServer {
    /// At most `maxConnections` upgraded connections; the slot is freed by `WebSocket.didClose`.
    func claimWebSocketSlot() -> Bool {
        if webSocketSlots.add(1, ordering: .relaxed).newValue <= config.webSocket.maxConnections { return true }
        webSocketSlots.subtract(1, ordering: .relaxed)
        return false
    }

    /// The handler accepted the upgrade: send the 101 and read frames from now on (including any
    /// the client sent right behind its handshake).
    func upgrade(_ id: UInt64, _ sequence: UInt64, _ headers: HTTPHeaders, _ socket: WebSocket) {
        guard let conn = current(id, sequence), !conn.responseStarted else {
            return socket.didClose(.abnormalClosure, "the connection ended before the upgrade")
        }
        let now = monotonicNanoseconds()
        var out: [UInt8] = []
        encodeHead(status: 101, headers: headers, into: &out)
        conn.resetRequest()
        conn.phase = .webSocket
        conn.webSocket = WebSocketConnection(socket: socket, config: config.webSocket, now: now)
        conn.enqueue(out, now: now)
        if conn.readPaused {
            conn.readPaused = false
            updateInterest(conn)
        }
        if drainDeadline != nil {
            closeWebSocket(conn, .goingAway, "the server is shutting down")
        } else {
            processWebSocket(conn)
        }
    }

    /// Feeds buffered input to the frame parser until it needs more bytes, the handler falls
    /// behind, or the connection starts closing; then flushes what the frames called for.
    func processWebSocket(_ conn: Connection) {
        guard let ws = conn.webSocket else { return }
        let now = monotonicNanoseconds()
        while conn.phase == .webSocket && !conn.readPaused {
            let (consumed, event) = conn.input.withUnsafeBytes { raw in
                ws.parser.parse(UnsafeRawBufferPointer(rebasing: raw[conn.inputStart...]))
            }
            conn.inputStart += consumed
            if consumed > 0 {
                ws.lastReceived = now
                ws.pinged = false
            }
            guard let event else {
                if consumed == 0 { break }
                continue
            }
            switch event {
            case .message(let message):
                // After our close frame, data is dropped (RFC 6455 §1.4).
                if ws.closeSentAt == nil && ws.socket.deliver(message) {
                    conn.readPaused = true
                    updateInterest(conn)
                }
            case .ping(let payload):
                if ws.closeSentAt == nil { conn.enqueue(encodeWebSocketFrame(.pong, payload), now: now) }
            case .pong:
                break
            case .close(let code, let reason):
                ws.record(code ?? .noStatusReceived, reason)
                if ws.closeSentAt == nil {
                    // Echo the code (an empty close answers an empty one).
                    conn.enqueue(code.map { encodeWebSocketClose($0, reason: "") } ?? encodeWebSocketFrame(.close, []), now: now)
                }
                endWebSocket(conn)
            case .error(let code, let detail):
                logger.info("failing a WebSocket connection", metadata: ["code": "\(code)", "detail": "\(detail)", "remote": "\(conn.remoteAddress)"])
                ws.record(code, detail)
                if ws.closeSentAt == nil { conn.enqueue(encodeWebSocketClose(code, reason: detail), now: now) }
                endWebSocket(conn)
            }
        }
        flush(conn)
    }

    /// Both close frames are out (or the connection failed): once the output drains, `flush`
    /// half-closes and the `.closing` linger waits for the client to close its side.
    func endWebSocket(_ conn: Connection) {
        conn.webSocket?.socket.stopSending()
        conn.phase = .closing
        if conn.readPaused {
            conn.readPaused = false
            updateInterest(conn)
        }
    }

    /// Starts a server-side close: the handler's `close`, the idle timeout, or a graceful stop.
    func closeWebSocket(_ conn: Connection, _ code: WebSocketCloseCode, _ reason: String) {
        guard conn.phase == .webSocket, let ws = conn.webSocket, ws.closeSentAt == nil else { return }
        let now = monotonicNanoseconds()
        ws.record(code, reason)
        ws.closeSentAt = now
        ws.socket.stopSending()
        conn.enqueue(encodeWebSocketClose(code, reason: reason), now: now)
        flush(conn)
    }

    func sendWebSocketFrame(_ id: UInt64, _ frame: [UInt8]) {
        guard let conn = connections[id], conn.phase == .webSocket, conn.webSocket?.closeSentAt == nil else { return }
        conn.enqueue(frame, now: monotonicNanoseconds())
        flush(conn)
    }

    /// The handler caught up with a paused connection's messages.
    func resumeWebSocket(_ id: UInt64) {
        guard let conn = connections[id], conn.phase == .webSocket, conn.readPaused,
            conn.webSocket?.socket.mayResumeReading == true
        else { return }
        conn.readPaused = false
        updateInterest(conn)
        if conn.tls?.hasBufferedInput == true { rereads.insert(conn.id) }
        processWebSocket(conn)
    }

    /// Timeouts of an open WebSocket (called by `sweep`).
    func sweepWebSocket(_ conn: Connection, now: UInt64) {
        guard let ws = conn.webSocket else { return }
        let limits = config.webSocket
        if conn.outputPending > 0 && now &- conn.lastWriteProgress > config.writeTimeout.nanoseconds {
            logger.info("WebSocket write timeout; closing", metadata: ["remote": "\(conn.remoteAddress)"])
            closeConnection(conn)
        } else if let sent = ws.closeSentAt {
            if now &- sent > limits.closeTimeout.nanoseconds { closeConnection(conn) }
        } else if now &- ws.lastReceived > limits.idleTimeout.nanoseconds {
            closeWebSocket(conn, .goingAway, "no traffic for \(limits.idleTimeout)")
        } else if !ws.pinged && now &- ws.lastReceived > limits.idleTimeout.nanoseconds / 2 {
            ws.pinged = true
            conn.enqueue(encodeWebSocketFrame(.ping, []), now: now)
            flush(conn)
        }
    }
}

/// Posts a WebSocket's calls to the loop thread.
struct WebSocketSink: Sendable {
    let server: HTTPServer
    let connection: UInt64
    let pending: PendingCounter

    func send(_ frame: [UInt8]) {
        pending.queued.add(frame.count, ordering: .relaxed)
        server.execute { [self] in
            pending.queued.subtract(frame.count, ordering: .relaxed)
            server.sendWebSocketFrame(connection, frame)
        }
    }

    func close(_ code: WebSocketCloseCode, _ reason: String) {
        server.execute { [self] in
            if let conn = server.connections[connection] { server.closeWebSocket(conn, code, reason) }
        }
    }

    func resumeReading() { server.execute { [self] in server.resumeWebSocket(connection) } }
    func pendingBytes() -> Int { pending.queued.load(ordering: .relaxed) + pending.unsent.load(ordering: .relaxed) }
    func releaseSlot() { server.webSocketSlots.subtract(1, ordering: .relaxed) }
}
