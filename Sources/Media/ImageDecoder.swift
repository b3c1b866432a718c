/// Decodes a still image (JPEG, PNG incl. alpha, greyscale, 16-bit) through the same demuxer and
/// decoder path as video, so the same limits and allow-lists apply. Convert with `FrameConverter`
/// (`rgb8(alpha: true)` keeps the alpha channel).
public enum ImageDecoder {
    public static let containers: Set<String> = ["jpeg_pipe", "png_pipe"]

    public static func decode(_ source: MediaSource, limits: MediaLimits = MediaLimits()) throws -> DecodedFrame {
        var imageLimits = limits
        imageLimits.allowedContainers = limits.allowedContainers.intersection(containers)
        imageLimits.threads = 1
        let decoder = try VideoDecoder(source: source, limits: imageLimits)
        guard let frame = try decoder.nextFrame() else { throw MediaError.noFrames }
        return frame
    }
}
