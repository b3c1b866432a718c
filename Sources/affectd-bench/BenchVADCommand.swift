import ArgumentParser
import Audio
import Foundation
import Tensor

/// `affectd-bench bench-vad --audio FILE.f32`: times the package's voice activity detector on raw
/// 16 kHz mono float32 audio (all chunks, probabilities and spans; each iteration from scratch) and
/// prints JSON with the median time and the real-time factor. Driven by benchmarks/vad.py.
struct BenchVADCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-vad", abstract: "Time the package's voice activity detector on raw 16 kHz float32 audio (JSON out).")

    @Option(help: "Raw little-endian float32 samples, 16 kHz mono.") var audio: String
    @Option(help: "Timed iterations.") var iters: Int = 5
    @Option(help: "Model package directory.") var model: String = "models/default"

    func run() throws {
        guard iters >= 1 else { throw ValidationError("iters must be >= 1") }
        Engine.configure(intraOpThreads: 1)
        let data = try Data(contentsOf: URL(fileURLWithPath: audio))
        let samples = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        guard let vad = try VoiceActivityDetector(package: try ModelPackage(directory: model)) else {
            throw ValidationError("\(model) has no audio.vad")
        }
        let arena = Arena()
        var times: [Double] = []
        var spans = 0
        for _ in 0...iters {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let p = try vad.probabilities(samples, arena: arena)
            spans = vad.spans(probabilities: p, sampleCount: samples.count).count
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        let timed = times.dropFirst().sorted()  // the first run warms up
        let median = timed[timed.count / 2]
        let seconds = Double(samples.count) / Double(VoiceActivityDetector.sampleRate)
        let out: JSON = .object([
            "audio_seconds": .number(seconds), "median_seconds": .number(median),
            "real_time_factor": .number(median / seconds), "spans": .number(Double(spans)),
        ])
        print(out.serialized)
    }
}
