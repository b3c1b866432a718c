// What a handler receives, and the responder it answers through (from any thread, any time later).
import Synchronization

public struct HTTPRequest: Sendable {
    /// Unique per server run; use it as the request id in logs.
    public let id: UInt64
    public let head: HTTPRequestHead
    public let body: HTTPRequestBody
    /// "address:port" of the client.
    public let remoteAddress: String
}

public enum HTTPRequestBody: Sendable, Equatable {
    case empty
    case bytes([UInt8])
    /// A body larger than `maxInMemoryBodyBytes`, spooled to this file. The server deletes the
    /// file once the response is finished; rename it to keep it.
    case file(path: String, byteCount: Int)
}

/// Called off the event loop (on a Dispatch global queue); may answer immediately or much later.
public typealias HTTPHandler = @Sendable (HTTPRequest, HTTPResponder) -> Void

/// Answers one request, exactly once: either `send` or `startStream` (later calls are ignored).
/// Learns through `isCancelled`/`onCancel` that the client went away or the server stopped.
public final class HTTPResponder: Sendable {
    struct State {
        var answered = false
        var cancelled = false
        var onCancel: [@Sendable () -> Void] = []
    }
    let state = Mutex(State())
    let sink: ResponseSink
    /// Smallest body worth gzipping, or nil when the client does not accept gzip (or it is off).
    let gzipMinimumBytes: Int?
    let maxUnsentBytes: Int

    init(sink: ResponseSink, gzipMinimumBytes: Int?, maxUnsentBytes: Int) {
        self.sink = sink
        self.gzipMinimumBytes = gzipMinimumBytes
        self.maxUnsentBytes = maxUnsentBytes
    }

    /// A handler that drops its responder without answering must not leave the client hanging.
    deinit {
        if !state.withLock({ $0.answered }) {
            sink.sendFull(.problem(status: 500, detail: "the request handler finished without a response"))
        }
    }

    /// Sends a complete response. Text-like bodies are gzipped here, on the caller's thread,
    /// when the client accepts it.
    public func send(_ response: HTTPResponse) {
        guard claim() else { return }
        var response = response
        if let minimum = gzipMinimumBytes, response.body.count >= minimum, shouldGzip(response.headers),
            let compressed = GzipEncoder.compress(response.body)
        {
            response.body = compressed
            response.headers.add("Content-Encoding", "gzip")
            response.headers.add("Vary", "Accept-Encoding")
        }
        sink.sendFull(response)
    }

    /// Starts a chunked response; write pieces (e.g. NDJSON lines) as they are ready, then finish.
    /// Each piece is flushed through gzip on its own when the client accepts gzip.
    public func startStream(status: Int, headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponseStream {
        guard claim() else { return HTTPResponseStream(sink: sink, responder: self, encoder: nil, finished: true) }
        var headers = headers
        var encoder: GzipEncoder? = nil
        if gzipMinimumBytes != nil, shouldGzip(headers), let e = GzipEncoder() {
            encoder = e
            headers.add("Content-Encoding", "gzip")
            headers.add("Vary", "Accept-Encoding")
        }
        sink.startStream(status: status, headers: headers)
        return HTTPResponseStream(sink: sink, responder: self, encoder: encoder, finished: false)
    }

    private func shouldGzip(_ headers: HTTPHeaders) -> Bool {
        headers["Content-Encoding"] == nil && isCompressible(headers["Content-Type"])
    }

    public var isCancelled: Bool { state.withLock { $0.cancelled } }

    /// Runs `action` once when the request is cancelled (immediately if it already is).
    public func onCancel(_ action: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { s -> Bool in
            if s.cancelled { return true }
            s.onCancel.append(action)
            return false
        }
        if runNow { action() }
    }

    func cancel() {
        let actions = state.withLock { s -> [@Sendable () -> Void] in
            guard !s.cancelled else { return [] }
            s.cancelled = true
            defer { s.onCancel = [] }
            return s.onCancel
        }
        for a in actions { a() }
    }

    func claim() -> Bool {
        state.withLock { s in
            if s.answered { return false }
            s.answered = true
            return true
        }
    }
}

public final class HTTPResponseStream: Sendable {
    let sink: ResponseSink
    let responder: HTTPResponder
    /// Held while posting, so concurrent writers keep gzip output and chunk order consistent.
    let state: Mutex<(finished: Bool, encoder: GzipEncoder?)>

    init(sink: ResponseSink, responder: HTTPResponder, encoder: sending GzipEncoder?, finished: Bool) {
        self.sink = sink
        self.responder = responder
        self.state = Mutex((finished, encoder))
    }

    /// Queues `bytes` as one chunk. Returns false once the client is gone or the stream finished,
    /// or when the reader has fallen `maxUnsentResponseBytes` behind (the connection is then
    /// closed rather than letting memory grow).
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        guard !responder.isCancelled else { return false }
        return state.withLock { s in
            guard !s.finished else { return false }
            if sink.pendingBytes() > responder.maxUnsentBytes {
                s.finished = true
                s.encoder = nil
                sink.abort("a streamed response outran its reader by more than \(responder.maxUnsentBytes) bytes")
                return false
            }
            let out = s.encoder?.compress(bytes, finish: false) ?? bytes
            if !out.isEmpty { sink.writeChunk(out) }
            return true
        }
    }

    @discardableResult
    public func write(_ text: String) -> Bool { write(Array(text.utf8)) }

    /// A stream dropped unfinished is cut (connection closed), so the client sees a truncated
    /// body rather than waiting forever.
    deinit {
        if !state.withLock({ $0.finished }) { sink.abort("a streamed response was dropped unfinished") }
    }

    public func finish() {
        state.withLock { s in
            guard !s.finished else { return }
            s.finished = true
            if let tail = s.encoder?.compress([], finish: true), !tail.isEmpty { sink.writeChunk(tail) }
            s.encoder = nil
            sink.finishStream()
        }
    }

    /// Bytes written to this stream but not yet accepted by the kernel (queued for the event
    /// loop or buffered on the connection); lets a producer slow down for a slow reader.
    public var pendingBytes: Int { sink.pendingBytes() }
}

/// The connection side of a responder (implemented by the event loop).
protocol ResponseSink: Sendable {
    func sendFull(_ response: HTTPResponse)
    func startStream(status: Int, headers: HTTPHeaders)
    func writeChunk(_ bytes: [UInt8])
    func finishStream()
    func abort(_ reason: String)
    func pendingBytes() -> Int
    /// Switches the connection to WebSocket after `headers` (the 101 answer); nil, with a 503
    /// sent, at the WebSocket connection limit.
    func acceptWebSocket(
        _ headers: HTTPHeaders, subprotocol: String?,
        onMessage: @escaping WebSocket.MessageHandler, onClose: @escaping WebSocket.CloseHandler
    ) -> WebSocket?
}
