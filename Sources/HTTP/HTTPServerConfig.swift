// Every limit of the server, each with a finite default (design.md, "Limits and hardening").

public struct HTTPServerConfig: Sendable {
    /// Numeric IPv4 or IPv6 address to bind.
    public var host = "127.0.0.1"
    /// 0 asks the kernel for an ephemeral port (see `HTTPServer.port`).
    public var port: UInt16 = 8080
    public var backlog: Int32 = 511
    public var parser = HTTPParserLimits()
    /// Bodies up to this size stay in memory; larger ones are spooled to a temp file.
    public var maxInMemoryBodyBytes = 1024 * 1024
    public var temporaryDirectory = "/tmp"
    /// From the first byte of a request until its head is complete (defeats slowloris).
    public var headerTimeout: Duration = .seconds(10)
    /// Longest pause between two pieces of a request body.
    public var bodyProgressTimeout: Duration = .seconds(30)
    /// How long a keep-alive connection may sit between requests.
    public var idleTimeout: Duration = .seconds(60)
    /// Longest time pending response bytes may go without draining or moving 16 KiB (a client
    /// that stops reading, or reads a trickle).
    public var writeTimeout: Duration = .seconds(30)
    public var maxConnections = 1024
    /// A stream write finding more unsent bytes than this (a producer ignoring `pendingBytes`
    /// for a slow reader) closes the connection instead of letting memory grow.
    public var maxUnsentResponseBytes = 64 * 1024 * 1024
    /// SO_SNDBUF for accepted sockets; nil keeps the kernel's autotuning. A fixed size bounds
    /// kernel memory per connection and makes the write timeout bite sooner on stalled readers.
    public var socketSendBufferBytes: Int? = nil
    /// When set, every connection speaks TLS (OpenSSL) with this certificate and key.
    public var tls: HTTPTLSConfig? = nil
    /// How long a closing connection keeps draining unread input so the client sees our error
    /// response instead of a reset.
    public var lingerTimeout: Duration = .seconds(2)
    /// gzip text-like responses (JSON, NDJSON, text) for clients that send Accept-Encoding: gzip.
    public var gzip = true
    /// Complete responses smaller than this are sent uncompressed (not worth the CPU).
    public var gzipMinimumBytes = 1024
    /// Limits of upgraded (WebSocket) connections.
    public var webSocket = WebSocketConfig()

    public init() {}
}

public struct WebSocketConfig: Sendable {
    /// Largest frame payload a client may send; a longer one closes the connection with 1009.
    public var maxFrameBytes = 4 * 1024 * 1024
    /// Largest message (all fragments together) a client may send; beyond it, 1009. Also bounds
    /// what waits for the handler: reading pauses while more than this is undelivered.
    public var maxMessageBytes = 4 * 1024 * 1024
    /// Outgoing bytes (queued for the event loop or unsent on the socket) at or above which
    /// `WebSocket.send` refuses a message instead of queueing it.
    public var maxBufferedBytes = 1024 * 1024
    /// A connection that receives nothing for this long is closed (1001); the server pings it
    /// half-way through, so a live client's automatic pong keeps it open.
    public var idleTimeout: Duration = .seconds(60)
    /// How long the server waits for the client's answer to its own close frame.
    public var closeTimeout: Duration = .seconds(5)
    /// Upgraded connections at once (each also counts against `maxConnections`); further
    /// upgrades are answered 503.
    public var maxConnections = 512

    public init() {}
}

extension Duration {
    var nanoseconds: UInt64 {
        let (s, atto) = components
        return UInt64(max(0, s)) &* 1_000_000_000 &+ UInt64(max(0, atto) / 1_000_000_000)
    }
}
