import ArgumentParser
import Foundation
import Media
import MediaCLI

/// `affectd frames FILE --fps R --size WxH --out DIR`: writes the sampled frames as PNG files named
/// by index and time, so a person can look at what the models will see.
struct FramesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "frames",
        abstract: "Decode a video, sample it, and write the frames as PNG (display rotation applied).")

    @Argument(help: "Video or image file.") var file: String
    @Option(help: "Sampling rate in frames per second (omit for every frame).") var fps: Double?
    @Option(help: "Fit frames into WIDTHxHEIGHT, aspect ratio kept (omit for native size).") var size: String?
    @Option(help: "Directory for the PNG files (created if missing).") var out: String
    @OptionGroup var media: MediaOptions

    func run() throws {
        let frameSize: FrameSize =
            try size.map {
                let (w, h) = try parseSize($0); return .fit(width: w, height: h)
            } ?? .native
        if let fps, !(fps > 0 && fps <= 1000) { throw ValidationError("--fps must be in (0, 1000]") }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        do {
            let decoder = try VideoDecoder(source: .file(file), limits: media.limits, sampling: fps.map { .fps($0) } ?? .everyFrame)
            let converter = FrameConverter(size: frameSize)
            var written = 0
            while let frame = try decoder.nextFrame() {
                let png = try PNGEncoder.encode(try converter.rgb8(frame))
                let name = String(format: "frame_%06d_t%09.3f.png", frame.index, frame.t)
                try Data(png).write(to: URL(fileURLWithPath: out).appendingPathComponent(name))
                written += 1
            }
            print("wrote \(written) of \(decoder.framesDecoded) decoded frames to \(out)")
        } catch let error as MediaError {
            throw reportMediaError(error)
        }
    }
}
