// OpenSSL: TLS in the HTTP server, SHA digests, HMAC (stream state tokens, webhook signatures). Some
// settings are macros over SSL_CTX_ctrl, which Swift cannot call: wrap them.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/hmac.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>

/// TLS 1.2 or newer; partial writes from a buffer that may move between retries (the server's
/// output buffer grows while a write is pending).
static inline int copenssl_configure_server_ctx(SSL_CTX *ctx) {
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) return 0;
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    return 1;
}

/// Webhook client: TLS 1.2 or newer, the peer's certificate verified.
static inline int copenssl_configure_client_ctx(SSL_CTX *ctx) {
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) return 0;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return 1;
}

/// Server Name Indication (a macro over SSL_ctrl).
static inline int copenssl_set_server_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}
