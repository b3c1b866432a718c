import Tensor

/// What SoundAQnet says about one window of the sound environment: ISO 12913 pleasantness and
/// eventfulness in [-1, 1], the eight perceived affective qualities (`SoundscapeModel.qualities`
/// order), acoustic-scene and sound-event probabilities (the package's label order), and the mean
/// ISO 532-1 loudness it saw. Affect of the place's sound, not of a person.
public struct SoundscapeWindow: Sendable, Equatable {
    public var start: Double
    public var end: Double
    public var pleasantness: Float
    public var eventfulness: Float
    public var qualities: [Float]
    public var scene: [Float]
    public var events: [Float]
    public var loudnessSone: Float
}

/// SoundAQnet (the package's `audio.soundscape` networks, converted by tools/soundaqnet_convert.py):
/// the log-mel network and the ISO 532-1 loudness series feed the main network, one window at a
/// time, windows of `windowSeconds` every `hopSeconds`. Immutable; share it between workers.
public final class SoundscapeModel: Sendable {
    public static let sampleRate = 16_000
    public static let qualities = ["pleasant", "eventful", "chaotic", "vibrant", "uneventful", "calm", "annoying", "monotonous"]
    /// The shortest window the network's stacks can read (its kernel-9 mel stack needs ~2.8 s).
    public static let minimumWindowSeconds = 3.0

    let logmel: Network
    let network: Network
    public let windowSeconds: Double
    public let hopSeconds: Double
    /// The calibration: pascal per unit of full-scale audio (uploads carry no SPL reference).
    public let pascalPerUnit: Double
    public let scenes: [String]
    public let events: [String]
    private let upsampler = Upsampler(factor: ZwickerLoudness.sampleRate / SoundscapeModel.sampleRate)

    /// Nil when the package has no `audio.soundscape` section.
    public convenience init?(package: ModelPackage) throws {
        guard let s = package.manifest["audio"]?["soundscape"] else { return nil }
        guard let logmel = s["logmel"]?.string, let net = s["network"]?.string else {
            throw ModelPackageError("audio.soundscape needs \"logmel\" and \"network\"")
        }
        let labels = package.manifest["networks"]?[net]?["labels"]
        try self.init(
            logmel: try package.network(logmel), network: try package.network(net), settings: s,
            scenes: labels?["scene"]?.array?.compactMap(\.string) ?? [], events: labels?["event"]?.array?.compactMap(\.string) ?? [])
    }

    init(logmel: Network, network: Network, settings: JSON, scenes: [String], events: [String]) throws {
        self.logmel = logmel
        self.network = network
        windowSeconds = settings["window_seconds"]?.double ?? 10
        hopSeconds = settings["hop_seconds"]?.double ?? windowSeconds
        pascalPerUnit = settings["pascal_per_unit"]?.double ?? 0
        self.scenes = scenes
        self.events = events
        guard windowSeconds >= Self.minimumWindowSeconds, windowSeconds <= 60, hopSeconds > 0, pascalPerUnit > 0 else {
            throw ModelPackageError("audio.soundscape: window_seconds must be in 3...60, hop_seconds > 0, pascal_per_unit > 0")
        }
        guard settings["sample_rate"]?.int ?? Self.sampleRate == Self.sampleRate else {
            throw ModelPackageError("audio.soundscape: this build reads 16 kHz audio only")
        }
    }

    /// The windows of a clip of `count` samples: `windowSeconds` long, one every `hopSeconds` from 0
    /// while a whole window fits (a hop longer than the window samples the sound rather than covering
    /// it: the cost bound of docs/audio.md); audio shorter than a window is one window; none under 3 s.
    public func windows(sampleCount count: Int) -> [Range<Int>] {
        let rate = Double(Self.sampleRate)
        let width = Int(windowSeconds * rate), hop = Int(hopSeconds * rate)
        guard Double(count) >= Self.minimumWindowSeconds * rate else { return [] }
        guard count > width else { return [0..<count] }
        return stride(from: 0, through: count - width, by: hop).map { $0..<($0 + width) }
    }

    /// The soundscape of every window of 16 kHz mono samples.
    public func analyze(_ samples: [Float], arena: Arena) throws -> [SoundscapeWindow] {
        try windows(sampleCount: samples.count).map { try evaluate(Array(samples[$0]), startSample: $0.lowerBound, arena: arena) }
    }

    /// One window, its features computed from its own samples (as SoundAQnet's clips were).
    func evaluate(_ samples: [Float], startSample: Int, arena: Arena) throws -> SoundscapeWindow {
        let loudness = self.loudness(samples)
        let outputs = try run(logmel: try logmelFeatures(samples, arena: arena), loudness: loudness, arena: arena)
        defer { arena.reset() }
        let rate = Double(Self.sampleRate)
        func values(_ name: String) -> [Float] {
            guard let i = network.outputNames.firstIndex(of: name) else { return [] }
            return Array(UnsafeBufferPointer(start: outputs[i].data, count: outputs[i].count))
        }
        return SoundscapeWindow(
            start: Double(startSample) / rate, end: Double(startSample + samples.count) / rate,
            pleasantness: values("pleasantness").first ?? .nan, eventfulness: values("eventfulness").first ?? .nan,
            qualities: Self.qualities.map { values($0).first ?? .nan }, scene: values("scene"), events: values("event"),
            loudnessSone: loudness.isEmpty ? 0 : loudness.reduce(0, +) / Float(loudness.count))
    }

    /// ISO 532-1 loudness (sone, every 2 ms) of 16 kHz samples at the package's calibration.
    public func loudness(_ samples: [Float]) -> [Float] {
        let scale = Float(pascalPerUnit)
        return ZwickerLoudness.timeVarying(pascal: upsampler(samples).map { $0 * scale })
    }

    /// The network on one window's features: dB log-mel [1, 1, frames, 64] and the loudness series
    /// (sone every 2 ms); the outputs in the network's declaration order (valid until `arena` is reset).
    public func run(logmel mel: Tensor, loudness: [Float], arena: Arena) throws -> [Tensor] {
        let loud = arena.tensor([1, loudness.count, 1, 1])
        loud.data.update(from: loudness, count: loudness.count)
        return try network.run([mel, loud], arena: arena)
    }

    /// The log-mel front end: [1, 1, frames, 64] in dB (frames = 1 + samples / 160).
    public func logmelFeatures(_ samples: [Float], arena: Arena) throws -> Tensor {
        let audio = arena.tensor([1, 1, samples.count, 1])
        audio.data.update(from: samples, count: samples.count)
        return try logmel.run([audio], arena: arena)[0]
    }

    public var outputNames: [String] { network.outputNames }
}
