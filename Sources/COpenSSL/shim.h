// OpenSSL for optional TLS in the HTTP server, SHA-256 and HMAC (model packages, webhooks). Some
// settings are macros over SSL_CTX_ctrl, which Swift cannot call: wrap them.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/// TLS 1.2 or newer; partial writes from a buffer that may move between retries (the server's
/// output buffer grows while a write is pending).
static inline int copenssl_configure_server_ctx(SSL_CTX *ctx) {
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) return 0;
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    return 1;
}
