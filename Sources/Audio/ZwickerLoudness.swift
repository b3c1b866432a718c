#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// ISO 532-1:2017 loudness of time-varying sounds (Zwicker's method, free field): the total
/// loudness N(t) in sone, every 2 ms, of a 48 kHz signal in pascal. The steps of the standard's
/// section 6: 28 third-octave bands (25 Hz - 12.5 kHz; the standard's 48 kHz biquad cascades),
/// squared and smoothed (three first-order low-passes, τ = 2 / (3 min(fc, 1 kHz))), levels at
/// 2 kHz; core loudness per critical band (low-frequency weighting `dll`, band grouping below
/// 315 Hz, transmission `a0`, threshold `ltq`, `dcb`); the non-linear temporal decay of each core
/// loudness; the upper slopes of masking (`usl`) integrated over 0-24 Bark; and the temporal
/// weighting of the total (0.47 · τ 3.5 ms + 0.53 · τ 70 ms low-passes), sampled every 2 ms.
/// The tables are the standard's.
public enum ZwickerLoudness {
    public static let sampleRate = 48000
    /// Seconds between outputs.
    public static let step = 0.002

    /// N(t) in sone, one value per 2 ms (96 samples) from sample 0.
    public static func timeVarying(pascal x: [Float]) -> [Float] {
        guard !x.isEmpty else { return [] }
        let levels = bandLevels(x)
        let steps = levels.count / bands
        var core = [Double](repeating: 0, count: steps * criticalBands)
        for t in 0..<steps {
            levels.withUnsafeBufferPointer { l in
                core.withUnsafeMutableBufferPointer { c in
                    coreLoudness(l.baseAddress! + t * bands, into: c.baseAddress! + t * criticalBands)
                }
            }
        }
        decay(&core, steps: steps)
        var total = [Double](repeating: 0, count: steps)
        core.withUnsafeBufferPointer { c in
            for t in 0..<steps { total[t] = slopes(c.baseAddress! + t * criticalBands) }
        }
        let fast = interpolatedLowPass(total, tau: 0.0035), slow = interpolatedLowPass(total, tau: 0.070)
        return stride(from: 0, to: steps, by: 4).map { Float(0.47 * fast[$0] + 0.53 * slow[$0]) }
    }

    static let bands = 28
    static let criticalBands = 21
    static let levelRate = 2000.0
    static let decimation = 24  // 48 kHz -> 2 kHz

    // MARK: third-octave levels (section 6.3)

    /// Per band and section, (a1, a2) of the 48 kHz biquads: the standard's reference
    /// [1, ±2/0, 1 | 1, -2, 1] minus its per-band table; numerators b = [1, 2, 1], [1, 0, -1], [1, -2, 1].
    static let filterTable: [[(Double, Double)]] = [
        [(-6.70260e-4, 6.59453e-4), (-3.75071e-4, 3.61926e-4), (-3.06523e-4, 2.97634e-4)],
        [(-8.47258e-4, 8.30131e-4), (-4.76448e-4, 4.55616e-4), (-3.88773e-4, 3.74685e-4)],
        [(-1.07210e-3, 1.04496e-3), (-6.06567e-4, 5.73553e-4), (-4.94004e-4, 4.71677e-4)],
        [(-1.35836e-3, 1.31535e-3), (-7.74327e-4, 7.22007e-4), (-6.29154e-4, 5.93771e-4)],
        [(-1.72380e-3, 1.65564e-3), (-9.91780e-4, 9.08866e-4), (-8.03529e-4, 7.47455e-4)],
        [(-2.19188e-3, 2.08388e-3), (-1.27545e-3, 1.14406e-3), (-1.02976e-3, 9.40900e-4)],
        [(-2.79386e-3, 2.62274e-3), (-1.64828e-3, 1.44006e-3), (-1.32520e-3, 1.18438e-3)],
        [(-3.57182e-3, 3.30071e-3), (-2.14252e-3, 1.81258e-3), (-1.71397e-3, 1.49082e-3)],
        [(-4.58305e-3, 4.15355e-3), (-2.80413e-3, 2.28135e-3), (-2.23006e-3, 1.87646e-3)],
        [(-5.90655e-3, 5.22622e-3), (-3.69947e-3, 2.87118e-3), (-2.92205e-3, 2.36178e-3)],
        [(-7.65243e-3, 6.57493e-3), (-4.92540e-3, 3.61318e-3), (-3.86007e-3, 2.97240e-3)],
        [(-1.00023e-2, 8.29610e-3), (-6.63788e-3, 4.55999e-3), (-5.15982e-3, 3.75306e-3)],
        [(-1.31230e-2, 1.04220e-2), (-9.02274e-3, 5.73132e-3), (-6.94543e-3, 4.71734e-3)],
        [(-1.73693e-2, 1.30947e-2), (-1.24176e-2, 7.20526e-3), (-9.46002e-3, 5.93145e-3)],
        [(-2.31934e-2, 1.64308e-2), (-1.73009e-2, 9.04761e-3), (-1.30358e-2, 7.44926e-3)],
        [(-3.13292e-2, 2.06370e-2), (-2.44342e-2, 1.13731e-2), (-1.82108e-2, 9.36778e-3)],
        [(-4.28261e-2, 2.59325e-2), (-3.49619e-2, 1.43046e-2), (-2.57855e-2, 1.17912e-2)],
        [(-5.91733e-2, 3.25054e-2), (-5.06072e-2, 1.79513e-2), (-3.69401e-2, 1.48094e-2)],
        [(-8.26348e-2, 4.05894e-2), (-7.40348e-2, 2.24476e-2), (-5.34977e-2, 1.85371e-2)],
        [(-1.17018e-1, 5.08116e-2), (-1.09516e-1, 2.81387e-2), (-7.85097e-2, 2.32872e-2)],
        [(-1.67714e-1, 6.37872e-2), (-1.63378e-1, 3.53729e-2), (-1.16419e-1, 2.93723e-2)],
        [(-2.42528e-1, 7.98576e-2), (-2.45161e-1, 4.43370e-2), (-1.73972e-1, 3.70015e-2)],
        [(-3.53142e-1, 9.96330e-2), (-3.69163e-1, 5.53535e-2), (-2.61399e-1, 4.65428e-2)],
        [(-5.16316e-1, 1.24177e-1), (-5.55473e-1, 6.89403e-2), (-3.93998e-1, 5.86715e-2)],
        [(-7.56635e-1, 1.55023e-1), (-8.34281e-1, 8.58123e-2), (-5.94547e-1, 7.43960e-2)],
        [(-1.10165e0, 1.91713e-1), (-1.23939e0, 1.05243e-1), (-8.91666e-1, 9.40354e-2)],
        [(-1.58477e0, 2.39049e-1), (-1.80505e0, 1.28794e-1), (-1.32500e0, 1.21333e-1)],
        [(-2.50630e0, 1.42308e-1), (-2.19464e0, 2.76470e-1), (-1.90231e0, 1.47304e-1)],
    ]
    static let filterGain: [Double] = [
        4.30764e-11, 8.59340e-11, 1.71424e-10, 3.41944e-10, 6.82035e-10, 1.36026e-9, 2.71261e-9,
        5.40870e-9, 1.07826e-8, 2.14910e-8, 4.28228e-8, 8.54316e-8, 1.70009e-7, 3.38215e-7, 6.71990e-7,
        1.33531e-6, 2.65172e-6, 5.25477e-6, 1.03780e-5, 2.04870e-5, 4.05198e-5, 7.97914e-5, 1.56511e-4,
        3.04954e-4, 5.99157e-4, 1.16544e-3, 2.27488e-3, 3.91006e-3,
    ]

    /// [steps][28] band levels in dB re (20 µPa)², steps = ceil(count / 24). Seven groups of four
    /// bands run as SIMD4<Double> lanes (double precision: the 25 Hz poles lie within 1e-3 of z = 1).
    static func bandLevels(_ x: [Float]) -> [Double] {
        let steps = (x.count + decimation - 1) / decimation
        var out = [Double](repeating: 0, count: steps * bands)
        x.withUnsafeBufferPointer { xs in
            out.withUnsafeMutableBufferPointer { o in
                for g in 0..<(bands / 4) { filterGroup(g, xs, o.baseAddress!) }
            }
        }
        return out
    }

    /// Bands 4g..<4g+4: three biquads (direct form II transposed; numerators [1, 2, 1], [1, 0, -1],
    /// [1, -2, 1]), gain, square, three one-pole smoothers; the level of every 24th sample.
    private static func filterGroup(_ g: Int, _ x: UnsafeBufferPointer<Float>, _ out: UnsafeMutablePointer<Double>) {
        typealias V = SIMD4<Double>
        var a10 = V.zero, a11 = V.zero, a12 = V.zero, a20 = V.zero, a21 = V.zero, a22 = V.zero
        var gain = V.zero, keep = V.zero
        for lane in 0..<4 {
            let band = g * 4 + lane
            a10[lane] = -2 - filterTable[band][0].0
            a11[lane] = -2 - filterTable[band][1].0
            a12[lane] = -2 - filterTable[band][2].0
            a20[lane] = 1 - filterTable[band][0].1
            a21[lane] = 1 - filterTable[band][1].1
            a22[lane] = 1 - filterTable[band][2].1
            gain[lane] = filterGain[band]
            let centre = pow(10, Double(band - 16) / 10) * 1000
            keep[lane] = exp(-1 / (Double(sampleRate) * 2 / (3 * min(centre, 1000))))
        }
        let take = 1 - keep
        var z10 = V.zero, z20 = V.zero, z11 = V.zero, z21 = V.zero, z12 = V.zero, z22 = V.zero
        var s1 = V.zero, s2 = V.zero, s3 = V.zero
        var n = 0, t = 0
        while n < x.count {
            let stop = min(x.count, n + decimation)
            for i in n..<stop {
                let v0 = V(repeating: Double(x[i]))
                let y0 = v0 + z10
                z10 = 2 * v0 - a10 * y0 + z20
                z20 = v0 - a20 * y0
                let y1 = y0 + z11
                z11 = z21 - a11 * y1
                z21 = -y0 - a21 * y1
                let y2 = y1 + z12
                z12 = -2 * y1 - a12 * y2 + z22
                z22 = y1 - a22 * y2
                let f = y2 * gain
                s1 = take * (f * f) + keep * s1
                s2 = take * s1 + keep * s2
                s3 = take * s2 + keep * s3
                if i == n {
                    for lane in 0..<4 { out[t * bands + g * 4 + lane] = 10 * log10((s3[lane] + 1e-12) / 4e-10) }
                }
            }
            n = stop
            t += 1
        }
    }

    // MARK: core loudness (section 6.4; ISO 532-1 tables A.3-A.7)

    static let rap: [Double] = [45, 55, 65, 71, 80, 90, 100, 120]
    static let dll: [[Double]] = [
        [-32, -24, -16, -10, -5, 0, -7, -3, 0, -2, 0],
        [-29, -22, -15, -10, -4, 0, -7, -2, 0, -2, 0],
        [-27, -19, -14, -9, -4, 0, -6, -2, 0, -2, 0],
        [-25, -17, -12, -9, -3, 0, -5, -2, 0, -2, 0],
        [-23, -16, -11, -7, -3, 0, -4, -1, 0, -1, 0],
        [-20, -14, -10, -6, -3, 0, -4, -1, 0, -1, 0],
        [-18, -12, -9, -6, -2, 0, -3, -1, 0, -1, 0],
        [-15, -10, -8, -4, -2, 0, -3, -1, 0, -1, 0],
    ]
    static let ltq: [Double] = [30, 18, 12, 8, 7, 6, 5, 4, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3]
    static let a0: [Double] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -0.5, -1.6, -3.2, -5.4, -5.6, -4, -1.5, 2, 5, 12]
    static let dcb: [Double] = [
        -0.25, -0.6, -0.8, -0.8, -0.5, 0, 0.5, 1.1, 1.5, 1.7, 1.8, 1.8, 1.7, 1.6, 1.4, 1.2, 0.8, 0.5, 0, -0.5,
    ]

    /// 0.0635 · 10^(0.025 ltq) per critical band (the core loudness at threshold's scale).
    static let thresholdScale = ltq.map { 0.0635 * pow(10, 0.025 * $0) }

    /// 21 core loudnesses (the last always 0) from 28 band levels.
    static func coreLoudness(_ level: UnsafePointer<Double>, into nm: UnsafeMutablePointer<Double>) {
        // Bands below 315 Hz: level-dependent weighting, then grouped into three critical bands
        // (bands 0-5, 6-8, 9-10).
        var groups = (0.0, 0.0, 0.0)
        for i in 0..<11 {
            var j = 0
            while j < 7 && level[i] > rap[j] - dll[j][i] { j += 1 }
            let ti = pow(10, (level[i] + dll[j][i]) / 10)
            if i < 6 { groups.0 += ti } else if i < 9 { groups.1 += ti } else { groups.2 += ti }
        }
        for k in 0..<20 {
            let group = k == 0 ? groups.0 : k == 1 ? groups.1 : groups.2
            var le = k < 3 ? (group > 0 ? 10 * log10(group) : 0) : level[k + 8]
            le -= a0[k]
            nm[k] = 0
            if le > ltq[k] {
                le -= dcb[k]
                let s = 0.25
                let m = thresholdScale[k] * (pow(1 - s + s * pow(10, 0.1 * (le - ltq[k])), 0.25) - 1)
                nm[k] = max(m, 0)
            }
        }
        nm[20] = 0
        let correction = 0.4 + 0.32 * pow(nm[0], 0.2)
        if correction <= 1 { nm[0] *= correction }
    }

    // MARK: non-linear decay (section 6.5)

    /// Each critical band's core loudness through the standard's two-time-constant decay
    /// (τ 5 ms short, 15 ms long, 75 ms variable), on 24 linearly interpolated sub-steps per 0.5 ms
    /// step; the output is the filter at each step's first sub-step. State starts at rest.
    static func decay(_ core: inout [Double], steps: Int) {
        let iterations = 24
        let tShort = 0.005, tLong = 0.015, tVar = 0.075
        let dt = 1 / (levelRate * Double(iterations))
        let p = (tVar + tLong) / (tVar * tShort), q = 1 / (tShort * tVar)
        let l1 = -p / 2 + (p * p / 4 - q).squareRoot(), l2 = -p / 2 - (p * p / 4 - q).squareRoot()
        let den = tVar * (l1 - l2)
        let e1 = exp(l1 * dt), e2 = exp(l2 * dt)
        let b0 = (e1 - e2) / den
        let b1 = ((tVar * l2 + 1) * e1 - (tVar * l1 + 1) * e2) / den
        let b2 = ((tVar * l1 + 1) * e1 - (tVar * l2 + 1) * e2) / den
        let b3 = (tVar * l1 + 1) * (tVar * l2 + 1) * (e1 - e2) / den
        let b4 = exp(-dt / tLong), b5 = exp(-dt / tVar)
        for band in 0..<criticalBands {
            // A band at rest throughout stays at rest (the 21st always; every band in silence).
            if !(0..<steps).contains(where: { core[$0 * criticalBands + band] != 0 }) { continue }
            var uo = 0.0, u2 = 0.0
            for t in 0..<steps {
                let now = core[t * criticalBands + band]
                let next = t + 1 < steps ? core[(t + 1) * criticalBands + band] : 0
                let delta = (next - now) / Double(iterations)
                for k in 0..<iterations {
                    let ui = now + Double(k) * delta
                    var out = ui
                    if uo > u2 {
                        let candidate = uo * b2 - u2 * b3
                        if candidate >= ui { out = candidate }
                    } else {
                        let candidate = uo * b4
                        if candidate >= ui { out = candidate }
                    }
                    var second = out
                    if ui < uo && uo > u2 {
                        let candidate = uo * b0 - u2 * b1
                        if candidate <= out { second = candidate }
                    }
                    if ui >= uo && !(abs(ui - uo) < 1e-5 && out <= u2) { second = (u2 - ui) * b5 + ui }
                    if k == 0 { core[t * criticalBands + band] = out }
                    uo = out
                    u2 = second
                }
            }
        }
    }

    // MARK: specific loudness and its integral (section 6.6; tables A.8-A.10)

    static let zup: [Double] = [
        0.9, 1.8, 2.8, 3.5, 4.4, 5.4, 6.6, 7.9, 9.2, 10.6, 12.3, 13.8, 15.2, 16.7, 18.1, 19.3, 20.6, 21.8, 22.7, 23.6, 24,
    ]
    static let rns: [Double] = [21.5, 18, 15.1, 11.5, 9, 6.1, 4.4, 3.1, 2.13, 1.36, 0.82, 0.42, 0.30, 0.22, 0.15, 0.10, 0.035, 0]
    static let usl: [[Double]] = [
        [13, 8.2, 6.3, 5.5, 5.5, 5.5, 5.5, 5.5], [9, 7.5, 6, 5.1, 4.5, 4.5, 4.5, 4.5],
        [7.8, 6.7, 5.6, 4.9, 4.4, 3.9, 3.9, 3.9], [6.2, 5.4, 4.6, 4.0, 3.5, 3.2, 3.2, 3.2],
        [4.5, 3.8, 3.6, 3.2, 2.9, 2.7, 2.7, 2.7], [3.7, 3.0, 2.8, 2.35, 2.2, 2.2, 2.2, 2.2],
        [2.9, 2.3, 2.1, 1.9, 1.8, 1.7, 1.7, 1.7], [2.4, 1.7, 1.5, 1.35, 1.3, 1.3, 1.3, 1.3],
        [1.95, 1.45, 1.3, 1.15, 1.1, 1.1, 1.1, 1.1], [1.5, 1.2, 0.94, 0.86, 0.82, 0.82, 0.82, 0.82],
        [0.72, 0.67, 0.64, 0.63, 0.62, 0.62, 0.62, 0.62], [0.59, 0.53, 0.51, 0.50, 0.42, 0.42, 0.42, 0.42],
        [0.40, 0.33, 0.26, 0.24, 0.24, 0.22, 0.22, 0.22], [0.27, 0.21, 0.20, 0.18, 0.17, 0.17, 0.17, 0.17],
        [0.16, 0.15, 0.14, 0.12, 0.11, 0.11, 0.11, 0.11], [0.12, 0.11, 0.10, 0.08, 0.08, 0.08, 0.08, 0.08],
        [0.09, 0.08, 0.07, 0.06, 0.06, 0.06, 0.06, 0.05], [0.06, 0.05, 0.03, 0.02, 0.02, 0.02, 0.02, 0.02],
    ]

    /// Total loudness (sone) of one step's 21 core loudnesses: each critical band a plateau at its
    /// core loudness, flanks falling towards higher bands along the level-dependent upper slopes;
    /// the area under that curve over 0-24 Bark, rounded as the standard does.
    static func slopes(_ nm: UnsafePointer<Double>) -> Double {
        var total = 0.0, z1 = 0.0, n1 = 0.0
        for i in 0..<criticalBands {
            let top = zup[i], ig = max(0, min(i - 1, 7))
            while z1 < top {
                var z2: Double, n2: Double
                if n1 > nm[i] {
                    var j = 0
                    while j < 17 && rns[j] >= n1 { j += 1 }
                    n2 = max(rns[j], nm[i])
                    var dz = (n1 - n2) / usl[j][ig]
                    z2 = z1 + dz
                    if z2 > top {
                        z2 = top
                        dz = z2 - z1
                        n2 = n1 - dz * usl[j][ig]
                    }
                    total += dz * (n1 + n2) / 2
                } else {
                    n2 = nm[i]
                    z2 = top
                    total += n2 * (z2 - z1)
                }
                z1 = z2
                n1 = n2
            }
        }
        total = max(total, 0)
        return total <= 16 ? (total * 1000 + 0.5).rounded(.down) / 1000 : (total * 100 + 0.5).rounded(.down) / 100
    }

    // MARK: temporal weighting (section 6.7)

    /// A first-order low-pass over 24 linearly interpolated sub-steps per step (the value after the
    /// last step taken as 0), read at each step's first sub-step; state starts at 0.
    static func interpolatedLowPass(_ x: [Double], tau: Double) -> [Double] {
        let iterations = 24
        let a = exp(-1 / (levelRate * Double(iterations) * tau)), b = 1 - a
        var y = 0.0
        var out = [Double](repeating: 0, count: x.count)
        for t in x.indices {
            let next = t + 1 < x.count ? x[t + 1] : 0
            let delta = (next - x[t]) / Double(iterations)
            for k in 0..<iterations {
                y = b * (x[t] + Double(k) * delta) + a * y
                if k == 0 { out[t] = y }
            }
        }
        return out
    }
}
