// Optional TLS (OpenSSL) under the event loop: each connection gets a non-blocking SSL object;
// the handshake happens inside the first reads and writes.
import COpenSSL
import Glibc

public struct HTTPTLSConfig: Sendable {
    /// PEM certificate chain (leaf first).
    public var certificatePath: String
    /// PEM private key for the leaf certificate.
    public var privateKeyPath: String

    public init(certificatePath: String, privateKeyPath: String) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
    }
}

/// The server-wide SSL_CTX: certificate and key loaded once at start.
final class TLSContext: @unchecked Sendable {  // SSL_CTX is thread-safe once configured
    let ctx: OpaquePointer

    init(_ config: HTTPTLSConfig) throws {
        guard let ctx = SSL_CTX_new(TLS_server_method()) else { throw HTTPServerError.tls("SSL_CTX_new failed: \(tlsErrorText())") }
        self.ctx = ctx
        guard copenssl_configure_server_ctx(ctx) == 1 else { throw HTTPServerError.tls("cannot configure TLS: \(tlsErrorText())") }
        guard SSL_CTX_use_certificate_chain_file(ctx, config.certificatePath) == 1 else {
            throw HTTPServerError.tls("cannot load certificate \(config.certificatePath): \(tlsErrorText())")
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, config.privateKeyPath, SSL_FILETYPE_PEM) == 1 else {
            throw HTTPServerError.tls("cannot load private key \(config.privateKeyPath): \(tlsErrorText())")
        }
        guard SSL_CTX_check_private_key(ctx) == 1 else { throw HTTPServerError.tls("the private key does not match the certificate") }
    }

    deinit { SSL_CTX_free(ctx) }

    func session(fd: Int32) -> TLSSession? {
        guard let ssl = SSL_new(ctx) else { return nil }
        SSL_set_fd(ssl, fd)
        SSL_set_accept_state(ssl)
        return TLSSession(ssl: ssl)
    }
}

enum IOResult {
    case done(Int)
    case wouldBlock
    case eof
    case failed
}

/// One connection's TLS state. Loop-thread only.
final class TLSSession {
    let ssl: OpaquePointer
    /// A read could not progress until the socket is writable (handshake or key update).
    var readWantsWrite = false

    init(ssl: OpaquePointer) { self.ssl = ssl }
    deinit { SSL_free(ssl) }

    func read(_ buf: UnsafeMutableRawBufferPointer) -> IOResult {
        ERR_clear_error()
        let n = SSL_read(ssl, buf.baseAddress, Int32(min(buf.count, Int(Int32.max))))
        if n > 0 { readWantsWrite = false; return .done(Int(n)) }
        switch SSL_get_error(ssl, n) {
        case SSL_ERROR_WANT_READ: return .wouldBlock
        case SSL_ERROR_WANT_WRITE: readWantsWrite = true; return .wouldBlock
        case SSL_ERROR_ZERO_RETURN: return .eof
        default: return .failed  // includes a peer that closed without close_notify
        }
    }

    func write(_ buf: UnsafeRawBufferPointer) -> IOResult {
        ERR_clear_error()
        let n = SSL_write(ssl, buf.baseAddress, Int32(min(buf.count, Int(Int32.max))))
        if n > 0 { return .done(Int(n)) }
        switch SSL_get_error(ssl, n) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .wouldBlock
        default: return .failed
        }
    }

    /// Decrypted bytes already inside OpenSSL: epoll will not report them.
    var hasBufferedInput: Bool { SSL_pending(ssl) > 0 }

    /// Best-effort close_notify before the TCP half-close.
    func shutdown() {
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
    }
}

func tlsErrorText() -> String {
    let code = ERR_get_error()
    guard code != 0 else { return "unknown error" }
    var buf = [CChar](repeating: 0, count: 256)
    ERR_error_string_n(code, &buf, buf.count)
    return cString(buf)
}
