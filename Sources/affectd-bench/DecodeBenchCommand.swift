import ArgumentParser
import Foundation
import Media
import MediaCLI

/// `affectd-bench decode-bench FILE`: decodes (and converts) every frame and prints frames/s as JSON.
/// Used by benchmarks/decode.sh next to `ffmpeg -benchmark`.
struct DecodeBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode-bench", abstract: "Measure decode + RGB conversion speed on one file.")

    @Argument(help: "Video file.") var file: String
    @Option(help: "native, or WIDTHxHEIGHT (stretched, like ffmpeg -vf scale=W:H).") var size: String = "native"
    @Option(help: "rgb24, float (planar CHW) or none (decode only).") var format: String = "rgb24"
    @Option(help: "Sampling rate in frames per second (omit for every frame).") var fps: Double?
    @Flag(help: "Read the file into memory first and decode from there (custom I/O path).") var memory = false
    @OptionGroup var media: MediaOptions

    func run() throws {
        let frameSize: FrameSize
        if size == "native" { frameSize = .native } else { let (w, h) = try parseSize(size); frameSize = .stretch(width: w, height: h) }
        guard ["rgb24", "float", "none"].contains(format) else { throw ValidationError("--format must be rgb24, float or none") }
        do {
            let start = DispatchTime.now().uptimeNanoseconds
            // FileHandle rather than Data(contentsOf:), which leaks 4 kB on an empty file (FoundationEssentials, Swift 6.3.1).
            let source: MediaSource = memory ? .memory(try readWholeFile(file)) : .file(file)
            let decoder = try VideoDecoder(source: source, limits: media.limits, sampling: fps.map { .fps($0) } ?? .everyFrame)
            let converter = FrameConverter(size: frameSize)
            var rgb: [UInt8] = []
            var floats: [Float] = []
            var frames = 0
            var checksum: UInt64 = 0
            while let frame = try decoder.nextFrame() {
                let (w, h) = converter.outputSize(for: frame)
                switch format {
                case "rgb24":
                    if rgb.count != w * h * 3 { rgb = [UInt8](repeating: 0, count: w * h * 3) }
                    try rgb.withUnsafeMutableBufferPointer { try converter.rgb8(frame, into: $0.baseAddress!) }
                    checksum &+= UInt64(rgb[rgb.count / 2])
                case "float":
                    if floats.count != w * h * 3 { floats = [Float](repeating: 0, count: w * h * 3) }
                    try floats.withUnsafeMutableBufferPointer { try converter.floatCHW(frame, into: $0.baseAddress!) }
                    checksum &+= UInt64(floats[floats.count / 2] * 255)
                default: break
                }
                frames += 1
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            print(
                #"{"frames": \#(frames), "seconds": \#(String(format: "%.4f", seconds)), "fps": \#(String(format: "%.1f", Double(frames) / seconds)), "size": "\#(size)", "format": "\#(format)", "threads": \#(media.threads), "checksum": \#(checksum)}"#
            )
        } catch let error as MediaError {
            throw reportMediaError(error)
        }
    }
}

private func readWholeFile(_ path: String) throws -> Data {
    guard let handle = FileHandle(forReadingAtPath: path) else { throw MediaError.cannotOpen(path: path, reason: "cannot read") }
    defer { try? handle.close() }
    return try handle.readToEnd() ?? Data()
}
