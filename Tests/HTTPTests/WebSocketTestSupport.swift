import Foundation
import HTTP
import XCTest

/// A client frame as the wire carries it: masked unless `masked` is false, with any FIN/RSV/opcode
/// bits, so tests can craft every violation.
func clientFrame(
    _ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, rsv: UInt8 = 0, masked: Bool = true,
    key: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]
) -> [UInt8] {
    var out: [UInt8] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode]
    let maskBit: UInt8 = masked ? 0x80 : 0
    if payload.count < 126 {
        out.append(maskBit | UInt8(payload.count))
    } else if payload.count <= 0xFFFF {
        out += [maskBit | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
    } else {
        out.append(maskBit | 127)
        out += (0..<8).reversed().map { UInt8(truncatingIfNeeded: UInt64(payload.count) >> (8 * UInt64($0))) }
    }
    guard masked else { return out + payload }
    return out + key + payload.enumerated().map { $0.element ^ key[$0.offset & 3] }
}

func closePayload(_ code: UInt16, _ reason: String = "") -> [UInt8] {
    [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8)
}

/// A frame the server sent.
struct ServerFrame: Equatable {
    var fin: Bool
    var opcode: UInt8
    var payload: [UInt8]
    var closeCode: UInt16? { opcode == 8 && payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : nil }
    var text: String { String(decoding: payload, as: UTF8.self) }
}

/// A WebSocket client over a raw socket: byte-exact frames in, parsed frames out. One thread may
/// send while another reads.
final class WSClient: @unchecked Sendable {
    let raw: RawClient
    var handshake: RawClient.Response?

    static let key = "dGhlIHNhbXBsZSBub25jZQ=="  // RFC 6455 §1.3's example nonce

    init(port: UInt16, path: String = "/ws", extraHeaders: String = "", receiveTimeout: Double = 5) throws {
        raw = try RawClient(port: port, receiveTimeout: receiveTimeout)
        raw.send(
            "GET \(path) HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: \(Self.key)\r\nSec-WebSocket-Version: 13\r\n\(extraHeaders)\r\n")
        handshake = raw.readResponse()
        guard handshake?.status == 101 else { throw NSError(domain: "WSClient", code: handshake?.status ?? 0) }
    }

    func send(_ frame: [UInt8]) { raw.send(frame) }
    func sendText(_ text: String) { send(clientFrame(1, Array(text.utf8))) }

    /// The next frame, or nil when the connection closed or timed out first.
    func read() -> ServerFrame? {
        func need(_ n: Int) -> Bool {
            while raw.pending.count < n { guard raw.fill() else { return false } }
            return true
        }
        guard need(2) else { return nil }
        let b0 = raw.pending[0], b1 = raw.pending[1]
        XCTAssertEqual(b1 & 0x80, 0, "the server masked a frame")
        var length = Int(b1 & 0x7F), header = 2
        if length == 126 {
            guard need(4) else { return nil }
            length = Int(raw.pending[2]) << 8 | Int(raw.pending[3])
            header = 4
        } else if length == 127 {
            guard need(10) else { return nil }
            length = raw.pending[2..<10].reduce(0) { $0 << 8 | Int($1) }
            header = 10
        }
        guard need(header + length) else { return nil }
        let frame = ServerFrame(fin: b0 & 0x80 != 0, opcode: b0 & 0x0F, payload: Array(raw.pending[header..<(header + length)]))
        raw.pending.removeFirst(header + length)
        return frame
    }

    /// Reads up to the server's close frame (skipping data, pings and pongs) and returns its code
    /// (0 for an empty close), or nil if the connection ended without one.
    func closeCode() -> UInt16? {
        while let f = read() {
            if f.opcode == 8 { return f.closeCode ?? 0 }
        }
        return nil
    }
}

/// Routes the WebSocket tests use, next to testHandler's HTTP routes.
func webSocketRoute(_ request: HTTPRequest, _ responder: HTTPResponder, events: Events) -> Bool {
    let onClose: WebSocket.CloseHandler = { code, reason in events.add("closed \(code) \(reason)") }
    switch request.head.path {
    case "/ws":
        // Echo; agrees to the last subprotocol offered.
        responder.upgradeToWebSocket(
            request, subprotocol: request.head.webSocketProtocols.last,
            onMessage: { socket, message in
                switch message {
                case .text(let t): socket.send(text: t)
                case .binary(let b): socket.send(binary: b)
                }
            }, onClose: onClose)
    case "/ws-unoffered":
        // A handler bug: a subprotocol the client did not offer.
        responder.upgradeToWebSocket(request, subprotocol: "never-offered", onMessage: { _, _ in })
    case "/ws-close":
        // Closes from the server side on the first message.
        responder.upgradeToWebSocket(
            request, onMessage: { socket, _ in socket.close(code: WebSocketCloseCode(rawValue: 4000), reason: "bye") },
            onClose: onClose)
    case "/ws-flood":
        // On the first message: 64 KiB messages until `send` refuses one.
        responder.upgradeToWebSocket(
            request,
            onMessage: { socket, _ in
                var sent = 0, maxBuffered = 0
                while socket.send(binary: [UInt8](repeating: UInt8(sent & 0xFF), count: 64 * 1024)) {
                    sent += 1
                    maxBuffered = max(maxBuffered, socket.bufferedBytes)
                }
                events.add("flood sent \(sent) max \(maxBuffered) buffered \(socket.bufferedBytes) open \(socket.isOpen)")
            }, onClose: onClose)
    case "/ws-threads":
        // On the first message: 8 threads send 100 numbered messages each, concurrently.
        responder.upgradeToWebSocket(
            request,
            onMessage: { socket, _ in
                DispatchQueue.concurrentPerform(iterations: 8) { t in
                    for i in 0..<100 { XCTAssertTrue(socket.send(text: "\(t):\(i)")) }
                }
            }, onClose: onClose)
    case "/ws-slow":
        // A handler slower than its client: the server must stop reading rather than queue.
        responder.upgradeToWebSocket(
            request,
            onMessage: { socket, message in
                usleep(20_000)
                if case .binary(let b) = message { socket.send(text: "\(b.count)") }
            }, onClose: onClose)
    default:
        return false
    }
    return true
}
