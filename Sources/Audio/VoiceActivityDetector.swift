import Tensor

/// A stretch of speech on the audio's own time axis (seconds from sample 0).
public struct SpeechSpan: Sendable, Equatable {
    public var start: Double
    public var end: Double
    public init(start: Double, end: Double) { self.start = start; self.end = end }
}

/// Silero VAD (the package's `audio.vad` networks, tools/silero_vad.py): a speech probability per
/// 32 ms chunk of 16 kHz audio, and speech spans from them by silero's own rule
/// (`get_speech_timestamps`, thresholds from the manifest). Immutable; share it between workers.
public final class VoiceActivityDetector: Sendable {
    public static let sampleRate = 16_000
    public static let chunk = 512
    public static let context = 64
    /// Chunks per encoder batch: bounds the encoder's activations (about 11 KB per chunk).
    static let encoderBatch = 512

    let encoder: Network
    let decoder: Network
    public let threshold: Float
    public let negThreshold: Float
    public let minSpeechSeconds: Double
    public let minSilenceSeconds: Double
    public let padSeconds: Double

    /// Nil when the package has no `audio.vad` section.
    public convenience init?(package: ModelPackage) throws {
        guard let vad = package.manifest["audio"]?["vad"] else { return nil }
        guard let enc = vad["encoder"]?.string, let net = vad["network"]?.string else {
            throw ModelPackageError("audio.vad needs \"encoder\" and \"network\"")
        }
        try self.init(
            encoder: try package.network(enc), decoder: try package.network(net), settings: vad)
    }

    init(encoder: Network, decoder: Network, settings: JSON) throws {
        self.encoder = encoder
        self.decoder = decoder
        threshold = Float(settings["threshold"]?.double ?? 0.5)
        negThreshold = Float(settings["neg_threshold"]?.double ?? max(Double(threshold) - 0.15, 0.01))
        minSpeechSeconds = (settings["min_speech_ms"]?.double ?? 250) / 1000
        minSilenceSeconds = (settings["min_silence_ms"]?.double ?? 100) / 1000
        padSeconds = (settings["speech_pad_ms"]?.double ?? 30) / 1000
        guard threshold > 0, threshold < 1, negThreshold > 0, negThreshold <= threshold, minSpeechSeconds >= 0,
            minSilenceSeconds >= 0, padSeconds >= 0
        else { throw ModelPackageError("audio.vad: thresholds must satisfy 0 < neg_threshold <= threshold < 1, durations >= 0") }
    }

    /// The speech probability of every 512-sample chunk (the last one zero-padded), the LSTM state
    /// carried across all of them as in silero's streaming use.
    public func probabilities(_ samples: [Float], arena: Arena) throws -> [Float] {
        let n = max(1, (samples.count + Self.chunk - 1) / Self.chunk)
        let width = Self.chunk + Self.context
        let features = Tensor(zeros: [1, n, 128])
        var first = 0
        while first < n {
            let count = min(Self.encoderBatch, n - first)
            let x = arena.tensor([count, 1, width, 1])
            samples.withUnsafeBufferPointer { s in
                for k in 0..<count {
                    let row = x.data + k * width, origin = (first + k) * Self.chunk - Self.context
                    for i in 0..<width {
                        let j = origin + i
                        row[i] = j >= 0 && j < s.count ? s[j] : 0
                    }
                }
            }
            let f = try encoder.run([x], arena: arena)[0]
            guard f.count == count * 128 else { throw TensorError.shape("vad encoder: output \(f.shape), expected [\(count), 128]") }
            (features.data + first * 128).update(from: f.data, count: f.count)
            arena.reset()
            first += count
        }
        let p = try decoder.run([features], arena: arena)[0]
        defer { arena.reset() }
        guard p.count == n else { throw TensorError.shape("vad: output \(p.shape), expected [1, \(n), 1]") }
        return p.array
    }

    /// Speech spans by silero-vad's get_speech_timestamps (no maximum speech length): speech starts at
    /// a chunk with p >= threshold and ends where p < neg_threshold began, once that silence has
    /// lasted min_silence; spans up to min_speech are dropped; each span is padded by speech_pad
    /// (half the gap when two spans are closer than twice that).
    public func spans(probabilities p: [Float], sampleCount: Int) -> [SpeechSpan] {
        let rate = Double(Self.sampleRate), step = Self.chunk
        let minSpeech = rate * minSpeechSeconds, minSilence = rate * minSilenceSeconds, pad = rate * padSeconds
        var raw: [(start: Int, end: Int)] = []
        var triggered = false, start = 0, tempEnd = 0
        for (i, prob) in p.enumerated() {
            let sample = i * step
            if prob >= threshold && tempEnd != 0 { tempEnd = 0 }
            if prob >= threshold && !triggered {
                triggered = true
                start = sample
                continue
            }
            if prob < negThreshold && triggered {
                if tempEnd == 0 { tempEnd = sample }
                if Double(sample - tempEnd) < minSilence { continue }
                if Double(tempEnd - start) > minSpeech { raw.append((start, tempEnd)) }
                triggered = false
                tempEnd = 0
            }
        }
        if triggered && Double(sampleCount - start) > minSpeech { raw.append((start, sampleCount)) }
        for i in raw.indices {
            if i == 0 { raw[i].start = max(0, raw[i].start - Int(pad)) }
            if i + 1 < raw.count {
                let gap = raw[i + 1].start - raw[i].end
                if Double(gap) < 2 * pad {
                    raw[i].end += gap / 2
                    raw[i + 1].start = max(0, raw[i + 1].start - gap / 2)
                } else {
                    raw[i].end = min(sampleCount, raw[i].end + Int(pad))
                    raw[i + 1].start = max(0, raw[i + 1].start - Int(pad))
                }
            } else {
                raw[i].end = min(sampleCount, raw[i].end + Int(pad))
            }
        }
        return raw.map { SpeechSpan(start: Double($0.start) / rate, end: Double($0.end) / rate) }
    }
}
