// Loop-side state of an upgraded connection. Owned by the event loop thread, like Connection.

final class WebSocketConnection {
    let socket: WebSocket
    var parser: WebSocketFrameParser
    /// Monotonic nanoseconds of the last byte received (the idle timeout counts from here).
    var lastReceived: UInt64
    var pinged = false
    /// When the server sent its close frame; the client then has `closeTimeout` to answer.
    var closeSentAt: UInt64?
    /// The first close frame either side sent: what `onClose` reports.
    var status: (code: WebSocketCloseCode, reason: String)?

    init(socket: WebSocket, config: WebSocketConfig, now: UInt64) {
        self.socket = socket
        self.parser = WebSocketFrameParser(maxFrameBytes: config.maxFrameBytes, maxMessageBytes: config.maxMessageBytes)
        self.lastReceived = now
    }

    func record(_ code: WebSocketCloseCode, _ reason: String) {
        if status == nil { status = (code, reason) }
    }
}
