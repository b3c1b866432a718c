/// Decodes a still image (JPEG, PNG incl. alpha, greyscale, 16-bit) through the same demuxer and
/// decoder path as video, so the same limits and allow-lists apply. Convert with `FrameConverter`
/// (`rgb8(alpha: true)` keeps the alpha channel).
public enum ImageDecoder {
    public static let containers: Set<String> = ["jpeg_pipe", "png_pipe"]

    /// The image's one frame (t = 0); any other container is refused as unsupported.
    public static func decode(_ source: MediaSource, limits: MediaLimits = MediaLimits()) throws -> DecodedFrame {
        var imageLimits = limits
        imageLimits.allowedContainers = limits.allowedContainers.intersection(containers)
        guard let frame = try MediaReader(source: source, limits: imageLimits).frames().nextFrame() else { throw MediaError.noFrames }
        return frame
    }
}
