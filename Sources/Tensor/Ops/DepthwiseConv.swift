/// Depthwise convolution on NHWC, vectorised across channels (8 at a time), no BLAS.
/// Weights are packed [taps, C]. For 3x3 kernels the nine weight vectors of a channel block stay in
/// registers while the kernel sweeps an output row; other sizes read them from L1 per tap. Border
/// pixels (whose window leaves the input) and a channel tail (C % 8) take a checked scalar path.
@inline(__always)
func depthwiseConv(x: UnsafeMutablePointer<Float>, n: Int, h: Int, w: Int, c: Int,
                   y: UnsafeMutablePointer<Float>, oh: Int, ow: Int, pt: Int, pl: Int,
                   window: Window, weights: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>?,
                   activation: Activation) {
    let kh = window.kh, kw = window.kw, sh = window.sh, sw = window.sw, dh = window.dh, dw = window.dw
    let vecC = c & ~7
    // Output columns whose whole window is inside the input horizontally: [oxLo, oxHi).
    var oxLo = 0
    while oxLo < ow && oxLo * sw - pl < 0 { oxLo += 1 }
    var oxHi = ow
    while oxHi > oxLo && (oxHi - 1) * sw - pl + (kw - 1) * dw >= w { oxHi -= 1 }
    let zero = SIMD8<Float>(repeating: 0)
    let clampLo: SIMD8<Float>, clampHi: SIMD8<Float>, fused: Bool
    switch activation {
    case .relu: clampLo = zero; clampHi = SIMD8(repeating: .infinity); fused = true
    case .relu6: clampLo = zero; clampHi = SIMD8(repeating: 6); fused = true
    case .identity: clampLo = SIMD8(repeating: -.infinity); clampHi = SIMD8(repeating: .infinity); fused = true
    default: clampLo = zero; clampHi = zero; fused = false
    }
    let xr = UnsafeMutableRawPointer(x), yr = UnsafeMutableRawPointer(y), wr = UnsafeMutableRawPointer(weights)
    @inline(__always) func load(_ p: UnsafeMutableRawPointer, _ i: Int) -> SIMD8<Float> {
        p.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
    }

    for b in 0..<n {
        for oy in 0..<oh {
            let iy0 = oy * sh - pt
            let outRow = ((b * oh + oy) * ow) * c
            // Vectorised interior.
            if kh == 3 && kw == 3 {
                let rowValid = (0..<3).map { iy0 + $0 * dh >= 0 && iy0 + $0 * dh < h }
                let v0 = rowValid[0], v1 = rowValid[1], v2 = rowValid[2]
                let r0 = ((b * h + iy0) * w) * c, r1 = r0 + dh * w * c, r2 = r1 + dh * w * c
                var cb = 0
                while cb < vecC {
                    let w00 = load(wr, 0 * c + cb), w01 = load(wr, 1 * c + cb), w02 = load(wr, 2 * c + cb)
                    let w10 = load(wr, 3 * c + cb), w11 = load(wr, 4 * c + cb), w12 = load(wr, 5 * c + cb)
                    let w20 = load(wr, 6 * c + cb), w21 = load(wr, 7 * c + cb), w22 = load(wr, 8 * c + cb)
                    let bv = bias.map { load(UnsafeMutableRawPointer($0), cb) } ?? zero
                    let d0 = 0, d1 = dw * c, d2 = 2 * dw * c
                    for ox in oxLo..<oxHi {
                        let ix = (ox * sw - pl) * c + cb
                        var acc = bv
                        if v0 { acc += load(xr, r0 + ix + d0) * w00; acc += load(xr, r0 + ix + d1) * w01; acc += load(xr, r0 + ix + d2) * w02 }
                        if v1 { acc += load(xr, r1 + ix + d0) * w10; acc += load(xr, r1 + ix + d1) * w11; acc += load(xr, r1 + ix + d2) * w12 }
                        if v2 { acc += load(xr, r2 + ix + d0) * w20; acc += load(xr, r2 + ix + d1) * w21; acc += load(xr, r2 + ix + d2) * w22 }
                        if fused { acc = acc.clamped(lowerBound: clampLo, upperBound: clampHi) }
                        yr.storeBytes(of: acc, toByteOffset: (outRow + ox * c + cb) * 4, as: SIMD8<Float>.self)
                    }
                    cb += 8
                }
            } else {
                var cb = 0
                while cb < vecC {
                    let bv = bias.map { load(UnsafeMutableRawPointer($0), cb) } ?? zero
                    for ox in oxLo..<oxHi {
                        let ix0 = ox * sw - pl
                        var acc = bv
                        for ky in 0..<kh {
                            let iy = iy0 + ky * dh
                            if iy < 0 || iy >= h { continue }
                            let row = ((b * h + iy) * w + ix0) * c + cb
                            let wrow = ky * kw * c + cb
                            for kx in 0..<kw { acc += load(xr, row + kx * dw * c) * load(wr, wrow + kx * c) }
                        }
                        if fused { acc = acc.clamped(lowerBound: clampLo, upperBound: clampHi) }
                        yr.storeBytes(of: acc, toByteOffset: (outRow + ox * c + cb) * 4, as: SIMD8<Float>.self)
                    }
                    cb += 8
                }
            }
            // Checked scalar path: border columns for every channel, interior columns for the tail.
            for ox in 0..<ow {
                let interior = ox >= oxLo && ox < oxHi
                let cStart = interior ? vecC : 0
                if cStart == c { continue }
                let ix0 = ox * sw - pl
                for ch in cStart..<c {
                    var acc = bias?[ch] ?? 0
                    for ky in 0..<kh {
                        let iy = iy0 + ky * dh
                        if iy < 0 || iy >= h { continue }
                        for kx in 0..<kw {
                            let ix = ix0 + kx * dw
                            if ix < 0 || ix >= w { continue }
                            acc += x[((b * h + iy) * w + ix) * c + ch] * weights[(ky * kw + kx) * c + ch]
                        }
                    }
                    if fused { acc = min(max(acc, clampLo[0]), clampHi[0]) }
                    y[outRow + ox * c + ch] = acc
                }
            }
        }
    }
    if !fused { activation.apply(y, n * oh * ow * c) }
}
