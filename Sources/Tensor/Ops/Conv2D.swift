#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// 2-D convolution on NHWC activations, any kernel, stride, padding, dilation and groups.
/// Weights arrive in PyTorch layout [Cout, Cin/groups, kh, kw]; at load an optional batch norm is
/// folded in (w' = w * gamma / sqrt(var + eps), b' = (b - mean) * gamma / sqrt(var + eps) + beta)
/// and they are repacked for the path that runs:
/// - depthwise (groups == Cin == Cout): [taps, C], SIMD across channels (DepthwiseConv.swift);
/// - 1x1, stride 1, no padding: the NHWC input *is* the GEMM's A matrix [N*H*W, Cin];
/// - otherwise im2col (rows = output pixels, K = kh*kw*Cin/groups, channels innermost, so each tap
///   copies a contiguous channel run) in cache-sized chunks, then sgemm against [K, Cout/groups].
/// Bias and the activation are applied in one pass over the GEMM output.
final class Conv2DKernel: Kernel, @unchecked Sendable {
    let cin: Int, cout: Int, groups: Int
    let window: Window
    let activation: Activation
    let weights: TensorStorage   // packed, see above
    let bias: TensorStorage?     // [Cout]
    let isDepthwise: Bool
    let isPointwise: Bool

    init(spec: OpSpec) throws {
        let w = try spec.tensor("weight")
        guard w.rank == 4 else { throw TensorError.shape("conv2d: weight must be [Cout, Cin/groups, kh, kw], got \(w.shape)") }
        groups = try spec.int("groups", default: 1)
        let co = w.shape[0], cinG = w.shape[1], kh = w.shape[2], kw = w.shape[3]
        guard groups > 0, co % groups == 0, co > 0, cinG > 0 else {
            throw TensorError.shape("conv2d: \(co) output channels not divisible into \(groups) groups")
        }
        cout = co; cin = cinG * groups
        window = try Window(spec: spec, kernel: [kh, kw])
        activation = try Activation(name: spec.params["activation"]?.string,
                                    alpha: Float(try spec.double("alpha", default: 0.01)))

        // Fold bias and batch norm into per-output-channel scale and shift.
        var scale = [Float](repeating: 1, count: co), shift = [Float](repeating: 0, count: co)
        var hasShift = false
        if let b = try spec.optionalTensor("bias") {
            guard b.count == co else { throw TensorError.shape("conv2d: bias has \(b.count) values for \(co) channels") }
            for i in 0..<co { shift[i] = b.data[i] }
            hasShift = true
        }
        if let bn = try BatchNormParams(spec: spec, prefix: "bn", channels: co) {
            for i in 0..<co {
                scale[i] = bn.scale[i]
                shift[i] = shift[i] * bn.scale[i] + bn.shift[i]
            }
            hasShift = true
        }

        let coG = co / groups, taps = kh * kw
        isDepthwise = groups == cin && co == cin && cinG == 1
        isPointwise = kh == 1 && kw == 1 && groups == 1 && window.sh == 1 && window.sw == 1
            && window.padding.resolve(h: 1, w: 1, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1) == (0, 0, 0, 0)
        weights = TensorStorage(count: co * cinG * taps)
        let src = w.data, dst = weights.base
        if isDepthwise {
            for c in 0..<co { for t in 0..<taps { dst[t * co + c] = src[c * taps + t] * scale[c] } }
        } else {
            let k = taps * cinG
            for g in 0..<groups {
                for o in 0..<coG {
                    let oc = g * coG + o
                    for ci in 0..<cinG {
                        for t in 0..<taps {
                            dst[g * k * coG + (t * cinG + ci) * coG + o] = src[(oc * cinG + ci) * taps + t] * scale[oc]
                        }
                    }
                }
            }
        }
        if hasShift {
            let b = TensorStorage(count: co)
            for i in 0..<co { b.base[i] = shift[i] }
            bias = b
        } else {
            bias = nil
        }
    }

    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor {
        let x = try single(inputs)
        let (n, h, w, c) = try x.nhwc()
        guard c == cin else { throw TensorError.shape("conv2d: input has \(c) channels, weights expect \(cin)") }
        let (oh, ow, pt, pl) = try window.geometry(h: h, w: w)
        let y = arena.tensor([n, oh, ow, cout], layout: .nhwc)
        if isDepthwise {
            depthwiseConv(x: x.data, n: n, h: h, w: w, c: c, y: y.data, oh: oh, ow: ow, pt: pt, pl: pl,
                          window: window, weights: weights.base, bias: bias?.base, activation: activation)
            return y
        }
        if isPointwise {
            BLAS.gemm(m: n * h * w, n: cout, k: cin, a: x.data, lda: cin, b: weights.base, ldb: cout,
                      c: y.data, ldc: cout)
            biasActivate(y.data, rows: n * h * w, channels: cout, bias: bias?.base, activation)
            return y
        }
        let cinG = cin / groups, coG = cout / groups
        let k = window.kh * window.kw * cinG
        let pixels = n * oh * ow
        // Chunk of output pixels whose im2col rows fit in ~512 KB (L2), so the GEMM reads them hot.
        let chunk = min(pixels, max(64, (512 << 10) / (k * 4)))
        let col = arena.floats(chunk * k)
        for g in 0..<groups {
            var p0 = 0
            while p0 < pixels {
                let rows = min(chunk, pixels - p0)
                im2col(x: x.data, h: h, w: w, c: c, c0: g * cinG, cg: cinG, oh: oh, ow: ow, pt: pt, pl: pl,
                       first: p0, rows: rows, col: col)
                BLAS.gemm(m: rows, n: coG, k: k, a: col, lda: k, b: weights.base + g * k * coG, ldb: coG,
                          c: y.data + p0 * cout + g * coG, ldc: cout)
                p0 += rows
            }
        }
        biasActivate(y.data, rows: pixels, channels: cout, bias: bias?.base, activation)
        return y
    }

    /// Rows [first, first + rows) of the im2col matrix of channel slice [c0, c0 + cg).
    @inline(__always)
    private func im2col(x: UnsafeMutablePointer<Float>, h: Int, w: Int, c: Int, c0: Int, cg: Int,
                        oh: Int, ow: Int, pt: Int, pl: Int, first: Int, rows: Int,
                        col: UnsafeMutablePointer<Float>) {
        let kh = window.kh, kw = window.kw, sh = window.sh, sw = window.sw, dh = window.dh, dw = window.dw
        let k = kh * kw * cg
        for r in 0..<rows {
            let p = first + r
            let b = p / (oh * ow), rem = p % (oh * ow)
            let oy = rem / ow, ox = rem % ow
            var dst = col + r * k
            let img = x + b * h * w * c + c0
            for ky in 0..<kh {
                let iy = oy * sh - pt + ky * dh
                if iy < 0 || iy >= h {
                    dst.update(repeating: 0, count: kw * cg); dst += kw * cg
                    continue
                }
                let rowPtr = img + iy * w * c
                for kx in 0..<kw {
                    let ix = ox * sw - pl + kx * dw
                    if ix < 0 || ix >= w { dst.update(repeating: 0, count: cg) }
                    else if cg == 1 { dst[0] = rowPtr[ix * c] }
                    else { dst.update(from: rowPtr + ix * c, count: cg) }
                    dst += cg
                }
            }
        }
    }
}

/// A batch norm's per-channel scale and shift (gamma / sqrt(var + eps), beta - mean * scale), from
/// tensors "<prefix>.weight", ".bias", ".mean", ".var" (manifest: a "bn" object naming them).
struct BatchNormParams {
    let scale: [Float], shift: [Float]

    init?(spec: OpSpec, prefix: String, channels: Int) throws {
        let named = spec.params[prefix]?.object
        func t(_ role: String) throws -> Tensor? {
            if let named {
                guard let name = named[role]?.string else { return nil }
                guard let t = try spec.lookup(name) else { throw TensorError.missing("op \(spec.op): \(prefix).\(role) tensor \(name)") }
                return t
            }
            return try spec.lookup("\(prefix).\(role)")
        }
        guard let mean = try t("mean"), let variance = try t("var") else {
            if named != nil { throw TensorError.missing("op \(spec.op): \(prefix) needs mean and var") }
            return nil
        }
        let gamma = try t("weight"), beta = try t("bias")
        let eps = try Float(named?["eps"]?.double ?? spec.double("\(prefix)_eps", default: 1e-5))
        for (name, v) in [("mean", mean), ("var", variance), ("weight", gamma), ("bias", beta)] {
            if let v, v.count != channels { throw TensorError.shape("op \(spec.op): \(prefix).\(name) has \(v.count) values for \(channels) channels") }
        }
        var scale = [Float](repeating: 1, count: channels), shift = [Float](repeating: 0, count: channels)
        for i in 0..<channels {
            let s = (gamma?.data[i] ?? 1) / (variance.data[i] + eps).squareRoot()
            scale[i] = s
            shift[i] = (beta?.data[i] ?? 0) - mean.data[i] * s
        }
        self.scale = scale; self.shift = shift
    }
}
