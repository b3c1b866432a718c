// GET /v1/stream: the WebSocket upgrade of a live session (README "Live streams"). The API key may
// come as `Authorization: Bearer`, as the subprotocol `bearer.<key>` next to `affectd.v1` (what a
// browser can send), or as `?token=<key>`; the upgrade is refused with 401 without one, and with
// 503 at stream.max_sessions.
import HTTP
import Pipeline
import Synchronization

extension Service {
    static let streamSubprotocol = "affectd.v1"

    /// The keys a stream handshake presents besides the Authorization header, as header values.
    static func streamCredentials(_ head: HTTPRequestHead) -> [String] {
        let bearer = "bearer."
        let fromProtocols = head.webSocketProtocols.filter { $0.hasPrefix(bearer) }.map { "Bearer " + $0.dropFirst(bearer.count) }
        let fromQuery = ((try? QueryDecoder.parse(head.query))?["token"]).map { ["Bearer " + $0] } ?? []
        return fromProtocols + fromQuery
    }

    func openStream(_ exchange: Exchange) throws {
        let head = exchange.request.head
        let status = head.webSocketHandshakeStatus
        guard status == 101 else {
            // Not a WebSocket handshake: the HTTP module's refusal (400, 405 or 426).
            exchange.responder.upgradeToWebSocket(exchange.request, onMessage: { _, _ in })
            return _ = exchange.claim() ? exchange.record(status: status) : ()
        }
        guard streams.claimSlot() else {
            throw ProblemError(
                503, "\(streams.maxSessions) stream sessions are open (stream.max_sessions); retry later", headers: retryAfter)
        }
        guard exchange.claim() else { return streams.releaseSlot() }
        let subprotocol = head.webSocketProtocols.contains(Self.streamSubprotocol) ? Self.streamSubprotocol : nil
        // Whichever comes first, the upgrade returning or the first message, makes the session.
        let holder = SessionHolder { [self] socket in StreamSession(hub: streams, service: self, socket: socket) }
        let socket = exchange.responder.upgradeToWebSocket(
            exchange.request, subprotocol: subprotocol,
            onMessage: { socket, message in holder.session(for: socket)?.receive(message) },
            onClose: { [streams] _, _ in
                if let s = holder.close() { streams.unregister(s) }
                streams.releaseSlot()
            })
        guard let socket else {
            streams.releaseSlot()
            return exchange.record(status: 503)  // the HTTP server's own WebSocket limit
        }
        exchange.record(status: 101)
        _ = holder.session(for: socket)
    }
}

/// The session of one connection, made once on first use; after the close no session is made.
final class SessionHolder: Sendable {
    private let state = Mutex<(session: StreamSession?, closed: Bool)>((nil, false))
    private let make: @Sendable (WebSocket) -> StreamSession

    init(make: @escaping @Sendable (WebSocket) -> StreamSession) { self.make = make }

    func session(for socket: WebSocket) -> StreamSession? {
        state.withLock { s in
            if s.closed { return nil }
            if let session = s.session { return session }
            let session = make(socket)
            s.session = session
            session.start()
            return session
        }
    }

    func close() -> StreamSession? {
        state.withLock { s in
            s.closed = true
            return s.session
        }
    }
}
