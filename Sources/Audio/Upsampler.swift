#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Integer-factor upsampling with a zero-phase windowed-sinc low-pass, designed as scipy's
/// `resample_poly(x, up, 1)` designs its filter (`firwin(20 up + 1, 1 / up, window=("kaiser", 5))`,
/// unit DC gain, times `up`), zeros outside the signal. The loudness front end uses it to bring
/// 16 kHz audio to the 48 kHz ISO 532-1 needs; nothing above the source's 8 kHz is invented.
public struct Upsampler: Sendable {
    public let factor: Int
    /// Taps, centre at index `half`.
    let taps: [Double]
    let half: Int

    public init(factor: Int) {
        precondition(factor >= 1)
        self.factor = factor
        let half = 10 * factor
        self.half = half
        let cutoff = 1 / Double(factor), beta = 5.0
        var h = (0...(2 * half)).map { n -> Double in
            let m = Double(n - half)
            let sinc = m == 0 ? 1 : sin(Double.pi * cutoff * m) / (Double.pi * cutoff * m)
            let r = Double(n) / Double(half) - 1
            return cutoff * sinc * Upsampler.besselI0(beta * (1 - r * r).squareRoot()) / Upsampler.besselI0(beta)
        }
        let sum = h.reduce(0, +)
        for i in h.indices { h[i] *= Double(factor) / sum }
        taps = h
    }

    /// factor × count samples: y[m] = Σ_k x[k] h[half + m − factor k].
    public func callAsFunction(_ x: [Float]) -> [Float] {
        let n = x.count, up = factor
        var y = [Float](repeating: 0, count: n * up)
        taps.withUnsafeBufferPointer { h in
            for m in 0..<(n * up) {
                let first = max(0, (m - half + up - 1) / up), last = min(n - 1, (m + half) / up)
                var acc = 0.0
                var k = first
                while k <= last {
                    acc += Double(x[k]) * h[half + m - up * k]
                    k += 1
                }
                y[m] = Float(acc)
            }
        }
        return y
    }

    /// The modified Bessel function of the first kind, order 0 (power series; converges fast for
    /// the window's arguments <= beta).
    static func besselI0(_ x: Double) -> Double {
        var sum = 1.0, term = 1.0, k = 1.0
        while term > 1e-17 * sum {
            term *= (x / (2 * k)) * (x / (2 * k))
            sum += term
            k += 1
        }
        return sum
    }
}
