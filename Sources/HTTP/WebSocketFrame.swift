// WebSocket wire vocabulary (RFC 6455 §5, §7.4) and the server's frame encoder. Pure values: the
// fuzz build (scripts/fuzz-http.sh websocket) compiles this file with the frame parser alone.

/// Frame opcodes (RFC 6455 §5.2); 0x3-0x7 and 0xB-0xF are reserved and refused.
public enum WebSocketOpcode: UInt8, Sendable {
    case continuation = 0x0
    case text = 0x1
    case binary = 0x2
    case close = 0x8
    case ping = 0x9
    case pong = 0xA

    var isControl: Bool { rawValue & 0x8 != 0 }
}

/// A close status code (RFC 6455 §7.4). Any UInt16 can be represented; `isValidOnTheWire` tells
/// the codes an endpoint may actually send.
public struct WebSocketCloseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let normalClosure = WebSocketCloseCode(rawValue: 1000)
    public static let goingAway = WebSocketCloseCode(rawValue: 1001)
    public static let protocolError = WebSocketCloseCode(rawValue: 1002)
    public static let unsupportedData = WebSocketCloseCode(rawValue: 1003)
    /// Never sent: reported when the peer's close frame carried no code.
    public static let noStatusReceived = WebSocketCloseCode(rawValue: 1005)
    /// Never sent: reported when the connection ended without a close frame.
    public static let abnormalClosure = WebSocketCloseCode(rawValue: 1006)
    public static let invalidPayload = WebSocketCloseCode(rawValue: 1007)
    public static let policyViolation = WebSocketCloseCode(rawValue: 1008)
    public static let messageTooBig = WebSocketCloseCode(rawValue: 1009)
    public static let internalError = WebSocketCloseCode(rawValue: 1011)

    /// Codes defined for use in a close frame: 1000-1003, 1007-1014 (IANA registry), and 3000-4999
    /// (libraries and applications). 1004-1006 and 1015 are reserved or local-only.
    public var isValidOnTheWire: Bool {
        switch rawValue {
        case 1000...1003, 1007...1014, 3000...4999: return true
        default: return false
        }
    }

    public var description: String { String(rawValue) }
}

/// A complete data message, reassembled from its fragments.
public enum WebSocketMessage: Sendable, Equatable {
    case text(String)
    case binary([UInt8])

    var byteCount: Int {
        switch self {
        case .text(let s): return s.utf8.count
        case .binary(let b): return b.count
        }
    }
}

/// One unfragmented, unmasked frame (servers never mask, RFC 6455 §5.1).
func encodeWebSocketFrame(_ opcode: WebSocketOpcode, _ payload: some Collection<UInt8>) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(payload.count + 10)
    out.append(0x80 | opcode.rawValue)
    let n = payload.count
    if n < 126 {
        out.append(UInt8(n))
    } else if n <= 0xFFFF {
        out.append(126)
        out.append(UInt8(n >> 8))
        out.append(UInt8(n & 0xFF))
    } else {
        out.append(127)
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: UInt64(n) >> UInt64(shift))) }
    }
    out.append(contentsOf: payload)
    return out
}

/// A close frame: the code, then as much of `reason` as fits a control frame (125 bytes) without
/// splitting a character. Codes that may not be sent are replaced by 1011 (an application bug).
func encodeWebSocketClose(_ code: WebSocketCloseCode, reason: String) -> [UInt8] {
    let sent = code.isValidOnTheWire ? code : .internalError
    var payload: [UInt8] = [UInt8(sent.rawValue >> 8), UInt8(sent.rawValue & 0xFF)]
    var room = 123
    for scalar in reason.unicodeScalars {
        let bytes = Array(String(scalar).utf8)
        guard bytes.count <= room else { break }
        payload.append(contentsOf: bytes)
        room -= bytes.count
    }
    return encodeWebSocketFrame(.close, payload)
}
