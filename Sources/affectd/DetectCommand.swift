import ArgumentParser
import Foundation
import Media
import MediaCLI
import Tensor
import Vision

/// `affectd detect FILE [--fps R]`: faces per frame as JSON lines (time, person id, box as
/// [x, y, w, h], score, five landmarks), from the package's MTCNN and the tracker.
struct DetectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect", abstract: "Detect and track faces in an image or video; one JSON line per frame.")

    @Argument(help: "Image or video file.") var file: String
    @Option(help: "Sampling rate in frames per second (omit for every frame).") var fps: Double?
    @Option(help: "Model package directory.") var model: String = "models/default"
    @OptionGroup var media: MediaOptions

    func run() throws {
        if let fps, !(fps > 0 && fps <= 1000) { throw ValidationError("--fps must be in (0, 1000]") }
        let detector: FaceDetector
        do { detector = FaceDetector(networks: try MTCNNNetworks(package: try ModelPackage(directory: model))) } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let tracker = FaceTracker()
        let converter = FrameConverter()
        let buffer = RGBFrameBuffer()
        func emit(_ frame: DecodedFrame) throws {
            let img = try buffer.convert(frame, with: converter)
            let faces = try detector.detect(img)
            let ids = tracker.update(faces).ids
            func r(_ v: Float) -> String { String(format: "%.2f", v) }
            let list = zip(ids, faces).map { id, f in
                "{\"person\":\(id),\"box\":[\(r(f.box.x1)),\(r(f.box.y1)),\(r(f.box.width)),\(r(f.box.height))],"
                    + "\"score\":\(String(format: "%.5f", f.score)),\"landmarks\":["
                    + f.landmarks.map { "[\(r($0.x)),\(r($0.y))]" }.joined(separator: ",") + "]}"
            }
            print(
                "{\"index\":\(frame.index),\"t\":\(String(format: "%.3f", frame.t)),\"width\":\(img.width),\"height\":\(img.height),\"faces\":[\(list.joined(separator: ","))]}"
            )
        }
        do {
            let decoder = try MediaReader(source: .file(file), limits: media.limits).frames(sampling: fps.map { .fps($0) } ?? .everyFrame)
            while let frame = try decoder.nextFrame() { try emit(frame) }
        } catch let error as MediaError {
            throw reportMediaError(error)
        }
    }
}
