// SHA-256 and HMAC-SHA256 through OpenSSL, as lower-case hex: the idempotency body hash and the
// webhook signature.
import COpenSSL
import Foundation

enum Digest {
    /// SHA-256 over `parts` in order; a file part is read in chunks, never whole.
    enum Part {
        case bytes(Data)
        case file(String)
    }

    static func sha256(_ parts: [Part]) throws -> String {
        guard let ctx = EVP_MD_CTX_new() else { throw ProblemError(500, "out of memory") }
        defer { EVP_MD_CTX_free(ctx) }
        EVP_DigestInit_ex(ctx, EVP_sha256(), nil)
        for part in parts {
            switch part {
            case .bytes(let d): d.withUnsafeBytes { _ = EVP_DigestUpdate(ctx, $0.baseAddress, $0.count) }
            case .file(let path):
                guard let handle = FileHandle(forReadingAtPath: path) else { throw ProblemError(500, "the upload could not be read") }
                defer { try? handle.close() }
                while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                    chunk.withUnsafeBytes { _ = EVP_DigestUpdate(ctx, $0.baseAddress, $0.count) }
                }
            }
        }
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        EVP_DigestFinal_ex(ctx, &out, &length)
        return hex(out.prefix(Int(length)))
    }

    static func hmacSHA256(key: String, _ message: [UInt8]) -> String {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let keyBytes = Array(key.utf8)
        _ = HMAC(EVP_sha256(), keyBytes, Int32(keyBytes.count), message, message.count, &out, &length)
        return hex(out.prefix(Int(length)))
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}
