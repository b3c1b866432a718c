// https for webhooks: one OpenSSL client context (TLS 1.2+, certificates verified against the
// system's CAs or `jobs.webhook_ca_file`), and each connection's stream over a blocking socket.
import COpenSSL
import Foundation

final class WebhookTLS: @unchecked Sendable {
    // Read-only after init; OpenSSL contexts are safe to share between threads.
    private let ctx: OpaquePointer

    /// `caFile` empty: the system's trusted certificates.
    init(caFile: String) throws(ConfigError) {
        let key = ServiceConfig.key(\.webhookCAFile)
        guard let ctx = SSL_CTX_new(TLS_client_method()), copenssl_configure_client_ctx(ctx) == 1 else {
            throw ConfigError(key: key, "cannot create a TLS client context")
        }
        self.ctx = ctx
        let loaded = caFile.isEmpty ? SSL_CTX_set_default_verify_paths(ctx) : SSL_CTX_load_verify_locations(ctx, caFile, nil)
        guard loaded == 1 else { throw ConfigError(key: key, "cannot load the CA certificates \(caFile)") }
    }

    deinit { SSL_CTX_free(ctx) }

    /// The handshake on a connected socket, verifying that the certificate names `host`.
    func open(_ fd: Int32, host: String) throws(WebhookClient.Failure) -> TLSStream {
        guard let ssl = SSL_new(ctx) else { throw WebhookClient.Failure(description: "tls: SSL_new failed") }
        let stream = TLSStream(ssl: ssl)
        let isAddress = host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
        if !isAddress { _ = copenssl_set_server_name(ssl, host) }
        let param = SSL_get0_param(ssl)
        let named = isAddress ? X509_VERIFY_PARAM_set1_ip_asc(param, host) : X509_VERIFY_PARAM_set1_host(param, host, 0)
        guard named == 1, SSL_set_fd(ssl, fd) == 1 else { throw WebhookClient.Failure(description: "tls: cannot set up the connection") }
        guard SSL_connect(ssl) == 1 else {
            let verify = SSL_get_verify_result(ssl)
            let reason = verify != X509_V_OK ? String(cString: X509_verify_cert_error_string(verify)) : Self.errorText()
            throw WebhookClient.Failure(description: "tls: handshake failed: \(reason)")
        }
        return stream
    }

    static func errorText() -> String {
        let code = ERR_get_error()
        guard code != 0 else { return "connection closed or timed out" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

final class TLSStream: WebhookStream {
    let ssl: OpaquePointer

    init(ssl: OpaquePointer) { self.ssl = ssl }
    deinit { SSL_free(ssl) }

    func write(_ bytes: [UInt8]) throws(WebhookClient.Failure) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
            guard n > 0 else { throw WebhookClient.Failure(description: "tls: write failed: \(WebhookTLS.errorText())") }
            offset += Int(n)
        }
    }

    func read() throws(WebhookClient.Failure) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = buffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
        if n > 0 { return Array(buffer[..<Int(n)]) }
        if SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN { return [] }
        throw WebhookClient.Failure(description: "tls: read failed: \(WebhookTLS.errorText())")
    }
}
