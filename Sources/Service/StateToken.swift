// The `state` token of /v1/stream: a live session's LiveState as JSON, base64url, a dot, and the
// HMAC-SHA256 of those bytes under the service's key (stream.state_key), so a client can carry
// the state but not forge or edit it. Opened tokens are still checked by LiveSession(resuming:).
import COpenSSL
import Foundation
import Pipeline

struct StateToken: Sendable {
    /// Far above any real state (a few hundred bytes per person); bounds the work of a bad token.
    static let maxBytes = 64 << 10
    let key: [UInt8]

    /// `key` empty: 32 random bytes, so tokens resume only on this process.
    init(key: String) {
        if key.isEmpty {
            var random = SystemRandomNumberGenerator()
            self.key = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
        } else {
            self.key = Array(key.utf8)
        }
    }

    func seal(_ state: LiveState) throws -> String {
        let payload = Self.base64url(try JSONEncoder().encode(state))
        return payload + "." + Self.base64url(Data(mac(Array(payload.utf8))))
    }

    struct Invalid: Error, Equatable { let reason: String }

    func open(_ token: String) throws(Invalid) -> LiveState {
        guard token.utf8.count <= Self.maxBytes else { throw Invalid(reason: "longer than \(Self.maxBytes) bytes") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let payload = Self.unbase64url(parts[0]), let tag = Self.unbase64url(parts[1]) else {
            throw Invalid(reason: "not a state token")
        }
        guard tag.count == 32, CRYPTO_memcmp(mac(Array(parts[0].utf8)), Array(tag), 32) == 0 else {
            throw Invalid(reason: "signature does not match (another server's key, or edited)")
        }
        do { return try JSONDecoder().decode(LiveState.self, from: payload) } catch { throw Invalid(reason: "not a state this server writes") }
    }

    private func mac(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = HMAC(EVP_sha256(), key, Int32(key.count), bytes, bytes.count, &out, &length)
        return Array(out.prefix(Int(length)))
    }

    static func base64url(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func unbase64url(_ text: Substring) -> Data? {
        guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { return nil }
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        s += String(repeating: "=", count: (4 - s.count % 4) % 4)
        return Data(base64Encoded: s)
    }
}
