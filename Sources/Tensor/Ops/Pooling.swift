/// Max and average pooling on NHWC, with PyTorch's semantics: floor or ceil output size (ceil:
/// a last window must start inside the input or its top/left padding), max ignores padding (as if
/// it were -inf, which is also TensorFlow's 'same'), average divides by the window clipped to the
/// padded input (count_include_pad, PyTorch's default) or by the valid cells only.
final class PoolKernel: Kernel, @unchecked Sendable {
    enum Mode { case max, average }
    let mode: Mode
    let window: Window
    let ceil: Bool
    let countIncludePad: Bool

    init(spec: OpSpec, mode: Mode) throws {
        self.mode = mode
        let k = try spec.ints("kernel", count: 2)
        window = try Window(spec: spec, kernel: k)
        guard window.dh == 1 || mode == .max else { throw TensorError.invalid("avgpool has no dilation") }
        ceil = try spec.bool("ceil", default: false)
        countIncludePad = try spec.bool("count_include_pad", default: true)
    }

    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor {
        let x = try single(inputs)
        let (n, h, w, c) = try x.nhwc()
        let (oh, ow, pt, pl) = try window.geometry(h: h, w: w, ceil: ceil)
        let (_, _, pb, pr) = window.padding.resolve(
            h: h, w: w, kh: window.kh, kw: window.kw,
            sh: window.sh, sw: window.sw, dh: window.dh, dw: window.dw)
        let y = arena.tensor([n, oh, ow, c], layout: .nhwc)
        let kh = window.kh, kw = window.kw, sh = window.sh, sw = window.sw, dh = window.dh, dw = window.dw
        let isMax = mode == .max, countIncludePad = countIncludePad
        let xp = UnsafePointer(x.data), yp = y.data
        Engine.parallelRanges(n * oh, minimumPerPart: 4) { outRows in
            for row in outRows {
                let b = row / oh, oy = row % oh
                let y0 = oy * sh - pt
                // Window rows inside the input: ky in [kyLo, kyHi).
                let kyLo = y0 >= 0 ? 0 : (-y0 + dh - 1) / dh, kyHi = min(kh, (h - y0 + dh - 1) / dh)
                // Max over columns whose window lies inside the row: one call for the whole run
                // (the per-pixel clipping below costs more than the maxima themselves at 16 channels).
                var oxA = 0, oxB = 0
                if isMax && kyHi > kyLo && c >= 8 {
                    while oxA < ow && oxA * sw - pl < 0 { oxA += 1 }
                    oxB = ow
                    while oxB > oxA && (oxB - 1) * sw - pl + (kw - 1) * dw >= w { oxB -= 1 }
                    if oxB > oxA {
                        maxPoolRun(
                            xp + ((b * h + y0 + kyLo * dh) * w + oxA * sw - pl) * c, out: yp + (row * ow + oxA) * c,
                            pixels: oxB - oxA, c: c, kRows: kyHi - kyLo, kw: kw,
                            rowStep: dh * w * c, tapStep: dw * c, pixelStep: sw * c)
                    }
                }
                for ox in 0..<ow where ox < oxA || ox >= oxB {
                    let x0 = ox * sw - pl
                    let kxLo = x0 >= 0 ? 0 : (-x0 + dw - 1) / dw, kxHi = min(kw, (w - x0 + dw - 1) / dw)
                    let out = yp + (row * ow + ox) * c
                    let valid = max(0, kyHi - kyLo) * max(0, kxHi - kxLo)
                    var scale: Float = 1
                    if !isMax {
                        var divisor = valid
                        if countIncludePad {
                            let hEnd = min(y0 + kh, h + pb), wEnd = min(x0 + kw, w + pr)
                            divisor = (hEnd - y0) * (wEnd - x0)
                        }
                        scale = 1 / Float(max(divisor, 1))
                    }
                    poolPixel(
                        xp + b * h * w * c, w: w, c: c, y0: y0, x0: x0, dh: dh, dw: dw,
                        ky: kyLo..<max(kyLo, kyHi), kx: kxLo..<max(kxLo, kxHi), isMax: isMax, scale: scale, out: out)
                }
            }
        }
        return y
    }

    /// One output pixel, 8 channels per vector: the max (NaNs in the input are skipped, as before)
    /// or the sum times `scale` over the window cells inside the image. `isMax` is fixed per
    /// kernel, so the branch in `combine` is hoisted out of the loops.
    @inline(__always)
    private func poolPixel(
        _ image: UnsafePointer<Float>, w: Int, c: Int, y0: Int, x0: Int, dh: Int, dw: Int,
        ky: Range<Int>, kx: Range<Int>, isMax: Bool, scale: Float, out: UnsafeMutablePointer<Float>
    ) {
        typealias V = SIMD8<Float>
        let rowStep = dh * w * c, colStep = dw * c
        let first = image + ((y0 + ky.lowerBound * dh) * w + x0 + kx.lowerBound * dw) * c
        let rowsN = ky.count, colsN = kx.count
        var j = 0
        // Four channel vectors at a time: four independent max/add chains (one chain waits on
        // the previous tap's result every cycle or two).
        @inline(__always) func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
        @inline(__always) func combine(_ acc: V, _ v: V) -> V { isMax ? acc.replacing(with: v, where: v .> acc) : acc + v }
        let start = V(repeating: isMax ? -.infinity : 0)
        while j + 32 <= c {
            var a0 = start, a1 = start, a2 = start, a3 = start
            var rowPtr = first + j
            for _ in 0..<rowsN {
                var p = rowPtr
                for _ in 0..<colsN {
                    a0 = combine(a0, load(p)); a1 = combine(a1, load(p + 8))
                    a2 = combine(a2, load(p + 16)); a3 = combine(a3, load(p + 24))
                    p += colStep
                }
                rowPtr += rowStep
            }
            if !isMax { a0 *= scale; a1 *= scale; a2 *= scale; a3 *= scale }
            let o = UnsafeMutableRawPointer(out + j)
            o.storeBytes(of: a0, as: V.self); o.storeBytes(of: a1, toByteOffset: 32, as: V.self)
            o.storeBytes(of: a2, toByteOffset: 64, as: V.self); o.storeBytes(of: a3, toByteOffset: 96, as: V.self)
            j += 32
        }
        if j + 16 <= c {
            var a0 = start, a1 = start
            var rowPtr = first + j
            for _ in 0..<rowsN {
                var p = rowPtr
                for _ in 0..<colsN { a0 = combine(a0, load(p)); a1 = combine(a1, load(p + 8)); p += colStep }
                rowPtr += rowStep
            }
            if !isMax { a0 *= scale; a1 *= scale }
            let o = UnsafeMutableRawPointer(out + j)
            o.storeBytes(of: a0, as: V.self); o.storeBytes(of: a1, toByteOffset: 32, as: V.self)
            j += 16
        }
        while j + 8 <= c {
            var a0 = start
            var rowPtr = first + j
            for _ in 0..<rowsN {
                var p = rowPtr
                for _ in 0..<colsN { a0 = combine(a0, load(p)); p += colStep }
                rowPtr += rowStep
            }
            if !isMax { a0 *= scale }
            UnsafeMutableRawPointer(out + j).storeBytes(of: a0, as: V.self)
            j += 8
        }
        while j < c {
            var acc: Float = isMax ? -.infinity : 0
            var rowPtr = first + j
            for _ in 0..<rowsN {
                var p = rowPtr
                for _ in 0..<colsN { let v = p[0]; acc = isMax ? (v > acc ? v : acc) : acc + v; p += colStep }
                rowPtr += rowStep
            }
            out[j] = isMax ? acc : acc * scale
            j += 1
        }
    }
}

/// Max pooling of `pixels` consecutive output pixels whose windows lie inside the input (`x` at
/// the first pixel's first used window row and column), C >= 8 (channels past the last multiple
/// of 8 one by one: MTCNN's P-Net pools 10). Pixels in pairs, so even 16 channels give four
/// independent max chains; the lane-wise max compiles to vmaxps, which, like the per-pixel path,
/// skips a NaN in the input (it keeps the running maximum).
@inline(never)
private func maxPoolRun(
    _ x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, pixels: Int, c: Int,
    kRows: Int, kw: Int, rowStep: Int, tapStep: Int, pixelStep: Int
) {
    typealias V = SIMD8<Float>
    @inline(__always) func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) func maxed(_ acc: V, _ v: V) -> V {
        var r = acc
        for l in 0..<8 { r[l] = v[l] > acc[l] ? v[l] : acc[l] }
        return r
    }
    let start = V(repeating: -.infinity)
    var px = 0
    while px < pixels {
        let pair = px + 1 < pixels
        let p0 = x + px * pixelStep, p1 = pair ? p0 + pixelStep : p0
        var j = 0
        while j + 8 <= c {
            var a0 = start, a1 = start, b0 = start, b1 = start
            let two = j + 16 <= c
            var rowPtr = 0
            for _ in 0..<kRows {
                var t = rowPtr + j
                for _ in 0..<kw {
                    a0 = maxed(a0, load(p0 + t)); b0 = maxed(b0, load(p1 + t))
                    if two { a1 = maxed(a1, load(p0 + t + 8)); b1 = maxed(b1, load(p1 + t + 8)) }
                    t += tapStep
                }
                rowPtr += rowStep
            }
            let o = out + px * c + j
            UnsafeMutableRawPointer(o).storeBytes(of: a0, as: V.self)
            if two { UnsafeMutableRawPointer(o + 8).storeBytes(of: a1, as: V.self) }
            if pair {
                UnsafeMutableRawPointer(o + c).storeBytes(of: b0, as: V.self)
                if two { UnsafeMutableRawPointer(o + c + 8).storeBytes(of: b1, as: V.self) }
            }
            j += two ? 16 : 8
        }
        while j < c {
            var a: Float = -.infinity, b: Float = -.infinity
            var rowPtr = 0
            for _ in 0..<kRows {
                var t = rowPtr + j
                for _ in 0..<kw {
                    let u = p0[t], v = p1[t]
                    a = u > a ? u : a
                    b = v > b ? v : b
                    t += tapStep
                }
                rowPtr += rowStep
            }
            out[px * c + j] = a
            if pair { out[px * c + c + j] = b }
            j += 1
        }
        px += 2
    }
}

/// Mean over H and W: [N, H, W, C] -> [N, C].
final class GlobalAveragePoolKernel: Kernel, @unchecked Sendable {
    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor {
        let x = try single(inputs)
        let (n, h, w, c) = try x.nhwc()
        let y = arena.tensor([n, c])
        y.data.update(repeating: 0, count: n * c)
        let inv = 1 / Float(max(h * w, 1))
        for b in 0..<n {
            let out = y.data + b * c
            for p in 0..<(h * w) {
                let src = x.data + (b * h * w + p) * c
                for j in 0..<c { out[j] += src[j] }
            }
            for j in 0..<c { out[j] *= inv }
        }
        return y
    }
}
