/// Why media could not be used, worded so the uploader knows what to change.
/// `code` is stable (for HTTP problem types and metrics); `description` is the human text.
public enum MediaError: Error, Equatable, Sendable, CustomStringConvertible {
    case emptyInput
    case tooLarge(bytes: Int64, limit: Int64)
    case unrecognizedFormat
    case unsupportedContainer(String)
    case unsupportedCodec(codec: String, container: String)
    case noVideoStream
    case noAudioStream
    case tooManyStreams(count: Int?, limit: Int)
    case probeLimitExceeded(limit: Int)
    case frameTooLarge(width: Int, height: Int, limit: Int)
    case tooLong(seconds: Double, limit: Double)
    case tooManyFrames(limit: Int)
    case timeLimitExceeded(seconds: Double)
    case truncated(percent: Int)
    case corrupt(String)
    case noFrames
    case cannotOpen(path: String, reason: String)
    case ffmpeg(operation: String, message: String)

    public var code: String {
        switch self {
        case .emptyInput: "empty_input"
        case .tooLarge: "too_large"
        case .unrecognizedFormat: "unrecognized_format"
        case .unsupportedContainer: "unsupported_container"
        case .unsupportedCodec: "unsupported_codec"
        case .noVideoStream: "no_video_stream"
        case .noAudioStream: "no_audio_stream"
        case .tooManyStreams: "too_many_streams"
        case .probeLimitExceeded: "probe_limit_exceeded"
        case .frameTooLarge: "frame_too_large"
        case .tooLong: "too_long"
        case .tooManyFrames: "too_many_frames"
        case .timeLimitExceeded: "decode_time_exceeded"
        case .truncated: "truncated"
        case .corrupt: "corrupt"
        case .noFrames: "no_frames"
        case .cannotOpen: "cannot_open"
        case .ffmpeg: "decoder_error"
        }
    }

    public var description: String {
        switch self {
        case .emptyInput: "the input is empty (0 bytes)"
        case let .tooLarge(bytes, limit): "input of \(bytes) bytes exceeds max_bytes \(limit)"
        case .unrecognizedFormat: "not a recognised video or image format (expected mp4/mov, mkv/webm, JPEG or PNG)"
        case let .unsupportedContainer(name):
            "unsupported container \(shortName(name)) (accepted: mp4/mov, mkv/webm, JPEG, PNG)"
        case let .unsupportedCodec(codec, container): "unsupported codec \(codec) in container \(shortName(container))"
        case .noVideoStream: "no video stream"
        case .noAudioStream: "no audio stream"
        case let .tooManyStreams(count, limit):
            count.map { "\($0) streams exceed max_streams \(limit)" } ?? "more streams than max_streams \(limit)"
        case let .probeLimitExceeded(limit):
            "stream parameters not found within probe_bytes \(limit) (header or first frames larger than that)"
        case let .frameTooLarge(w, h, limit): "frame \(w)x\(h) exceeds max_pixels \(limit)"
        case let .tooLong(seconds, limit):
            "duration \(formatSeconds(seconds)) s exceeds max_duration \(formatSeconds(limit)) s"
        case let .tooManyFrames(limit): "more than max_frames \(limit) video frames"
        case let .timeLimitExceeded(seconds): "decoding took longer than max_decode_seconds \(formatSeconds(seconds))"
        case let .truncated(percent): "truncated file at \(percent)%"
        case let .corrupt(what): "corrupt media: \(what)"
        case .noFrames: "the video stream holds no decodable frames"
        case let .cannotOpen(path, reason): "cannot open \(path): \(reason)"
        case let .ffmpeg(operation, message): "\(operation) failed: \(message)"
        }
    }
}

/// "mov,mp4,m4a,3gp,3g2,mj2" -> "mov"; "matroska,webm" -> "matroska"; "png_pipe" -> "png".
func shortName(_ demuxer: String) -> String {
    let first = demuxer.split(separator: ",").first.map(String.init) ?? demuxer
    return first.hasSuffix("_pipe") ? String(first.dropLast(5)) : first
}

func formatSeconds(_ s: Double) -> String {
    let r = (s * 100).rounded() / 100
    return r == r.rounded() ? String(Int(r)) : String(r)
}
