// An upgraded connection as a handler sees it: messages arrive through a callback, sends are
// safe from any thread, and a bounded outgoing buffer tells a producer when the client is slow.
import Dispatch
import Synchronization

extension HTTPResponder {
    /// Answers `request` by switching its connection to WebSocket (RFC 6455) and returns the
    /// connection; `subprotocol` must be one of `request.head.webSocketProtocols`. When the
    /// request is not a valid opening handshake, or the server is at its WebSocket limit, the
    /// refusal (400, 405, 426 or 503; 500 for a subprotocol the client did not offer) is sent
    /// and nil returned.
    ///
    /// `onMessage` receives every complete message in order, one at a time, on a queue of this
    /// connection; `onClose` runs once, after the last message, with the first close code either
    /// side sent (1005 when the client's close frame had none, 1006 when the connection dropped
    /// without one). Messages that arrive after the server started closing are dropped.
    @discardableResult
    public func upgradeToWebSocket(
        _ request: HTTPRequest, subprotocol: String? = nil,
        onMessage: @escaping WebSocket.MessageHandler,
        onClose: @escaping WebSocket.CloseHandler = { _, _ in }
    ) -> WebSocket? {
        let answer = WebSocketHandshake.answer(request.head, subprotocol: subprotocol)
        guard answer.status == 101 else {
            send(answer)
            return nil
        }
        guard claim() else { return nil }
        return sink.acceptWebSocket(answer.headers, subprotocol: subprotocol, onMessage: onMessage, onClose: onClose)
    }
}

public final class WebSocket: Sendable {
    public typealias MessageHandler = @Sendable (WebSocket, WebSocketMessage) -> Void
    public typealias CloseHandler = @Sendable (WebSocketCloseCode, String) -> Void

    /// The subprotocol agreed in the handshake, if any.
    public let subprotocol: String?
    /// `send` refuses a message while `bufferedBytes` is at or above this (`WebSocketConfig`).
    public let maxBufferedBytes: Int
    let sink: WebSocketSink
    /// Runs the handlers: messages, then the close, in order and one at a time.
    let queue = DispatchQueue(label: "affectd.websocket")
    /// Received bytes queued for `onMessage` but not yet handled; the loop stops reading while
    /// this exceeds `maxUndeliveredBytes`, so a slow handler slows its client instead of
    /// growing memory.
    let undelivered = Atomic<Int>(0)
    let maxUndeliveredBytes: Int

    struct State {
        var open = true
        var onMessage: MessageHandler?
        var onClose: CloseHandler?
    }
    let state: Mutex<State>

    init(
        sink: WebSocketSink, subprotocol: String?, config: WebSocketConfig,
        onMessage: @escaping MessageHandler, onClose: @escaping CloseHandler
    ) {
        self.sink = sink
        self.subprotocol = subprotocol
        self.maxBufferedBytes = config.maxBufferedBytes
        self.maxUndeliveredBytes = config.maxMessageBytes
        self.state = Mutex(State(onMessage: onMessage, onClose: onClose))
    }

    /// Outgoing bytes not yet taken by the kernel: sent messages queued for the event loop or
    /// buffered on the connection.
    public var bufferedBytes: Int { sink.pendingBytes() }

    /// False once either side has begun the close handshake or the connection dropped.
    public var isOpen: Bool { state.withLock { $0.open } }

    /// Queues a text message (one frame). Returns false, queueing nothing, when the connection
    /// is no longer open or `bufferedBytes` has reached `maxBufferedBytes`: the client is not
    /// keeping up, and the caller should drop or coalesce what it sends (for live data, skip
    /// to the newest) rather than wait. Safe from any thread; messages go out in call order.
    @discardableResult
    public func send(text: String) -> Bool { send(.text, Array(text.utf8)) }

    /// Queues a binary message; the same contract as `send(text:)`.
    @discardableResult
    public func send(binary: [UInt8]) -> Bool { send(.binary, binary) }

    func send(_ opcode: WebSocketOpcode, _ payload: [UInt8]) -> Bool {
        let frame = encodeWebSocketFrame(opcode, payload)
        // Checked and posted under the lock, so concurrent senders cannot all pass one check.
        return state.withLock { s in
            guard s.open, sink.pendingBytes() < maxBufferedBytes else { return false }
            sink.send(frame)
            return true
        }
    }

    /// Starts the close handshake: the client gets a close frame with `code` (1011 if `code` may
    /// not be sent) and `reason` (cut to fit 123 bytes); `onClose` follows when it answers or
    /// after `WebSocketConfig.closeTimeout`. Later sends return false.
    public func close(code: WebSocketCloseCode = .normalClosure, reason: String = "") {
        guard
            state.withLock({ s in
                defer { s.open = false }; return s.open
            })
        else { return }
        sink.close(code.isValidOnTheWire ? code : .internalError, reason)
    }

    // MARK: event loop side

    /// Hands a received message to `onMessage`; true when reading should pause.
    func deliver(_ message: WebSocketMessage) -> Bool {
        let n = message.byteCount
        let queued = undelivered.add(n, ordering: .relaxed).newValue
        queue.async { [self] in
            state.withLock { $0.onMessage }?(self, message)
            let (before, after) = undelivered.subtract(n, ordering: .relaxed)
            if before > maxUndeliveredBytes && after <= maxUndeliveredBytes { sink.resumeReading() }
        }
        return queued > maxUndeliveredBytes
    }

    var mayResumeReading: Bool { undelivered.load(ordering: .relaxed) <= maxUndeliveredBytes }

    /// A close frame was sent or received: nothing more may be sent.
    func stopSending() { state.withLock { $0.open = false } }

    /// The connection is gone (called once): frees its slot and runs `onClose` after any
    /// messages still queued, then drops the handlers (they may hold this object).
    func didClose(_ code: WebSocketCloseCode, _ reason: String) {
        stopSending()
        sink.releaseSlot()
        queue.async { [self] in
            let onClose = state.withLock { s in
                defer { s.onMessage = nil; s.onClose = nil }
                return s.onClose
            }
            onClose?(code, reason)
        }
    }
}
