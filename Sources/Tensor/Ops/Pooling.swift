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
        let (_, _, pb, pr) = window.padding.resolve(h: h, w: w, kh: window.kh, kw: window.kw,
                                                    sh: window.sh, sw: window.sw, dh: window.dh, dw: window.dw)
        let y = arena.tensor([n, oh, ow, c], layout: .nhwc)
        let acc = arena.floats(c)
        for b in 0..<n {
            for oy in 0..<oh {
                let y0 = oy * window.sh - pt
                for ox in 0..<ow {
                    let x0 = ox * window.sw - pl
                    let out = y.data + ((b * oh + oy) * ow + ox) * c
                    acc.update(repeating: mode == .max ? -.infinity : 0, count: c)
                    var valid = 0
                    for ky in 0..<window.kh {
                        let iy = y0 + ky * window.dh
                        if iy < 0 || iy >= h { continue }
                        for kx in 0..<window.kw {
                            let ix = x0 + kx * window.dw
                            if ix < 0 || ix >= w { continue }
                            valid += 1
                            let src = x.data + ((b * h + iy) * w + ix) * c
                            if mode == .max { for j in 0..<c { acc[j] = max(acc[j], src[j]) } }
                            else { for j in 0..<c { acc[j] += src[j] } }
                        }
                    }
                    if mode == .max {
                        out.update(from: acc, count: c)
                    } else {
                        var divisor = valid
                        if countIncludePad {
                            let hEnd = min(y0 + window.kh, h + pb), wEnd = min(x0 + window.kw, w + pr)
                            divisor = (hEnd - y0) * (wEnd - x0)
                        }
                        let inv = 1 / Float(max(divisor, 1))
                        for j in 0..<c { out[j] = acc[j] * inv }
                    }
                }
            }
        }
        return y
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
