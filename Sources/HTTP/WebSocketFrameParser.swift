// WebSocket frame parser for client-to-server traffic (RFC 6455 §5): a state machine over bytes
// with no I/O, like HTTPRequestParser. It unmasks, reassembles fragmented messages, validates
// text as it arrives and enforces the size limits; each refusal names the close code to send.

public struct WebSocketFrameParser: Sendable {
    public enum Event: Sendable, Equatable {
        /// A complete text or binary message.
        case message(WebSocketMessage)
        case ping([UInt8])
        case pong([UInt8])
        /// The peer's close frame: its code (nil when it carried none) and reason. Later calls
        /// consume nothing.
        case close(WebSocketCloseCode?, String)
        /// The connection must be failed with this close code; every later call returns it again.
        case error(WebSocketCloseCode, String)
    }

    enum State: Sendable {
        case header
        case payload(remaining: Int)
        case closed
        case failed(WebSocketCloseCode, String)
    }

    public let maxFrameBytes: Int
    public let maxMessageBytes: Int
    var state = State.header

    // The frame being read.
    var frameOpcode = WebSocketOpcode.continuation
    var frameFin = false
    /// The masking key, byte k at bits 8k..<8k+8.
    var mask: UInt32 = 0
    var maskOffset = 0
    var controlPayload: [UInt8] = []

    // The data message being reassembled (text or binary; nil between messages).
    var messageOpcode: WebSocketOpcode?
    var message: [UInt8] = []
    var utf8 = UTF8Validator()

    public init(maxFrameBytes: Int, maxMessageBytes: Int) {
        self.maxFrameBytes = maxFrameBytes
        self.maxMessageBytes = maxMessageBytes
    }

    /// Feed it the unconsumed bytes of a connection; it reports how many it consumed and at most
    /// one event. Bytes it did not consume must be presented again, first, on the next call.
    /// Call again while it consumes bytes or returns an event.
    public mutating func parse(_ input: UnsafeRawBufferPointer) -> (consumed: Int, event: Event?) {
        let b = input.bindMemory(to: UInt8.self)
        switch state {
        case .failed(let code, let detail): return (0, .error(code, detail))
        case .closed: return (0, nil)
        case .header: return parseHeader(b)
        case .payload(let remaining): return parsePayload(b, remaining: remaining)
        }
    }

    mutating func failure(_ code: WebSocketCloseCode, _ detail: String) -> Event {
        state = .failed(code, detail)
        return .error(code, detail)
    }

    /// Checks the first two bytes as soon as they arrive; consumes the header once it is whole.
    mutating func parseHeader(_ b: UnsafeBufferPointer<UInt8>) -> (consumed: Int, event: Event?) {
        guard b.count >= 2 else { return (0, nil) }
        guard b[0] & 0x70 == 0 else { return (0, failure(.protocolError, "reserved bits set, but no extension was negotiated")) }
        guard let opcode = WebSocketOpcode(rawValue: b[0] & 0x0F) else {
            return (0, failure(.protocolError, "reserved opcode \(b[0] & 0x0F)"))
        }
        guard b[1] & 0x80 != 0 else { return (0, failure(.protocolError, "a client frame is not masked")) }
        let fin = b[0] & 0x80 != 0
        let lengthCode = Int(b[1] & 0x7F)
        if opcode.isControl {
            guard fin else { return (0, failure(.protocolError, "a fragmented control frame")) }
            guard lengthCode <= 125 else { return (0, failure(.protocolError, "a control frame longer than 125 bytes")) }
        } else if opcode == .continuation {
            guard messageOpcode != nil else { return (0, failure(.protocolError, "a continuation frame with no message to continue")) }
        } else if messageOpcode != nil {
            return (0, failure(.protocolError, "a new message started before the fragmented one finished"))
        }

        let lengthBytes = lengthCode == 126 ? 2 : lengthCode == 127 ? 8 : 0
        let headerBytes = 2 + lengthBytes + 4
        guard b.count >= headerBytes else { return (0, nil) }
        var length = UInt64(lengthCode)
        if lengthBytes > 0 {
            length = 0
            for i in 2..<(2 + lengthBytes) { length = length << 8 | UInt64(b[i]) }
            guard length >> 63 == 0 else { return (0, failure(.protocolError, "a 64-bit frame length with its top bit set")) }
        }
        if !opcode.isControl {
            guard length <= UInt64(maxFrameBytes) else {
                return (0, failure(.messageTooBig, "a frame of \(length) bytes exceeds the limit of \(maxFrameBytes) bytes"))
            }
            guard UInt64(message.count) + length <= UInt64(maxMessageBytes) else {
                return (0, failure(.messageTooBig, "a message exceeds the limit of \(maxMessageBytes) bytes"))
            }
        }

        mask = 0
        for k in 0..<4 { mask |= UInt32(b[headerBytes - 4 + k]) << (8 * k) }
        maskOffset = 0
        frameOpcode = opcode
        frameFin = fin
        controlPayload = []
        if opcode == .text || opcode == .binary {
            messageOpcode = opcode
            utf8 = UTF8Validator()
        }
        state = .payload(remaining: Int(length))
        return (headerBytes, length == 0 ? finishFrame() : nil)
    }

    /// Unmasks whatever part of the payload is here; text is validated as it arrives, so a bad
    /// byte fails the connection without waiting for the rest of the message.
    mutating func parsePayload(_ b: UnsafeBufferPointer<UInt8>, remaining: Int) -> (consumed: Int, event: Event?) {
        let n = min(remaining, b.count)
        guard n > 0 else { return (0, nil) }
        let start: Int
        if frameOpcode.isControl {
            start = controlPayload.count
            Self.unmask(UnsafeBufferPointer(rebasing: b[0..<n]), mask: mask, offset: maskOffset, into: &controlPayload)
        } else {
            start = message.count
            Self.unmask(UnsafeBufferPointer(rebasing: b[0..<n]), mask: mask, offset: maskOffset, into: &message)
            if messageOpcode == .text {
                for i in start..<message.count where !utf8.feed(message[i]) {
                    return (0, failure(.invalidPayload, "a text message is not valid UTF-8"))
                }
            }
        }
        maskOffset = (maskOffset + n) & 3
        guard remaining > n else { return (n, finishFrame()) }
        state = .payload(remaining: remaining - n)
        return (n, nil)
    }

    static func unmask(_ bytes: UnsafeBufferPointer<UInt8>, mask: UInt32, offset: Int, into out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: bytes)
        out.withUnsafeMutableBufferPointer { o in
            for i in 0..<bytes.count { o[start + i] ^= UInt8(truncatingIfNeeded: mask >> (8 * UInt32((offset + i) & 3))) }
        }
    }

    mutating func finishFrame() -> Event? {
        state = .header
        switch frameOpcode {
        case .ping: return .ping(controlPayload)
        case .pong: return .pong(controlPayload)
        case .close: return closeEvent()
        case .text, .binary, .continuation:
            guard frameFin, let opcode = messageOpcode else { return nil }
            let bytes = message
            message = []
            messageOpcode = nil
            guard opcode == .text else { return .message(.binary(bytes)) }
            guard utf8.isComplete else { return failure(.invalidPayload, "a text message ends inside a UTF-8 sequence") }
            return .message(.text(String(decoding: bytes, as: UTF8.self)))
        }
    }

    /// RFC 6455 §5.5.1: an empty body, or a 2-byte code plus a UTF-8 reason.
    mutating func closeEvent() -> Event {
        let p = controlPayload
        guard !p.isEmpty else {
            state = .closed
            return .close(nil, "")
        }
        guard p.count >= 2 else { return failure(.protocolError, "a close frame with a 1-byte body") }
        let code = WebSocketCloseCode(rawValue: UInt16(p[0]) << 8 | UInt16(p[1]))
        guard code.isValidOnTheWire else { return failure(.protocolError, "close code \(code) may not be sent") }
        guard UTF8Validator.isValid(p[2...]) else { return failure(.invalidPayload, "a close reason is not valid UTF-8") }
        state = .closed
        return .close(code, String(decoding: p[2...], as: UTF8.self))
    }
}
