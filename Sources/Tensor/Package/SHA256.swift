import COpenSSL

/// SHA-256 for checking a model package's weight files against the hashes its manifest records.
/// OpenSSL's libcrypto is already linked (for TLS) and has tuned implementations.
enum SHA256 {
    /// Hex digest of the bytes.
    static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        digest.withUnsafeMutableBufferPointer { out in
            if let base = bytes.baseAddress {
                _ = COpenSSL.SHA256(base.assumingMemoryBound(to: UInt8.self), bytes.count, out.baseAddress)
            } else {
                let none: [UInt8] = [0]  // empty input: any valid pointer with length 0
                _ = none.withUnsafeBufferPointer { COpenSSL.SHA256($0.baseAddress, 0, out.baseAddress) }
            }
        }
        let hexDigits = Array("0123456789abcdef")
        return String(digest.flatMap { [hexDigits[Int($0 >> 4)], hexDigits[Int($0 & 15)]] })
    }
}
