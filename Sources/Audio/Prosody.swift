#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Prosody of 16 kHz mono audio every 10 ms (docs/audio.md gives the definitions):
/// - `loudness`: RMS level of a 30 ms window in dB re full scale (dBFS; a full-scale sine is -3 dB);
///   not a perceptual loudness model;
/// - `f0`: YIN (de Cheveigné & Kawahara 2002): difference function over a 30 ms window,
///   cumulative-mean normalisation, absolute threshold 0.2, parabolic interpolation, 60–500 Hz;
/// - `voicing`: 1 − the normalised difference at the chosen lag (clipped to [0, 1]); a frame is
///   voiced when YIN found a lag under the threshold and the level is above -60 dBFS.
public struct ProsodyTrack: Sendable, Equatable {
    public static let hopSeconds = 0.01
    public static let sampleRate = 16_000
    static let hop = 160
    static let window = 480
    static let minF0 = 60.0
    static let maxF0 = 500.0
    static let yinThreshold: Float = 0.2
    static let silenceDb: Float = -60

    /// Per frame k (centre at k * 10 ms): level in dBFS, F0 in Hz (nil: unvoiced or not computed), voicing in [0, 1].
    public var loudness: [Float]
    public var f0: [Float?]
    public var voicing: [Float]

    /// Loudness everywhere; F0 and voicing only where `pitchWhere(t)` is true (speech spans: YIN is
    /// the costly part), elsewhere F0 nil and voicing 0.
    public init(_ samples: [Float], pitchWhere: (Double) -> Bool = { _ in true }) {
        let frames = samples.isEmpty ? 0 : samples.count / Self.hop + 1
        loudness = [Float](repeating: Self.silenceDb - 60, count: frames)
        f0 = [Float?](repeating: nil, count: frames)
        voicing = [Float](repeating: 0, count: frames)
        let minLag = Int(Double(Self.sampleRate) / Self.maxF0), maxLag = Int(Double(Self.sampleRate) / Self.minF0)
        var d = [Float](repeating: 0, count: maxLag + 2)
        samples.withUnsafeBufferPointer { s in
            for k in 0..<frames {
                let centre = k * Self.hop
                loudness[k] = Self.rmsDb(s, from: centre - Self.window / 2, count: Self.window)
                guard loudness[k] > Self.silenceDb, pitchWhere(Double(k) * Self.hopSeconds) else { continue }
                let start = centre - (Self.window + maxLag) / 2
                guard start >= 0, start + Self.window + maxLag + 1 <= s.count else { continue }
                if let (lag, aperiodicity) = Self.yin(s.baseAddress! + start, maxLag: maxLag, minLag: minLag, d: &d) {
                    f0[k] = Float(Double(Self.sampleRate) / lag)
                    voicing[k] = min(1, max(0, 1 - aperiodicity))
                }
            }
        }
    }

    /// RMS in dBFS of `count` samples from `from` (samples outside the signal count as silence).
    static func rmsDb(_ s: UnsafeBufferPointer<Float>, from: Int, count: Int) -> Float {
        var sum: Float = 0
        for i in max(0, from)..<min(s.count, from + count) { sum += s[i] * s[i] }
        return 10 * log10f(sum / Float(count) + 1e-12)
    }

    /// YIN on x[0 ..< window + maxLag + 1]: the lag (fractional) and its normalised difference, or nil when
    /// no lag in range falls under the threshold (unvoiced).
    static func yin(_ x: UnsafePointer<Float>, maxLag: Int, minLag: Int, d: inout [Float]) -> (Double, Float)? {
        let w = window
        d[0] = 1
        var running: Float = 0
        var best = -1
        for tau in 1...maxLag + 1 {
            var acc: Float = 0
            for j in 0..<w {
                let diff = x[j] - x[j + tau]
                acc += diff * diff
            }
            running += acc
            d[tau] = running > 0 ? acc * Float(tau) / running : 1
        }
        var tau = minLag
        while tau <= maxLag {
            if d[tau] < yinThreshold {
                while tau + 1 <= maxLag && d[tau + 1] < d[tau] { tau += 1 }
                best = tau
                break
            }
            tau += 1
        }
        guard best > 0 else { return nil }
        // Parabolic interpolation of the minimum through its neighbours.
        let (a, b, c) = (d[best - 1], d[best], d[best + 1])
        let denom = a - 2 * b + c
        let shift = denom > 0 ? Double(0.5 * (a - c) / denom) : 0
        return (Double(best) + max(-0.5, min(0.5, shift)), b)
    }

    /// The frame nearest to `t` seconds, nil outside the track.
    public func frame(at t: Double) -> Int? {
        let k = Int((t / Self.hopSeconds).rounded())
        return k >= 0 && k < loudness.count ? k : nil
    }
}
