import Affect
import ArgumentParser
import Foundation
import Media
import MediaCLI
import Pipeline
import Tensor

/// Options shared by `analyze` and `label`: model, sampling, threads and the pipeline's knobs.
struct AnalysisOptions: ParsableArguments {
    @Option(help: "Sampling rate in frames per second, or 'all' for every frame.") var fps: String = "5"
    @Option(name: .customLong("max-faces"), help: "At most this many faces per frame (the largest).") var maxFaces: Int = 8
    @Option(help: "Model package directory.") var model: String = "models/default"
    @Option(help: "Compute threads of the frame scheduler for this analysis (default: one per core).") var workers: Int?
    @Option(name: .customLong("detect-interval"), help: "Seconds between face detections (0: every frame).")
    var detectInterval: Double = AnalyzerOptions().detectInterval
    @Option(
        name: .customLong("between-detections"),
        help: "Faces on frames between detections: 'track' follows each with O-Net, 'reuse' keeps the last detected boxes.")
    var betweenDetections: String = AnalyzerOptions().tracking ? "track" : "reuse"
    @Option(name: .customLong("scene-fps"), help: "Scene embeddings per second (when embeddings are computed).") var sceneFPS: Double = 1
    @Flag(name: .customLong("no-flip"), help: "Skip the horizontal-flip pass (faster; confidence loses its agreement factor).")
    var noFlip = false
    @Flag(help: "Print time per stage to stderr.") var timings = false
    @OptionGroup var media: MediaOptions

    func sampling() throws -> FrameSampling {
        if fps == "all" { return .everyFrame }
        guard let r = Double(fps), r > 0, r <= 1000 else { throw ValidationError("--fps must be a rate in (0, 1000] or 'all'") }
        return .fps(r)
    }

    func request() throws -> AnalyzeRequest {
        guard (1...256).contains(maxFaces) else { throw ValidationError("--max-faces must be in 1...256") }
        var r = AnalyzeRequest()
        r.sampling = try sampling()
        r.maxFaces = maxFaces
        r.flip = !noFlip
        r.limits = media.limits
        return r
    }

    func analyzer() throws -> Analyzer {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let n = workers ?? cores
        guard (1...256).contains(n) else { throw ValidationError("--workers must be in 1...256") }
        guard detectInterval >= 0, detectInterval <= 10 else { throw ValidationError("--detect-interval must be in [0, 10] seconds") }
        guard sceneFPS > 0, sceneFPS <= 1000 else { throw ValidationError("--scene-fps must be in (0, 1000]") }
        guard ["track", "reuse"].contains(betweenDetections) else { throw ValidationError("--between-detections must be 'track' or 'reuse'") }
        Engine.configure(intraOpThreads: 1)  // one worker per core, one thread each (docs/engine.md)
        var options = AnalyzerOptions(threads: n)
        options.detectInterval = detectInterval
        options.tracking = betweenDetections == "track"
        options.sceneFPS = sceneFPS
        do { return try Analyzer(package: try ModelPackage(directory: model), options: options) } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    func printTimings(_ t: StageTimings) {
        guard timings else { return }
        var lines = [
            String(
                format: "timings: %d frames in %.3f s wall (%.1f frames/s), %.3f s CPU (%.1f frames per CPU-second)",
                t.framesAnalyzed, t.totalWall, Double(t.framesAnalyzed) / max(t.totalWall, 1e-9),
                t.totalCPU, Double(t.framesAnalyzed) / max(t.totalCPU, 1e-9))
        ]
        for (name, s) in t.stages.sorted(by: { $0.value.cpu > $1.value.cpu }) {
            lines.append(String(format: "  %-10@ wall %8.3f s  cpu %8.3f s  calls %d", name as NSString, s.wall, s.cpu, s.calls))
        }
        lines.append("timings-json: " + String(decoding: (try? ResultJSON.encode(t)) ?? Data(), as: UTF8.self))
        FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }
}

/// `affectd analyze FILE`: the result JSON of docs/design.md on stdout (a JPEG/PNG is a one-frame clip).
struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze", abstract: "Valence, arousal and confidence per person and frame of a clip or image, as JSON.")

    @Argument(help: "Video or image file.") var file: String
    @Option(help: "Extra outputs, comma-separated: expressions, embeddings, audio, blendshapes, pose, landmarks.") var include: String = ""
    @Option(help: "Also write a self-contained HTML report to this path.") var report: String?
    @OptionGroup var analysis: AnalysisOptions

    func run() throws {
        var request = try analysis.request()
        for item in include.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            switch item {
            case "expressions": request.includeExpressions = true
            case "embeddings": request.includeEmbeddings = true
            case "audio": request.includeAudio = true
            case "blendshapes": request.includeBlendshapes = true
            case "pose": request.includePose = true
            case "landmarks": request.includeMesh = true
            case "frames", "faces": break  // always part of the CLI's output
            default: throw ValidationError("--include: unknown output \(item) (expressions, embeddings, audio, blendshapes, pose, landmarks)")
            }
        }
        let analyzer = try analysis.analyzer()
        do {
            let result = try analyzer.analyze(.file(file), request: request)
            analysis.printTimings(result.timings)
            FileHandle.standardOutput.write(try ResultJSON.encode(result.result) + Data("\n".utf8))
            if let report {
                let thumbs = try ReportThumbnails.make(file: file, result: result.result, limits: request.limits)
                try HTMLReport.render(result.result, thumbnails: thumbs, title: "affectd · " + URL(fileURLWithPath: file).lastPathComponent)
                    .write(toFile: report, atomically: true, encoding: .utf8)
            }
        } catch let error as MediaError {
            throw reportMediaError(error)
        }
    }
}

/// The report's thumbnail strip: up to 7 frames (a 1000 px wide page shows them all) evenly spread over the analysed span, decoded again
/// and fitted into 160x120.
enum ReportThumbnails {
    static func make(file: String, result: AnalysisResult, limits: MediaLimits, count: Int = 7) throws -> [HTMLReport.Thumbnail] {
        guard let frames = result.frames, !frames.isEmpty else { return [] }
        let step = max(1, frames.count / count)
        let wanted = stride(from: 0, to: frames.count, by: step).prefix(count).map { frames[$0] }
        let converter = FrameConverter(size: .fit(width: 160, height: 120))
        func thumb(_ f: DecodedFrame, _ at: FrameResult) throws -> HTMLReport.Thumbnail {
            let png = try PNGEncoder.encode(try converter.rgb8(f))
            return try HTMLReport.Thumbnail(
                t: at.t, person: at.faces.first?.person,
                pngDataURI: "data:image/png;base64," + Data(png).base64EncodedString())
        }
        let decoder = try MediaReader(source: .file(file), limits: limits).frames()
        var out: [HTMLReport.Thumbnail] = [], k = 0
        while k < wanted.count, let f = try decoder.nextFrame() {
            if f.t + 1e-6 >= wanted[k].t { out.append(try thumb(f, wanted[k])); k += 1 }
        }
        return out
    }
}
