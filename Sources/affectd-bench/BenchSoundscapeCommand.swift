import ArgumentParser
import Audio
import Foundation
import Tensor

/// `affectd-bench bench-soundscape --audio FILE.f32`: the package's soundscape model on raw 16 kHz
/// mono float32 audio taken as one window: times the ISO 532-1 loudness front end and the networks
/// (median of the timed iterations) and prints JSON with both times, the loudness series (sone every
/// 2 ms) and pleasantness/eventfulness. Used by tools/reference/validate_soundaqnet.py (loudness
/// against mosqito) and for the cost of a window.
struct BenchSoundscapeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-soundscape", abstract: "Time the package's soundscape model on raw 16 kHz float32 audio (JSON out).")

    @Option(help: "Raw little-endian float32 samples, 16 kHz mono.") var audio: String
    @Option(help: "Timed iterations.") var iters: Int = 3
    @Option(help: "Model package directory.") var model: String = "models/default"

    func run() throws {
        guard iters >= 1 else { throw ValidationError("iters must be >= 1") }
        Engine.configure(intraOpThreads: 1)
        let data = try Data(contentsOf: URL(fileURLWithPath: audio))
        let samples = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        guard let m = try SoundscapeModel(package: try ModelPackage(directory: model)) else {
            throw ValidationError("\(model) has no audio.soundscape")
        }
        let arena = Arena()
        var loudTimes: [Double] = [], netTimes: [Double] = []
        var loudness: [Float] = [], outputs: [Float] = []
        for _ in 0...iters {
            let t0 = DispatchTime.now().uptimeNanoseconds
            loudness = m.loudness(samples)
            let t1 = DispatchTime.now().uptimeNanoseconds
            let outs = try m.run(logmel: try m.logmelFeatures(samples, arena: arena), loudness: loudness, arena: arena)
            outputs = ["pleasantness", "eventfulness"].map { outs[m.outputNames.firstIndex(of: $0)!].data[0] }
            arena.reset()
            let t2 = DispatchTime.now().uptimeNanoseconds
            loudTimes.append(Double(t1 - t0) / 1e9)
            netTimes.append(Double(t2 - t1) / 1e9)
        }
        func median(_ t: [Double]) -> Double { let s = t.dropFirst().sorted(); return s[s.count / 2] }  // the first run warms up
        let out: JSON = .object([
            "audio_seconds": .number(Double(samples.count) / Double(SoundscapeModel.sampleRate)),
            "loudness_seconds": .number(median(loudTimes)), "network_seconds": .number(median(netTimes)),
            "pleasantness": .number(Double(outputs[0])), "eventfulness": .number(Double(outputs[1])),
            "loudness_sone": .array(loudness.map { .number(Double($0)) }),
        ])
        print(out.serialized)
    }
}
