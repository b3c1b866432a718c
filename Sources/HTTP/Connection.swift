// Per-connection state. Owned by the event loop thread; nothing here is touched elsewhere.
import Glibc
import Synchronization

final class Connection {
    enum Phase {
        /// Waiting for (the rest of) a request head.
        case head
        /// Receiving a request body.
        case body
        /// The handler has the request; reading is only watched for the client going away.
        case handling
        /// Sending a final response, then draining input until the client closes or we give up.
        case closing
        /// Upgraded to WebSocket: input is frames (see `webSocket`).
        case webSocket
    }

    let id: UInt64
    let fd: Int32
    let remoteAddress: String
    var tls: TLSSession?
    var parser: HTTPRequestParser
    var phase = Phase.head

    var input: [UInt8] = []
    var inputStart = 0
    var unconsumed: Int { input.count - inputStart }
    var output: [UInt8] = []
    var outputStart = 0
    var outputPending: Int { output.count - outputStart }
    /// Shared with the responder so a streaming producer can see a slow reader.
    let pending = PendingCounter()

    // The request in progress.
    var head: HTTPRequestHead?
    var bodyMemory: [UInt8] = []
    var bodyFile: (fd: Int32, path: String)?
    var spooledPath: String?
    var bodyCount = 0
    var sequence: UInt64 = 0
    /// Weak: when the handler drops it unanswered, its deinit sends a 500.
    weak var responder: HTTPResponder?
    var responseKeepAlive = true
    var responseStarted = false
    var responseDone = false
    var streamChunked = false
    var requestsServed = 0
    /// Set by the upgrade; kept through `.closing` so the handler learns how it ended.
    var webSocket: WebSocketConnection?

    // Clocks (monotonic nanoseconds) for the timeouts.
    var headStartedAt: UInt64?
    var lastActivity: UInt64
    var lastWriteProgress: UInt64
    var bytesSinceProgress = 0
    var shutdownSent = false
    var lingerDeadline: UInt64 = 0

    // epoll interest.
    var readPaused = false
    var wantWrite = false
    var registeredEvents: UInt32 = 0

    init(id: UInt64, fd: Int32, remoteAddress: String, limits: HTTPParserLimits, now: UInt64) {
        self.id = id
        self.fd = fd
        self.remoteAddress = remoteAddress
        self.parser = HTTPRequestParser(limits: limits)
        self.lastActivity = now
        self.lastWriteProgress = now
    }

    func append(_ bytes: UnsafeRawBufferPointer) {
        if inputStart > 0 && (inputStart == input.count || inputStart >= 64 * 1024) {
            input.removeSubrange(0..<inputStart)
            inputStart = 0
        }
        input.append(contentsOf: bytes)
    }

    func enqueue(_ bytes: [UInt8], now: UInt64) {
        if outputPending == 0 {
            lastWriteProgress = now
            bytesSinceProgress = 0
        }
        if outputStart > 0 && outputStart == output.count {
            output.removeAll(keepingCapacity: true)
            outputStart = 0
        }
        output.append(contentsOf: bytes)
    }

    /// Forgets the finished request so the next one (maybe already buffered) can start.
    func resetRequest() {
        head = nil
        bodyMemory = []
        bodyCount = 0
        responder = nil
        responseStarted = false
        responseDone = false
        streamChunked = false
        headStartedAt = nil
        removeSpooledBody()
    }

    func removeSpooledBody() {
        if let f = bodyFile { close(f.fd); bodyFile = nil; unlink(f.path) }
        if let p = spooledPath { unlink(p); spooledPath = nil }
    }
}

/// Response bytes not yet handed to the kernel: posted to the loop but not yet run (`queued`)
/// plus buffered in the connection (`unsent`).
final class PendingCounter: Sendable {
    let queued = Atomic<Int>(0)
    let unsent = Atomic<Int>(0)
}

func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
