/// Depthwise convolution on NHWC, vectorised across channels, no BLAS. Weights are packed
/// [taps, C], so one tap's weights for a block of channels are contiguous (read from L1).
/// Per output pixel, channels go in blocks of 32 (four independent 8-lane FMA chains, enough to
/// hide the FMA latency) then 8, over only the taps that fall inside the input (borders need no
/// padded copy); the channel tail (C % 8) takes a checked scalar path. 3x3 kernels instead sweep
/// each interior row with the nine weight vectors of a channel block held in registers. ReLU/ReLU6 are applied in registers. Output rows are split
/// across `Engine.intraOpThreads`.
@inline(__always)
func depthwiseConv(x: UnsafeMutablePointer<Float>, n: Int, h: Int, w: Int, c: Int,
                   y: UnsafeMutablePointer<Float>, oh: Int, ow: Int, pt: Int, pl: Int,
                   window: Window, weights: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>?,
                   activation: Activation) {
    let kh = window.kh, kw = window.kw, sh = window.sh, sw = window.sw, dh = window.dh, dw = window.dw
    let vecC = c & ~7, quadC = c & ~31
    let (lo, hi, fused): (Float, Float, Bool)
    switch activation {
    case .relu: (lo, hi, fused) = (0, .infinity, true)
    case .relu6: (lo, hi, fused) = (0, 6, true)
    case .identity: (lo, hi, fused) = (-.infinity, .infinity, true)
    default: (lo, hi, fused) = (-.infinity, .infinity, false)
    }
    let loV = SIMD8<Float>(repeating: lo), hiV = SIMD8<Float>(repeating: hi)
    // Lane by lane: LLVM turns this into vmaxps/vminps (SIMD.clamped stays a generic call).
    @inline(__always) func clamp(_ v: SIMD8<Float>) -> SIMD8<Float> {
        var r = v
        for l in 0..<8 { let t = v[l] < loV[l] ? loV[l] : v[l]; r[l] = t > hiV[l] ? hiV[l] : t }
        return r
    }
    let xr = UnsafeRawPointer(x), wr = UnsafeRawPointer(weights), yr = UnsafeMutableRawPointer(y)
    let br = bias.map { UnsafeRawPointer($0) }
    @inline(__always) func load(_ p: UnsafeRawPointer, _ i: Int) -> SIMD8<Float> {
        p.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
    }
    @inline(__always) func biasAt(_ i: Int) -> SIMD8<Float> { br.map { load($0, i) } ?? SIMD8(repeating: 0) }

    Engine.parallelRanges(n * oh, minimumPerPart: 4) { rowRange in
        for row in rowRange {
            let b = row / oh, oy = row % oh
            let iy0 = oy * sh - pt
            // Kernel rows that land inside the input: [kyLo, kyHi).
            var kyLo = 0
            while kyLo < kh && iy0 + kyLo * dh < 0 { kyLo += 1 }
            var kyHi = kh
            while kyHi > kyLo && iy0 + (kyHi - 1) * dh >= h { kyHi -= 1 }
            let outRow = (b * oh + oy) * ow * c
            let imageBase = b * h * w * c
            // 3x3 rows with all three input rows present: the interior columns [oxA, oxB) run the
            // weights-in-registers sweep below; the generic loop covers the rest.
            var oxA = 0, oxB = 0
            if kh == 3 && kw == 3 && kyLo == 0 && kyHi == 3 && vecC > 0 {
                while oxA < ow && oxA * sw - pl < 0 { oxA += 1 }
                oxB = ow
                while oxB > oxA && (oxB - 1) * sw - pl + 2 * dw >= w { oxB -= 1 }
                if oxB > oxA {
                    let rowStride = dh * w * c * 4, st = sw * c * 4, d1 = dw * c * 4, d2 = 2 * dw * c * 4
                    var cb = 0
                    while cb < vecC {
                        // Nine weight vectors and the bias stay in registers for the whole sweep.
                        let w00 = load(wr, cb), w01 = load(wr, c + cb), w02 = load(wr, 2 * c + cb)
                        let w10 = load(wr, 3 * c + cb), w11 = load(wr, 4 * c + cb), w12 = load(wr, 5 * c + cb)
                        let w20 = load(wr, 6 * c + cb), w21 = load(wr, 7 * c + cb), w22 = load(wr, 8 * c + cb)
                        let bv = biasAt(cb)
                        var p0 = xr + (imageBase + (iy0 * w + oxA * sw - pl) * c + cb) * 4
                        var q = yr + (outRow + oxA * c + cb) * 4
                        for _ in oxA..<oxB {
                            let p1 = p0 + rowStride, p2 = p1 + rowStride
                            var a = bv
                            a = a.addingProduct(p0.loadUnaligned(as: SIMD8<Float>.self), w00)
                            a = a.addingProduct(p0.loadUnaligned(fromByteOffset: d1, as: SIMD8<Float>.self), w01)
                            a = a.addingProduct(p0.loadUnaligned(fromByteOffset: d2, as: SIMD8<Float>.self), w02)
                            a = a.addingProduct(p1.loadUnaligned(as: SIMD8<Float>.self), w10)
                            a = a.addingProduct(p1.loadUnaligned(fromByteOffset: d1, as: SIMD8<Float>.self), w11)
                            a = a.addingProduct(p1.loadUnaligned(fromByteOffset: d2, as: SIMD8<Float>.self), w12)
                            a = a.addingProduct(p2.loadUnaligned(as: SIMD8<Float>.self), w20)
                            a = a.addingProduct(p2.loadUnaligned(fromByteOffset: d1, as: SIMD8<Float>.self), w21)
                            a = a.addingProduct(p2.loadUnaligned(fromByteOffset: d2, as: SIMD8<Float>.self), w22)
                            q.storeBytes(of: clamp(a), as: SIMD8<Float>.self)
                            p0 += st
                            q += c * 4
                        }
                        cb += 8
                    }
                }
            }
            for ox in 0..<ow where ox < oxA || ox >= oxB {
                let ix0 = ox * sw - pl
                // Kernel columns that land inside the input: [kxLo, kxHi).
                var kxLo = 0
                while kxLo < kw && ix0 + kxLo * dw < 0 { kxLo += 1 }
                var kxHi = kw
                while kxHi > kxLo && ix0 + (kxHi - 1) * dw >= w { kxHi -= 1 }
                let out = outRow + ox * c
                var cb = 0
                while cb < quadC {
                    var a0 = biasAt(cb), a1 = biasAt(cb + 8), a2 = biasAt(cb + 16), a3 = biasAt(cb + 24)
                    for ky in kyLo..<kyHi {
                        var xi = imageBase + ((iy0 + ky * dh) * w + ix0 + kxLo * dw) * c + cb
                        var wi = (ky * kw + kxLo) * c + cb
                        for _ in kxLo..<kxHi {
                            a0 = a0.addingProduct(load(xr, xi), load(wr, wi))
                            a1 = a1.addingProduct(load(xr, xi + 8), load(wr, wi + 8))
                            a2 = a2.addingProduct(load(xr, xi + 16), load(wr, wi + 16))
                            a3 = a3.addingProduct(load(xr, xi + 24), load(wr, wi + 24))
                            xi += dw * c; wi += c
                        }
                    }
                    yr.storeBytes(of: clamp(a0), toByteOffset: (out + cb) * 4, as: SIMD8<Float>.self)
                    yr.storeBytes(of: clamp(a1), toByteOffset: (out + cb + 8) * 4, as: SIMD8<Float>.self)
                    yr.storeBytes(of: clamp(a2), toByteOffset: (out + cb + 16) * 4, as: SIMD8<Float>.self)
                    yr.storeBytes(of: clamp(a3), toByteOffset: (out + cb + 24) * 4, as: SIMD8<Float>.self)
                    cb += 32
                }
                while cb < vecC {
                    var a = biasAt(cb)
                    for ky in kyLo..<kyHi {
                        var xi = imageBase + ((iy0 + ky * dh) * w + ix0 + kxLo * dw) * c + cb
                        var wi = (ky * kw + kxLo) * c + cb
                        for _ in kxLo..<kxHi { a = a.addingProduct(load(xr, xi), load(wr, wi)); xi += dw * c; wi += c }
                    }
                    yr.storeBytes(of: clamp(a), toByteOffset: (out + cb) * 4, as: SIMD8<Float>.self)
                    cb += 8
                }
            }
            // Checked scalar path for the channel tail (C % 8).
            if vecC == c { continue }
            for ox in 0..<ow {
                let cStart = vecC
                let ix0 = ox * sw - pl
                for ch in cStart..<c {
                    var acc = bias?[ch] ?? 0
                    for ky in kyLo..<kyHi {
                        let iy = iy0 + ky * dh
                        for kx in 0..<kw {
                            let ix = ix0 + kx * dw
                            if ix < 0 || ix >= w { continue }
                            acc += x[imageBase + (iy * w + ix) * c + ch] * weights[(ky * kw + kx) * c + ch]
                        }
                    }
                    y[outRow + ox * c + ch] = min(max(acc, lo), hi)
                }
            }
        }
    }
    if !fused { activation.apply(y, n * oh * ow * c) }
}
