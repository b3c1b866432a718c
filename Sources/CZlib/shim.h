// zlib for gzip response bodies. deflateInit2 is a macro, which Swift cannot call: wrap it.
#include <zlib.h>

/// A deflate stream that writes the gzip wrapper (RFC 1952): windowBits 15 + 16.
static inline int czlib_deflate_init_gzip(z_streamp stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
