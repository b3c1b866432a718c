import CFFmpeg
import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// The custom AVIOContext behind every input: reads and seeks a file descriptor or a memory buffer,
/// and enforces the wall-clock deadline (reads fail with AVERROR_EXIT once it has passed, and the
/// same check answers FFmpeg's interrupt callback). Seeking is required: most phone clips keep
/// their `moov` index at the end.
final class InputIO {
    private enum Backing { case descriptor(Int32), memory(Data) }
    private let backing: Backing
    let size: Int64
    private var position: Int64 = 0
    private let deadline: UInt64
    private(set) var timedOut = false
    /// Bytes handed to FFmpeg so far (reads after seeks count again).
    private(set) var bytesRead: Int64 = 0
    private(set) var context: UnsafeMutablePointer<AVIOContext>?

    init(source: MediaSource, limits: MediaLimits) throws {
        switch source {
        case let .file(path):
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw MediaError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
            var st = stat()
            guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
                close(fd)
                throw MediaError.cannotOpen(path: path, reason: "not a regular file")
            }
            backing = .descriptor(fd)
            size = Int64(st.st_size)
        case let .memory(data):
            backing = .memory(data)
            size = Int64(data.count)
        }
        deadline = monotonicNanos() + UInt64(max(0, limits.maxDecodeSeconds) * 1e9)
        guard size > 0 else { release(); throw MediaError.emptyInput }
        guard size <= limits.maxBytes else { release(); throw MediaError.tooLarge(bytes: size, limit: limits.maxBytes) }

        let bufferSize: Int32 = 64 << 10
        guard let buffer = av_malloc(Int(bufferSize)) else { release(); throw MediaError.ffmpeg(operation: "av_malloc", message: "out of memory") }
        let opaque = Unmanaged.passUnretained(self).toOpaque()
        context = avio_alloc_context(
            buffer.assumingMemoryBound(to: UInt8.self), bufferSize, 0, opaque,
            { opaque, buf, size in
                Unmanaged<InputIO>.fromOpaque(opaque!).takeUnretainedValue().read(into: buf!, count: Int(size))
            },
            nil,
            { opaque, offset, whence in
                Unmanaged<InputIO>.fromOpaque(opaque!).takeUnretainedValue().seek(offset, whence: whence)
            })
        guard context != nil else {
            av_free(buffer); release()
            throw MediaError.ffmpeg(operation: "avio_alloc_context", message: "out of memory")
        }
    }

    deinit {
        if context != nil {
            av_freep(&context!.pointee.buffer)  // FFmpeg may have replaced the buffer we gave it
            avio_context_free(&context)
        }
        release()
    }

    private func release() {
        if case let .descriptor(fd) = backing { close(fd) }
    }

    /// True once the deadline has passed (also latches `timedOut`).
    func pastDeadline() -> Bool {
        if !timedOut && monotonicNanos() > deadline { timedOut = true }
        return timedOut
    }

    var opaque: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    private func read(into buffer: UnsafeMutablePointer<UInt8>, count: Int) -> Int32 {
        if pastDeadline() { return affectd_averror_exit() }
        let wanted = Int(min(Int64(count), max(0, size - position)))
        guard wanted > 0 else { return affectd_averror_eof() }
        let got: Int
        switch backing {
        case let .memory(data):
            got = data.withUnsafeBytes { raw in
                let start = raw.baseAddress!.advanced(by: Int(position))
                buffer.update(from: start.assumingMemoryBound(to: UInt8.self), count: wanted)
                return wanted
            }
        case let .descriptor(fd):
            got = pread(fd, buffer, wanted, off_t(position))
            if got < 0 { return affectd_averror(errno) }
            if got == 0 { return affectd_averror_eof() }
        }
        position += Int64(got)
        bytesRead += Int64(got)
        return Int32(got)
    }

    private func seek(_ offset: Int64, whence: Int32) -> Int64 {
        let mode = whence & ~affectd_avseek_force()
        if mode == affectd_avseek_size() { return size }
        let target: Int64
        switch mode {
        case SEEK_SET: target = offset
        case SEEK_CUR: target = position + offset
        case SEEK_END: target = size + offset
        default: return Int64(affectd_averror(EINVAL))
        }
        guard target >= 0 else { return Int64(affectd_averror(EINVAL)) }
        position = target
        return target
    }
}

func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// FFmpeg's error text for a return code.
func ffmpegMessage(_ code: Int32) -> String {
    var buf = [CChar](repeating: 0, count: 128)
    av_strerror(code, &buf, buf.count)
    return buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}
