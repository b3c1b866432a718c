/// Depthwise convolution on NHWC, vectorised across channels, no BLAS. Weights are packed
/// [taps, C], so one tap's weights for a block of channels are contiguous. In each output row, the
/// columns whose kernel windows lie inside the input run eight pixels x eight channels at a time:
/// eight independent FMA chains, each weight vector loaded once per block (depthwiseW3S1, W5S1,
/// W3S2 for the common shapes, depthwiseBlocked for the rest). The border columns next to such a
/// run go one pixel at a time (depthwisePixel); rows too narrow for a run, in blocks over a
/// zero-padded strip (depthwiseEdge). The channel tail (C % 8) takes a checked scalar path. Bias
/// and ReLU/ReLU6 are applied in registers. Output rows are split across `Engine.intraOpThreads`.
@inline(__always)
func depthwiseConv(
    x: UnsafeMutablePointer<Float>, n: Int, h: Int, w: Int, c: Int,
    y: UnsafeMutablePointer<Float>, oh: Int, ow: Int, pt: Int, pl: Int,
    window: Window, weights: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>?,
    activation: Activation
) {
    let kh = window.kh, kw = window.kw, sh = window.sh, sw = window.sw, dh = window.dh, dw = window.dw
    let vecC = c & ~7
    let (lo, hi, fused): (Float, Float, Bool)
    switch activation {
    case .relu: (lo, hi, fused) = (0, .infinity, true)
    case .relu6: (lo, hi, fused) = (0, 6, true)
    case .identity: (lo, hi, fused) = (-.infinity, .infinity, true)
    default: (lo, hi, fused) = (-.infinity, .infinity, false)
    }
    let loV = SIMD8<Float>(repeating: lo), hiV = SIMD8<Float>(repeating: hi)
    let xr = UnsafeRawPointer(x), wr = UnsafeRawPointer(weights), yr = UnsafeMutableRawPointer(y)
    let br = bias.map { UnsafeRawPointer($0) }
    if DepthwisePlane.fits(kh: kh, kw: kw, sh: sh, sw: sw, dh: dh, dw: dw, c: c, oh: oh, ow: ow) {
        depthwisePlanes(
            x: xr, n: n, h: h, w: w, c: c, y: yr, oh: oh, ow: ow, pt: pt, pl: pl, k: kw,
            weights: wr, bias: br, lo: loV, hi: hiV)
        if !fused { activation.apply(y, n * oh * ow * c) }
        return
    }

    // Rows per part: enough work to pay for the hand-off (a 7x7x1152 map still splits in two).
    Engine.parallelRanges(n * oh, minimumPerPart: max(1, 16_384 / max(1, ow * c))) { rowRange in
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
            // Columns whose whole kernel row lies inside the input: [oxA, oxB).
            var oxA = 0
            while oxA < ow && oxA * sw - pl < 0 { oxA += 1 }
            var oxB = ow
            while oxB > oxA && (oxB - 1) * sw - pl + (kw - 1) * dw >= w { oxB -= 1 }
            if oxB - oxA < 8 || vecC == 0 { oxB = oxA }
            // A run's last block overlaps the one before it; a remainder of up to three columns is
            // cheaper one by one with the borders.
            if (oxB - oxA) % 8 <= 3 { oxB -= (oxB - oxA) % 8 }
            if oxB > oxA {
                let xs = xr + (imageBase + ((iy0 + kyLo * dh) * w + oxA * sw - pl) * c) * 4
                let ws = wr + kyLo * kw * c * 4, ys = yr + (outRow + oxA * c) * 4
                let kRows = kyHi - kyLo, rowBytes = dh * w * c * 4, pixels = oxB - oxA
                switch (kw, sw, dw) {
                case (3, 1, 1):
                    depthwiseW3S1(
                        x: xs, weights: ws, bias: br, y: ys, c: c, vecC: vecC, kRows: kRows,
                        rowBytes: rowBytes, pixels: pixels, lo: loV, hi: hiV)
                case (5, 1, 1):
                    depthwiseW5S1(
                        x: xs, weights: ws, bias: br, y: ys, c: c, vecC: vecC, kRows: kRows,
                        rowBytes: rowBytes, pixels: pixels, lo: loV, hi: hiV)
                case (3, 2, 1):
                    depthwiseW3S2(
                        x: xs, weights: ws, bias: br, y: ys, c: c, vecC: vecC, kRows: kRows,
                        rowBytes: rowBytes, pixels: pixels, lo: loV, hi: hiV)
                default:
                    depthwiseBlocked(
                        x: xs, weights: ws, bias: br, y: ys, c: c, vecC: vecC, kw: kw, kRows: kRows,
                        rowBytes: rowBytes, tapBytes: dw * c * 4, pxBytes: sw * c * 4, pixels: pixels,
                        lo: loV, hi: hiV)
                }
            }
            // The other columns: a row without a blocked run in blocks of up to eight (depthwiseEdge),
            // the border columns next to a run one by one.
            if vecC > 0 && oxA == oxB {
                var ox = 0
                while ox < ow {
                    let o = ow >= 8 ? min(ox, ow - 8) : ox, count = min(8, ow - o)
                    depthwiseEdge(
                        x: xr + (imageBase + (iy0 + kyLo * dh) * w * c) * 4,
                        weights: wr + kyLo * kw * c * 4, bias: br, y: yr + (outRow + o * c) * 4,
                        c: c, vecC: vecC, kw: kw, kRows: kyHi - kyLo, rowBytes: dh * w * c * 4, w: w,
                        ix0: o * sw - pl, sw: sw, dw: dw, count: count, lo: loV, hi: hiV)
                    ox = o + count
                }
            }
            var ox = oxA < oxB ? 0 : ow
            while ox < ow {
                if ox == oxA { ox = oxB; continue }
                let ix0 = ox * sw - pl
                var kxLo = 0
                while kxLo < kw && ix0 + kxLo * dw < 0 { kxLo += 1 }
                var kxHi = kw
                while kxHi > kxLo && ix0 + (kxHi - 1) * dw >= w { kxHi -= 1 }
                depthwisePixel(
                    x: xr + (imageBase + ((iy0 + kyLo * dh) * w + ix0 + kxLo * dw) * c) * 4,
                    weights: wr + (kyLo * kw + kxLo) * c * 4, bias: br, y: yr + (outRow + ox * c) * 4,
                    vecC: vecC, kRows: kyHi - kyLo, kCols: kxHi - kxLo, rowBytes: dh * w * c * 4,
                    tapBytes: dw * c * 4, wRowBytes: kw * c * 4, wTapBytes: c * 4, lo: loV, hi: hiV)
                ox += 1
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

/// Small maps (EfficientNet-Lite0's 14x14 and 7x7, 3x3 or 5x5 at stride 1): most output pixels
/// are border pixels there, which the row path takes one at a time or through a strip rebuilt for
/// every output row. Instead, per block of eight channels, the image is
/// copied once into a zero-padded plane of 8-channel vectors (`DepthwisePlane`, L1-sized), and
/// every output row runs the blocked kernels on it with no edge cases: pixels 32 bytes apart,
/// eight output pixels per call (the last call stores only what the row has).
enum DepthwisePlane {
    /// Largest plane (bytes) for this path: it and the weights stay in L1.
    static let maxBytes = 16 << 10
    /// Output rows this narrow or narrower take the plane path.
    static let maxWidth = 16

    /// Plane columns: whole 8-pixel blocks of output plus the kernel's overhang.
    static func columns(ow: Int, k: Int) -> Int { (ow + 7) / 8 * 8 + k - 1 }

    static func fits(kh: Int, kw: Int, sh: Int, sw: Int, dh: Int, dw: Int, c: Int, oh: Int, ow: Int) -> Bool {
        kh == kw && (kw == 3 || kw == 5) && sh == 1 && sw == 1 && dh == 1 && dw == 1 && c % 8 == 0 && c > 0
            && ow <= maxWidth && (oh + kh - 1) * columns(ow: ow, k: kw) * 32 <= maxBytes
    }
}

/// Depthwise (stride 1, k x k, k = 3 or 5) through zero-padded planes (DepthwisePlane). Plane row
/// r, column q hold input row r - pt, column q - pl of one 8-channel block (zero outside the
/// input). Channel blocks are split across threads, one plane each.
private func depthwisePlanes(
    x: UnsafeRawPointer, n: Int, h: Int, w: Int, c: Int, y: UnsafeMutableRawPointer,
    oh: Int, ow: Int, pt: Int, pl: Int, k: Int, weights: UnsafeRawPointer,
    bias: UnsafeRawPointer?, lo: SIMD8<Float>, hi: SIMD8<Float>
) {
    let cols = DepthwisePlane.columns(ow: ow, k: k), rows = oh + k - 1, cBytes = c * 4
    let rowBytes = cols * 32
    // The input rows and columns that land in the plane.
    let r0 = max(0, pt), r1 = min(rows, h + pt), q0 = max(0, pl), q1 = min(cols, w + pl)
    Engine.parallelRanges(c / 8) { blocks in
        withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: rows * cols) { buffer in
            let plane = buffer.baseAddress!
            plane.initialize(repeating: SIMD8(repeating: 0), count: rows * cols)  // borders stay zero
            for b in 0..<n {
                for cb in blocks {
                    let src = x + (b * h * w * c + cb * 8) * 4
                    for r in r0..<r1 {
                        let line = src + ((r - pt) * w - pl) * cBytes
                        for q in q0..<q1 { plane[r * cols + q] = ld(line, q * cBytes) }
                    }
                    let ws = weights + cb * 32, bs = bias.map { $0 + cb * 32 }
                    for oy in 0..<oh {
                        let out = y + ((b * oh + oy) * ow * c + cb * 8) * 4
                        var ox = 0
                        while ox < ow {
                            let xs = UnsafeRawPointer(plane + oy * cols + ox), count = min(8, ow - ox)
                            if k == 5 {
                                depthwiseW5S1Strip(
                                    x: xs, weights: ws, bias: bs, y: out + ox * cBytes, c: c, kRows: 5,
                                    rowBytes: rowBytes, count: count, lo: lo, hi: hi)
                            } else {
                                depthwiseW3S1Strip(
                                    x: xs, weights: ws, bias: bs, y: out + ox * cBytes, c: c, kRows: 3,
                                    rowBytes: rowBytes, count: count, lo: lo, hi: hi)
                            }
                            ox += 8
                        }
                    }
                }
            }
        }
    }
}

/// Lane by lane: LLVM turns this into vmaxps/vminps (SIMD.clamped stays a generic call).
@inline(__always)
private func clamp8(_ v: SIMD8<Float>, _ lo: SIMD8<Float>, _ hi: SIMD8<Float>) -> SIMD8<Float> {
    var r = v
    for l in 0..<8 { let t = v[l] < lo[l] ? lo[l] : v[l]; r[l] = t > hi[l] ? hi[l] : t }
    return r
}

/// Eight floats at `offset` bytes from `p`. Internal, not private: the generated kernels
/// (DepthwiseKernels.generated.swift) use it, as they use `Acc8` and `store8`.
@inline(__always)
func ld(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD8<Float> {
    p.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
}

/// Eight output pixels' accumulators for one block of eight channels.
typealias Acc8 = (
    SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>,
    SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>
)

/// Eight accumulators: bias + the kRows x kw taps of eight output pixels `pxBytes` apart, for one
/// block of eight channels. Each tap's weight vector is loaded once for all eight pixels and the
/// inputs are memory operands: eight independent FMA chains.
@inline(__always)
private func taps8(
    x: UnsafeRawPointer, weights: UnsafeRawPointer, bias: SIMD8<Float>, kRows: Int, kw: Int,
    rowBytes: Int, tapBytes: Int, pxBytes: Int, wTapBytes: Int
) -> Acc8 {
    let px1 = pxBytes, px2 = 2 * px1, px3 = 3 * px1, px4 = 4 * px1, px5 = 5 * px1, px6 = 6 * px1, px7 = 7 * px1
    var a0 = bias, a1 = bias, a2 = bias, a3 = bias, a4 = bias, a5 = bias, a6 = bias, a7 = bias
    var rowP = x, wp = weights
    for _ in 0..<kRows {
        var p = rowP
        for _ in 0..<kw {
            let wv = ld(wp, 0)
            a0 = a0.addingProduct(ld(p, 0), wv)
            a1 = a1.addingProduct(ld(p, px1), wv)
            a2 = a2.addingProduct(ld(p, px2), wv)
            a3 = a3.addingProduct(ld(p, px3), wv)
            a4 = a4.addingProduct(ld(p, px4), wv)
            a5 = a5.addingProduct(ld(p, px5), wv)
            a6 = a6.addingProduct(ld(p, px6), wv)
            a7 = a7.addingProduct(ld(p, px7), wv)
            p += tapBytes; wp += wTapBytes
        }
        rowP += rowBytes
    }
    return (a0, a1, a2, a3, a4, a5, a6, a7)
}

/// One output row's run of `pixels` (>= 8) columns whose kernel windows lie inside the input,
/// channels [0, vecC). `x` is the input at the first used kernel row, the first column's first
/// tap, channel 0; `weights` the packed weights at that kernel row; `y` the first output pixel.
/// Blocks of eight pixels (taps8), all channel blocks of one before the next so its input stays
/// in L1; the last block is shifted left to end at the run's end (recomputing a few pixels)
/// instead of a tail loop. Its own function so the inliner keeps the loads and stores in it as
/// plain instructions.
@inline(never)
private func depthwiseBlocked(
    x: UnsafeRawPointer, weights: UnsafeRawPointer, bias: UnsafeRawPointer?,
    y: UnsafeMutableRawPointer, c: Int, vecC: Int, kw: Int, kRows: Int,
    rowBytes: Int, tapBytes: Int, pxBytes: Int, pixels: Int,
    lo: SIMD8<Float>, hi: SIMD8<Float>
) {
    let cBytes = c * 4
    var ox = 0
    while true {
        let o = min(ox, pixels - 8)
        var cb = 0
        while cb < vecC {
            let a = taps8(
                x: x + o * pxBytes + cb * 4, weights: weights + cb * 4,
                bias: bias.map { ld($0, cb * 4) } ?? SIMD8(repeating: 0), kRows: kRows, kw: kw,
                rowBytes: rowBytes, tapBytes: tapBytes, pxBytes: pxBytes, wTapBytes: cBytes)
            store8(y + o * cBytes + cb * 4, cBytes, 8, a, lo, hi)
            cb += 8
        }
        if o == pixels - 8 { break }
        ox += 8
    }
}

/// Stores the first `count` of eight accumulators, clamped, `stride` bytes apart.
@inline(__always)
func store8(
    _ q: UnsafeMutableRawPointer, _ stride: Int, _ count: Int,
    _ a: Acc8, _ lo: SIMD8<Float>, _ hi: SIMD8<Float>
) {
    q.storeBytes(of: clamp8(a.0, lo, hi), as: SIMD8<Float>.self)
    if count > 1 { q.storeBytes(of: clamp8(a.1, lo, hi), toByteOffset: stride, as: SIMD8<Float>.self) }
    if count > 2 { q.storeBytes(of: clamp8(a.2, lo, hi), toByteOffset: 2 * stride, as: SIMD8<Float>.self) }
    if count > 3 { q.storeBytes(of: clamp8(a.3, lo, hi), toByteOffset: 3 * stride, as: SIMD8<Float>.self) }
    if count > 4 { q.storeBytes(of: clamp8(a.4, lo, hi), toByteOffset: 4 * stride, as: SIMD8<Float>.self) }
    if count > 5 { q.storeBytes(of: clamp8(a.5, lo, hi), toByteOffset: 5 * stride, as: SIMD8<Float>.self) }
    if count > 6 { q.storeBytes(of: clamp8(a.6, lo, hi), toByteOffset: 6 * stride, as: SIMD8<Float>.self) }
    if count > 7 { q.storeBytes(of: clamp8(a.7, lo, hi), toByteOffset: 7 * stride, as: SIMD8<Float>.self) }
}

/// One output pixel over the taps inside the input (kRows x kCols, `x` and `weights` at the first
/// of them), channels in blocks of 32 (four independent FMA chains) then 8.
@inline(never)
private func depthwisePixel(
    x: UnsafeRawPointer, weights: UnsafeRawPointer, bias: UnsafeRawPointer?,
    y: UnsafeMutableRawPointer, vecC: Int, kRows: Int, kCols: Int, rowBytes: Int,
    tapBytes: Int, wRowBytes: Int, wTapBytes: Int, lo: SIMD8<Float>, hi: SIMD8<Float>
) {
    @inline(__always) func biasAt(_ cb: Int) -> SIMD8<Float> { bias.map { ld($0, cb * 4) } ?? SIMD8(repeating: 0) }
    var cb = 0
    while cb < vecC & ~31 {
        var a0 = biasAt(cb), a1 = biasAt(cb + 8), a2 = biasAt(cb + 16), a3 = biasAt(cb + 24)
        var xRow = x + cb * 4, wRow = weights + cb * 4
        for _ in 0..<kRows {
            var p = xRow, q = wRow
            for _ in 0..<kCols {
                a0 = a0.addingProduct(ld(p, 0), ld(q, 0))
                a1 = a1.addingProduct(ld(p, 32), ld(q, 32))
                a2 = a2.addingProduct(ld(p, 64), ld(q, 64))
                a3 = a3.addingProduct(ld(p, 96), ld(q, 96))
                p += tapBytes; q += wTapBytes
            }
            xRow += rowBytes; wRow += wRowBytes
        }
        y.storeBytes(of: clamp8(a0, lo, hi), toByteOffset: cb * 4, as: SIMD8<Float>.self)
        y.storeBytes(of: clamp8(a1, lo, hi), toByteOffset: cb * 4 + 32, as: SIMD8<Float>.self)
        y.storeBytes(of: clamp8(a2, lo, hi), toByteOffset: cb * 4 + 64, as: SIMD8<Float>.self)
        y.storeBytes(of: clamp8(a3, lo, hi), toByteOffset: cb * 4 + 96, as: SIMD8<Float>.self)
        cb += 32
    }
    while cb < vecC {
        var a = biasAt(cb)
        var xRow = x + cb * 4, wRow = weights + cb * 4
        for _ in 0..<kRows {
            var p = xRow, q = wRow
            for _ in 0..<kCols { a = a.addingProduct(ld(p, 0), ld(q, 0)); p += tapBytes; q += wTapBytes }
            xRow += rowBytes; wRow += wRowBytes
        }
        y.storeBytes(of: clamp8(a, lo, hi), toByteOffset: cb * 4, as: SIMD8<Float>.self)
        cb += 8
    }
}

/// Up to eight output pixels of one row whose kernel windows may cross the left or right edge
/// (borders, rows narrower than a block). Per channel block, the input columns the block reads
/// are first copied into a small zero-padded strip, so taps8 (or, 5x5 stride 1, the written-out
/// depthwiseW5S1Body) runs on it without bounds checks.
/// `x` is the input at the first used kernel row, column 0, channel 0; `ix0` the input column of
/// the first pixel's first tap; `y` the first output pixel.
@inline(never)
private func depthwiseEdge(
    x: UnsafeRawPointer, weights: UnsafeRawPointer, bias: UnsafeRawPointer?,
    y: UnsafeMutableRawPointer, c: Int, vecC: Int, kw: Int, kRows: Int, rowBytes: Int,
    w: Int, ix0: Int, sw: Int, dw: Int, count: Int, lo: SIMD8<Float>, hi: SIMD8<Float>
) {
    let cBytes = c * 4, cols = 7 * sw + (kw - 1) * dw + 1
    // Strip columns [iLo, iHi) hold input columns ix0 + i; the rest are zero.
    let iLo = min(max(-ix0, 0), cols), iHi = max(min(w - ix0, cols), iLo)
    withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: kRows * cols) { strip in
        let s = strip.baseAddress!
        for i in 0..<(kRows * cols) { s[i] = SIMD8(repeating: 0) }
        var cb = 0
        while cb < vecC {
            for r in 0..<kRows {
                let src = x + r * rowBytes + (ix0 * c + cb) * 4
                for i in iLo..<iHi { s[r * cols + i] = ld(src, i * cBytes) }
            }
            let xs = UnsafeRawPointer(s), ws = weights + cb * 4, bs = bias.map { $0 + cb * 4 }, ys = y + cb * 4
            // 5x5 stride 1 (EfficientNet's 7x7 maps) is worth the call; smaller kernels are not.
            if kw == 5 && sw == 1 && dw == 1 {
                depthwiseW5S1Strip(
                    x: xs, weights: ws, bias: bs, y: ys, c: c, kRows: kRows, rowBytes: cols * 32,
                    count: count, lo: lo, hi: hi)
            } else {
                let a = taps8(
                    x: xs, weights: ws, bias: bs.map { ld($0, 0) } ?? SIMD8(repeating: 0), kRows: kRows,
                    kw: kw, rowBytes: cols * 32, tapBytes: dw * 32, pxBytes: sw * 32, wTapBytes: cBytes)
                store8(ys, cBytes, count, a, lo, hi)
            }
            cb += 8
        }
    }
}

/// The Body kernels (DepthwiseKernels.generated.swift, written by tools/gen_depthwise_kernels.py)
/// over the input (columns c floats apart) and over a strip or plane of 8-channel vectors (32 bytes
/// apart: depthwiseEdge, depthwisePlanes), each with its column stride known to the compiler.
@inline(never)
private func depthwiseW3S1(
    x: UnsafeRawPointer, weights: UnsafeRawPointer, bias: UnsafeRawPointer?,
    y: UnsafeMutableRawPointer, c: Int, vecC: Int, kRows: Int, rowBytes: Int,
    pixels: Int, lo: SIMD8<Float>, hi: SIMD8<Float>
) {
    depthwiseW3S1Body(
        x: x, weights: weights, bias: bias, y: y, c: c, vecC: vecC, kRows: kRows, rowBytes: rowBytes,
        colBytes: c * 4, pixels: pixels, stored: 8, lo: lo, hi: hi)
}

@inline(never)
private func depthwiseW5S1(
    x: UnsafeRawPointer, weights: UnsafeRawPointer, bias: UnsafeRawPointer?,
    y: UnsafeMutableRawPointer, c: Int, vecC: Int, kRows: Int, rowBytes: Int,
    pixels: Int, lo: SIMD8<Float>, hi: SIMD8<Float>
) {
    depthwiseW5S1Body(
        x: x, weights: weights, bias: bias, y: y, c: c, vecC: vecC, kRows: kRows, rowBytes: rowBytes,
        colBytes: c * 4, pixels: pixels, stored: 8, lo: lo, hi: hi)
}

@inline(never)
private func depthwiseW5S1Strip(
    x: UnsafeRawPointer, weights: UnsafeRawPointer, bias: UnsafeRawPointer?,
    y: UnsafeMutableRawPointer, c: Int, kRows: Int, rowBytes: Int, count: Int,
    lo: SIMD8<Float>, hi: SIMD8<Float>
) {
    depthwiseW5S1Body(
        x: x, weights: weights, bias: bias, y: y, c: c, vecC: 8, kRows: kRows, rowBytes: rowBytes,
        colBytes: 32, pixels: 8, stored: count, lo: lo, hi: hi)
}

@inline(never)
private func depthwiseW3S1Strip(
    x: UnsafeRawPointer, weights: UnsafeRawPointer, bias: UnsafeRawPointer?,
    y: UnsafeMutableRawPointer, c: Int, kRows: Int, rowBytes: Int, count: Int,
    lo: SIMD8<Float>, hi: SIMD8<Float>
) {
    depthwiseW3S1Body(
        x: x, weights: weights, bias: bias, y: y, c: c, vecC: 8, kRows: kRows, rowBytes: rowBytes,
        colBytes: 32, pixels: 8, stored: count, lo: lo, hi: hi)
}
