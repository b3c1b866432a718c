#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Ops of audio front ends (silero VAD: a short-time Fourier transform as a conv with a fixed
/// basis), listed in OpRegistry.tables. Parameters: docs/model-package.md.
let signalOps: [String: OpFactory] = [
    "reflect_pad": { try ReflectPadKernel(spec: $0) },
    "magnitude": { _ in MagnitudeKernel() },
    "reshape": { try ReshapeKernel(spec: $0) },
    "log": { try LogKernel(spec: $0) },
]

/// Pads H and W of NHWC by mirroring without repeating the edge (numpy/PyTorch "reflect"):
/// `pad` [top, left, bottom, right], each smaller than the padded axis.
final class ReflectPadKernel: Kernel, @unchecked Sendable {
    let top: Int, left: Int, bottom: Int, right: Int

    init(spec: OpSpec) throws {
        let p = try spec.ints("pad", count: 4)
        guard p.allSatisfy({ $0 >= 0 && $0 <= 1 << 16 }) else { throw TensorError.invalid("reflect_pad: pad must be in 0...65536") }
        (top, left, bottom, right) = (p[0], p[1], p[2], p[3])
    }

    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor {
        let x = try single(inputs)
        let (n, h, w, c) = try x.nhwc()
        guard top < h || top == 0, bottom < h || bottom == 0, left < w || left == 0, right < w || right == 0 else {
            throw TensorError.shape("reflect_pad: pad [\(top), \(left), \(bottom), \(right)] needs more than \(h)x\(w)")
        }
        let oh = h + top + bottom, ow = w + left + right
        let y = arena.tensor([n, oh, ow, c])
        func mirror(_ i: Int, _ size: Int) -> Int { i < 0 ? -i : i >= size ? 2 * (size - 1) - i : i }
        for b in 0..<n {
            for i in 0..<oh {
                let si = mirror(i - top, h)
                for j in 0..<ow {
                    let sj = mirror(j - left, w)
                    (y.data + ((b * oh + i) * ow + j) * c).update(from: x.data + ((b * h + si) * w + sj) * c, count: c)
                }
            }
        }
        return y
    }
}

/// The magnitude of a complex spectrum whose last axis holds the real parts then the imaginary
/// parts: [..., 2K] -> [..., K], sqrt(re^2 + im^2).
final class MagnitudeKernel: Kernel, @unchecked Sendable {
    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor {
        let x = try single(inputs)
        let c = x.dim(-1)
        guard x.rank >= 1, c % 2 == 0, c > 0 else { throw TensorError.shape("magnitude: last axis of \(x.shape) must be even") }
        let k = c / 2, rows = x.count / c
        var dims = x.shape.dims
        dims[dims.count - 1] = k
        let y = arena.tensor(dims)
        for r in 0..<rows {
            let re = x.data + r * c, im = re + k, out = y.data + r * k
            for j in 0..<k { out[j] = (re[j] * re[j] + im[j] * im[j]).squareRoot() }
        }
        return y
    }
}

/// A copy under new dims (row-major order unchanged); one entry may be -1 (inferred), e.g.
/// [1, -1, 128] turns a batch of N feature vectors into one sequence of N steps.
final class ReshapeKernel: Kernel, @unchecked Sendable {
    let dims: [Int]

    init(spec: OpSpec) throws {
        dims = try spec.ints("shape")
        guard !dims.isEmpty, dims.count <= Shape.maxRank, dims.filter({ $0 == -1 }).count <= 1,
            dims.allSatisfy({ $0 == -1 || ($0 >= 1 && $0 <= 1 << 30) })
        else { throw TensorError.invalid("reshape: shape must be 1...\(Shape.maxRank) sizes >= 1, at most one -1") }
    }

    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor {
        let x = try single(inputs)
        let known = dims.filter { $0 != -1 }.reduce(1, *)
        var out = dims
        if let free = dims.firstIndex(of: -1) {
            guard x.count % known == 0 else { throw TensorError.shape("reshape: \(x.shape) does not fit \(dims)") }
            out[free] = x.count / known
        }
        guard out.reduce(1, *) == x.count else { throw TensorError.shape("reshape: \(x.shape) does not fit \(dims)") }
        let y = arena.tensor(out)
        y.data.update(from: x.data, count: x.count)
        return y
    }
}

/// scale * ln(max(x, eps)), element-wise: the log of a (mel) power or magnitude spectrum, floored
/// so silence gives ln(eps) rather than -inf. `eps` > 0 (default 1e-6); `scale` (default 1) turns
/// the natural log into another unit, e.g. 10 / ln 10 for decibels of a power.
final class LogKernel: Kernel, @unchecked Sendable {
    let eps: Float, scale: Float

    init(spec: OpSpec) throws {
        let e = try spec.double("eps", default: 1e-6), s = try spec.double("scale", default: 1)
        guard e > 0, e.isFinite else { throw TensorError.invalid("log: eps must be a positive number") }
        guard s.isFinite, s != 0 else { throw TensorError.invalid("log: scale must be a finite non-zero number") }
        eps = Float(e)
        scale = Float(s)
    }

    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor {
        let x = try single(inputs)
        let y = arena.tensor(x.shape, layout: x.layout)
        for i in 0..<x.count { y.data[i] = scale * logf(max(x.data[i], eps)) }
        return y
    }
}
