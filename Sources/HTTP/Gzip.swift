// gzip response bodies (zlib) for clients that accept them.
import CZlib

/// An incremental gzip encoder. The z_stream lives on the heap because zlib keeps a pointer
/// back to it between calls.
final class GzipEncoder {
    private let stream: UnsafeMutablePointer<z_stream>

    init?(level: Int32 = 6) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        guard czlib_deflate_init_gzip(stream, level) == Z_OK else {
            stream.deallocate()
            return nil
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    /// Compresses `input`; `finish` ends the gzip member, otherwise a sync flush makes
    /// everything so far decodable by the client (needed for streamed responses).
    func compress(_ input: [UInt8], finish: Bool) -> [UInt8] {
        var out: [UInt8] = []
        var scratch = [UInt8](repeating: 0, count: 16 * 1024)
        var input = input
        input.withUnsafeMutableBufferPointer { inBuf in
            stream.pointee.next_in = inBuf.baseAddress
            stream.pointee.avail_in = UInt32(inBuf.count)
            repeat {
                scratch.withUnsafeMutableBufferPointer { outBuf in
                    stream.pointee.next_out = outBuf.baseAddress
                    stream.pointee.avail_out = UInt32(outBuf.count)
                    _ = deflate(stream, finish ? Z_FINISH : Z_SYNC_FLUSH)
                    out.append(contentsOf: outBuf[0..<(outBuf.count - Int(stream.pointee.avail_out))])
                }
            } while stream.pointee.avail_out == 0
            stream.pointee.next_in = nil
        }
        return out
    }

    static func compress(_ bytes: [UInt8]) -> [UInt8]? {
        GzipEncoder()?.compress(bytes, finish: true)
    }
}

/// Whether an Accept-Encoding value admits gzip (RFC 9110 §12.5.3; `q=0` means "not this").
func acceptsGzip(_ acceptEncoding: String?) -> Bool {
    guard let value = acceptEncoding else { return false }
    var gzipQ: Double? = nil, starQ: Double? = nil
    for item in value.split(separator: ",") {
        let parts = item.split(separator: ";").map { $0.trimmingOWS().lowercased() }
        guard let coding = parts.first else { continue }
        var q = 1.0
        for p in parts.dropFirst() where p.hasPrefix("q=") { q = Double(p.dropFirst(2)) ?? 0 }
        if coding == "gzip" || coding == "x-gzip" { gzipQ = q } else if coding == "*" { starQ = q }
    }
    return (gzipQ ?? starQ ?? 0) > 0
}

/// Media types worth compressing (text-like); video and images are already compressed.
func isCompressible(_ contentType: String?) -> Bool {
    guard let t = contentType?.lowercased() else { return false }
    return t.hasPrefix("text/") || t.contains("json") || t.contains("xml") || t.contains("javascript")
}
