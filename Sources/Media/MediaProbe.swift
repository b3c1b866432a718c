import CFFmpeg

/// What a media file holds, read from its header (nothing is decoded). The JSON of `affectd probe`
/// and the `media` object of analysis results (field names from design.md). `width`/`height` are of
/// the *displayed* frame, i.e. after `rotation`; streams[] keep the coded size.
public struct MediaProbe: Codable, Sendable, Equatable {
    public struct Stream: Codable, Sendable, Equatable {
        public var index: Int
        public var type: String
        public var codec: String
        public var duration: Double?
        public var frames: Int?
        public var width: Int?
        public var height: Int?
        public var fps: Double?
        public var pixelFormat: String?
        public var sampleRate: Int?
        public var channels: Int?

        enum CodingKeys: String, CodingKey {
            case index, type, codec, duration, frames, width, height, fps
            case pixelFormat = "pixel_format", sampleRate = "sample_rate", channels
        }
    }

    /// FFmpeg demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "png_pipe".
    public var container: String
    public var bytes: Int64
    public var duration: Double?
    public var videoCodec: String?
    public var fps: Double?
    public var width: Int?
    public var height: Int?
    public var rotation: Int
    public var hasAudio: Bool
    public var audioCodec: String?
    public var streams: [Stream]

    enum CodingKeys: String, CodingKey {
        case container, bytes, duration, videoCodec = "video_codec", fps, width, height, rotation
        case hasAudio = "has_audio", audioCodec = "audio_codec", streams
    }

    /// Probes `source`, enforcing the container allow-list and every limit the header can tell.
    /// A file without video is probed successfully (video fields nil); decoding it throws `.noVideoStream`.
    public init(source: MediaSource, limits: MediaLimits = MediaLimits()) throws {
        let input = try MediaInput(source: source, limits: limits)
        try self.init(input: input)
    }

    init(input: MediaInput) throws {
        container = input.containerName
        bytes = input.io.size
        duration = input.duration
        rotation = 0
        streams = input.streams.map(Self.describe)
        let audio = input.bestAudioStream
        hasAudio = audio != nil
        audioCodec = audio.map { String(cString: avcodec_get_name($0.pointee.codecpar.pointee.codec_id)) }
        if let video = input.bestVideoStream {
            try input.validateVideo(video)
            let par = video.pointee.codecpar.pointee
            videoCodec = String(cString: avcodec_get_name(par.codec_id))
            rotation = displayRotation(video)
            let swap = rotation % 180 != 0
            width = Int(swap ? par.height : par.width)
            height = Int(swap ? par.width : par.height)
            fps = input.duration == nil ? nil : nominalFPS(video)  // a still image has no frame rate
        }
    }

    private static func describe(_ stream: UnsafeMutablePointer<AVStream>) -> Stream {
        let par = stream.pointee.codecpar.pointee
        let type = av_get_media_type_string(par.codec_type).map { String(cString: $0) } ?? "unknown"
        var s = Stream(index: Int(stream.pointee.index), type: type, codec: String(cString: avcodec_get_name(par.codec_id)))
        let tb = stream.pointee.time_base
        if stream.pointee.duration != affectd_nopts_value(), stream.pointee.duration > 0, tb.den > 0 {
            s.duration = Double(stream.pointee.duration) * Double(tb.num) / Double(tb.den)
        }
        if stream.pointee.nb_frames > 0 { s.frames = Int(stream.pointee.nb_frames) }
        if par.codec_type == AVMEDIA_TYPE_VIDEO {
            s.width = Int(par.width)
            s.height = Int(par.height)
            s.fps = nominalFPS(stream)
            s.pixelFormat = av_get_pix_fmt_name(AVPixelFormat(rawValue: par.format)).map { String(cString: $0) }
        } else if par.codec_type == AVMEDIA_TYPE_AUDIO {
            s.sampleRate = Int(par.sample_rate)
            s.channels = Int(par.ch_layout.nb_channels)
        }
        return s
    }
}
