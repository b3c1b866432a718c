// Bearer API keys, compared in constant time (no early exit on the first differing byte, and every
// configured key is compared, so timing tells nothing about which key or prefix matched).

public struct APIKeys: Sendable {
    let keys: [[UInt8]]
    public init(_ keys: [String]) { self.keys = keys.map { Array($0.utf8) } }
    public var isEnabled: Bool { !keys.isEmpty }

    /// Whether an `Authorization` header value carries one of the keys.
    public func accepts(authorization: String?) -> Bool {
        guard let value = authorization else { return false }
        let scheme = "bearer "
        guard value.count > scheme.count, value.prefix(scheme.count).lowercased() == scheme else { return false }
        let presented = Array(value.utf8.dropFirst(scheme.utf8.count))
        var matched: UInt8 = 0
        for key in keys { matched |= Self.constantTimeEqual(presented, key) ? 1 : 0 }
        return matched == 1
    }

    /// Time depends only on the presented length, never on where the bytes differ.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt64(a.count ^ b.count)
        for i in 0..<a.count { diff |= UInt64(a[i] ^ (b.isEmpty ? 0 : b[i % b.count])) }
        return diff == 0
    }
}
