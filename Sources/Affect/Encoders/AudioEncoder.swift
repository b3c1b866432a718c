import Tensor

/// What the audio encoder gives one frame time: the features of the window around it and the
/// fraction of that window that is real audio (the rest is zero padding). A frame without audio (a
/// clip without a sound track, a still, a live session) gets zeros and coverage 0: a masked input.
public struct AudioFeature: Sendable, Equatable {
    public var values: [Float]
    public var coverage: Float
}

/// The package's audio feature source, `affect.audio` (docs/model-package.md, "Audio feature
/// source"): a manifest network over the 16 kHz mono window of `window` samples centred on each
/// analysed frame time, the centre put on a grid of `hop` samples so that frame times closer than
/// a hop share one run. Windows reaching past the audio are zero-padded and say so in `coverage`.
public struct AudioEncoder: Sendable {
    public static let sampleRate = 16_000
    public let network: Network
    public let window: Int
    public let hop: Int
    /// Features per window (the output's last axis).
    public let width: Int
    let output: Int
    /// Windows per encoder run: bounds the arena (the STFT of a window is the largest activation).
    static let batch = 16

    init(json: JSON, networks: (String) throws -> Network) throws {
        guard let name = json["encoder"]?.string else { throw AffectModelError("audio.encoder must name a network") }
        network = try networks(name)
        guard let w = json["window"]?.int, w > 0, let h = json["hop"]?.int, h > 0 else {
            throw AffectModelError("audio.window and audio.hop must be positive sample counts (16 kHz)")
        }
        guard network.inputs.count == 1, network.inputs[0].shape.count == 3, network.inputs[0].shape[0] == 1,
            network.inputs[0].shape[1] == w, network.inputs[0].shape[2] == 1
        else {
            throw AffectModelError("audio encoder \(name) must take one input declared [1, \(w), 1] (audio.window samples)")
        }
        let outputName = json["output"]?.string ?? network.outputNames[0]
        guard let o = network.outputNames.firstIndex(of: outputName) else { throw AffectModelError("audio encoder \(name) has no output \(outputName)") }
        guard let f = json["features"]?.int, f > 0 else { throw AffectModelError("audio.features must give the encoder's output width") }
        window = w; hop = h; output = o; width = f
    }

    /// The first sample of the window of a frame at `t` seconds on the audio's own axis (sample 0 at
    /// t = 0): the centre `t` rounded to the nearest multiple of `hop` (halves up), minus half a window.
    public func windowStart(at t: Double) -> Int {
        let centre = Int((t * Double(Self.sampleRate) / Double(hop) + 0.5).rounded(.down)) * hop
        return centre - window / 2
    }

    public var missing: AudioFeature { AudioFeature(values: [Float](repeating: 0, count: width), coverage: 0) }

    /// The feature of every frame time in `times` (seconds on the audio's axis), from the clip's
    /// samples. Windows are encoded once each, `batch` per run; non-finite samples count as 0. A
    /// window that misses the audio entirely is `missing`. Resets `arena`.
    public func features(_ samples: [Float], times: [Double], arena: Arena) throws -> [AudioFeature] {
        let starts = times.map(windowStart(at:))
        var unique: [Int] = [], seen = Set<Int>()
        for s in starts where coverage(s, of: samples.count) > 0 && seen.insert(s).inserted { unique.append(s) }
        var byStart: [Int: [Float]] = [:]
        for first in stride(from: 0, to: unique.count, by: Self.batch) {
            let part = Array(unique[first..<min(first + Self.batch, unique.count)])
            let x = Tensor(zeros: [part.count, 1, window, 1])
            for (n, start) in part.enumerated() {
                let dst = x.data + n * window
                for i in max(0, -start)..<min(window, samples.count - start) {
                    let v = samples[start + i]
                    dst[i] = v.isFinite ? v : 0
                }
            }
            defer { arena.reset() }
            let y = try network.run([x], arena: arena)[output]
            guard y.rank == 2, y.dim(0) == part.count, y.dim(1) == width else {
                throw AffectModelError("audio encoder output has shape \(y.shape), expected [\(part.count), \(width)]")
            }
            for (n, start) in part.enumerated() { byStart[start] = Array(UnsafeBufferPointer(start: y.data + n * width, count: width)) }
        }
        return starts.map { s in
            byStart[s].map { AudioFeature(values: $0, coverage: coverage(s, of: samples.count)) } ?? missing
        }
    }

    /// The fraction of the window starting at `start` that lies inside `count` samples.
    func coverage(_ start: Int, of count: Int) -> Float {
        Float(max(0, min(start + window, count) - max(start, 0))) / Float(window)
    }
}
