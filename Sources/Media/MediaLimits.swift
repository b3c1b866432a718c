/// Every bound the media path enforces. All finite: an upload can never make Media read, decode or
/// allocate without limit. Defaults suit phone clips up to 4K and 10 minutes.
public struct MediaLimits: Sendable, Equatable {
    /// Largest input in bytes (file size or memory buffer).
    public var maxBytes: Int64 = 512 << 20
    /// Longest media duration in seconds (container header, and checked again on every decoded frame).
    public var maxDuration: Double = 600
    /// Largest frame, width x height (default 3840x2160).
    public var maxPixels: Int = 8_294_400
    /// Most video frames decoded from one input (600 s at 60 fps).
    public var maxFrames: Int = 36_000
    /// Most streams a container may declare.
    public var maxStreams: Int = 16
    /// Bytes that opening may read: container header plus the packets that reveal stream parameters
    /// (for a still image, the whole image: a 4K PNG can be 25 MB).
    public var probeBytes: Int = 32 << 20
    /// Wall-clock seconds one open + decode may take before it is abandoned.
    public var maxDecodeSeconds: Double = 120
    /// Decoder threads (frame + slice threading); 0 = one per core, at most 8.
    public var threads: Int = 0
    /// Demuxers accepted (FFmpeg names). Anything else is rejected before its demuxer runs.
    public var allowedContainers: Set<String> = MediaLimits.defaultContainers
    /// Codecs accepted (FFmpeg names). Keeps rarely fuzzed decoders off the upload path.
    public var allowedVideoCodecs: Set<String> = ["h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "mjpeg", "png"]
    public var allowedAudioCodecs: Set<String> = [
        "aac", "mp3", "opus", "vorbis", "flac", "alac",
        "pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_f32le",
    ]

    public static let defaultContainers: Set<String> = [
        "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm",
        "jpeg_pipe", "png_pipe",
    ]

    public init() {}

    /// Decoder thread count actually used.
    var decoderThreads: Int {
        threads > 0 ? threads : min(8, max(1, System.coreCount))
    }
}

enum System {
    static var coreCount: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
