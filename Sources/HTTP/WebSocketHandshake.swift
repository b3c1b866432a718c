// The WebSocket opening handshake (RFC 6455 §4.2): checks the client's request and builds either
// the 101 answer or the refusal to send instead.
import COpenSSL
import Foundation

extension HTTPRequestHead {
    /// Subprotocols the client offers in `Sec-WebSocket-Protocol`, in its order of preference. A
    /// handler may pick one when it accepts the upgrade (e.g. a token-carrying protocol for auth).
    public var webSocketProtocols: [String] { tokens("Sec-WebSocket-Protocol").map(String.init) }

    /// 101 when this is a valid opening handshake, else the status `upgradeToWebSocket` refuses it with.
    public var webSocketHandshakeStatus: Int { WebSocketHandshake.answer(self, subprotocol: nil).status }

    func tokens(_ name: String) -> [Substring] {
        headers.values(name).flatMap { $0.split(separator: ",") }.map { $0.trimmingOWS() }.filter { !$0.isEmpty }
    }
}

enum WebSocketHandshake {
    static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// A 101 response to send when `head` is a valid opening handshake; otherwise the refusal:
    /// 405 for a method other than GET, 426 (with what the server speaks) for a missing
    /// `Upgrade: websocket` or a version other than 13, 400 for anything else malformed.
    /// `subprotocol` must be one the client offered.
    static func answer(_ head: HTTPRequestHead, subprotocol: String?) -> HTTPResponse {
        guard head.method == "GET" else {
            return .problem(status: 405, detail: "a WebSocket handshake must be a GET", extraHeaders: HTTPHeaders([("Allow", "GET")]))
        }
        guard head.tokens("Upgrade").contains(where: { asciiCaseInsensitiveEqual(String($0), "websocket") }) else {
            return .problem(
                status: 426, detail: "this resource is a WebSocket: send Upgrade: websocket",
                extraHeaders: HTTPHeaders([("Upgrade", "websocket")]))
        }
        guard head.headers.values("Sec-WebSocket-Version").map({ $0.trimmingOWS() }) == ["13"] else {
            return .problem(
                status: 426, detail: "only WebSocket version 13 is supported",
                extraHeaders: HTTPHeaders([("Sec-WebSocket-Version", "13")]))
        }
        guard head.minorVersion >= 1 else { return .problem(status: 400, detail: "a WebSocket handshake needs HTTP/1.1") }
        guard head.tokens("Connection").contains(where: { asciiCaseInsensitiveEqual(String($0), "upgrade") }) else {
            return .problem(status: 400, detail: "a WebSocket handshake needs Connection: Upgrade")
        }
        let keys = head.headers.values("Sec-WebSocket-Key")
        guard keys.count == 1, let key = keys.first.map({ String($0.trimmingOWS()) }), Data(base64Encoded: key)?.count == 16 else {
            return .problem(status: 400, detail: "Sec-WebSocket-Key must be one base64-encoded 16-byte value")
        }
        var headers = HTTPHeaders([("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", acceptValue(key))])
        if let subprotocol {
            guard head.webSocketProtocols.contains(subprotocol) else {
                return .problem(status: 500, detail: "the handler chose the subprotocol \(subprotocol), which the client did not offer")
            }
            headers.add("Sec-WebSocket-Protocol", subprotocol)
        }
        return HTTPResponse(status: 101, headers: headers)
    }

    /// base64(SHA-1(key + GUID)): proves the server read this handshake (RFC 6455 §4.2.2).
    static func acceptValue(_ key: String) -> String {
        var digest = [UInt8](repeating: 0, count: Int(SHA_DIGEST_LENGTH))
        let input = Array((key + guid).utf8)
        _ = input.withUnsafeBufferPointer { i in digest.withUnsafeMutableBufferPointer { SHA1(i.baseAddress, i.count, $0.baseAddress) } }
        return Data(digest).base64EncodedString()
    }
}
