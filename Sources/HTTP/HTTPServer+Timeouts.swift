// Deadlines (head, body progress, idle, stalled writes, linger) and graceful draining (WebSockets
// get a 1001 close).
import CEpoll
import Glibc
import Logging

extension HTTPServer {
    // MARK: timeouts and draining

    func sweep(now: UInt64) {
        for conn in Array(connections.values) {
            switch conn.phase {
            case .head:
                if let started = conn.headStartedAt {
                    if now &- started > config.headerTimeout.nanoseconds {
                        logger.info("request head timeout", metadata: ["remote": "\(conn.remoteAddress)"])
                        fail(conn, status: 408, detail: "the request head was not received within \(config.headerTimeout)")
                    }
                } else {
                    let limit = conn.requestsServed == 0 ? config.headerTimeout : config.idleTimeout
                    if drainDeadline != nil || now &- conn.lastActivity > limit.nanoseconds { closeConnection(conn) }
                }
            case .body:
                if now &- conn.lastActivity > config.bodyProgressTimeout.nanoseconds {
                    logger.info("request body timeout", metadata: ["remote": "\(conn.remoteAddress)"])
                    fail(conn, status: 408, detail: "the request body made no progress for \(config.bodyProgressTimeout)")
                }
            case .handling:
                if conn.outputPending > 0 && now &- conn.lastWriteProgress > config.writeTimeout.nanoseconds {
                    logger.info("write timeout; closing", metadata: ["remote": "\(conn.remoteAddress)"])
                    closeConnection(conn)
                }
            case .webSocket:
                sweepWebSocket(conn, now: now)
            case .closing:
                if conn.outputPending > 0 && now &- conn.lastWriteProgress > config.writeTimeout.nanoseconds {
                    closeConnection(conn)
                } else if conn.shutdownSent && now > conn.lingerDeadline {
                    closeConnection(conn)
                }
            }
        }
        if let deadline = drainDeadline, now > deadline, !connections.isEmpty {
            logger.warning("grace period over; closing connections still in flight", metadata: ["connections": "\(connections.count)"])
            for conn in Array(connections.values) { closeConnection(conn) }
        }
    }

    func beginDrain(deadline: UInt64) {
        guard drainDeadline == nil else { return }
        drainDeadline = deadline
        if listenFd >= 0 {
            epoll_ctl(epfd, EPOLL_CTL_DEL, listenFd, nil)
            close(listenFd)
            listenFd = -1
        }
        logger.info("http server draining", metadata: ["in_flight": "\(connections.values.filter { $0.phase == .handling }.count)"])
        for conn in Array(connections.values) {
            if conn.phase == .head && conn.headStartedAt == nil { closeConnection(conn) }
            if conn.phase == .webSocket { closeWebSocket(conn, .goingAway, "the server is shutting down") }
        }
    }
}
