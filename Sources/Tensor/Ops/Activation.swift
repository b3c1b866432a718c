#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A point-wise activation. Convs and linears apply one in their output pass (fused), or it runs
/// as a block of its own. Definitions follow PyTorch (softplus: beta 1, threshold 20; gelu: the
/// exact x Φ(x) form, PyTorch's default, not the tanh approximation).
public enum Activation: Sendable, Equatable {
    case identity, relu, relu6, leakyRelu(Float), sigmoid, tanh, silu, softplus, gelu

    /// Parses the manifest/vector name ("relu", "relu6", "leaky_relu", ...); nil or "none" is identity.
    public init(name: String?, alpha: Float = 0.01) throws {
        switch name ?? "none" {
        case "none", "identity", "linear": self = .identity
        case "relu": self = .relu
        case "relu6": self = .relu6
        case "leaky_relu": self = .leakyRelu(alpha)
        case "sigmoid": self = .sigmoid
        case "tanh": self = .tanh
        case "silu", "swish": self = .silu
        case "softplus": self = .softplus
        case "gelu": self = .gelu
        case let other: throw TensorError.invalid("unknown activation \(other)")
        }
    }

    /// Applies in place to `count` floats.
    @inline(__always)
    func apply(_ p: UnsafeMutablePointer<Float>, _ count: Int) {
        switch self {
        case .identity: return
        case .relu: clamp(p, count, lo: 0, hi: .infinity)
        case .relu6: clamp(p, count, lo: 0, hi: 6)
        case .leakyRelu(let a): for i in 0..<count { let v = p[i]; p[i] = v < 0 ? v * a : v }
        case .sigmoid: for i in 0..<count { p[i] = Activation.sigmoid(p[i]) }
        case .tanh: for i in 0..<count { p[i] = tanhf(p[i]) }
        case .silu: for i in 0..<count { let v = p[i]; p[i] = v * Activation.sigmoid(v) }
        case .softplus: for i in 0..<count { let v = p[i]; p[i] = v > 20 ? v : log1pf(expf(v)) }
        case .gelu: for i in 0..<count { let v = p[i]; p[i] = 0.5 * v * (1 + erff(v * 0.70710678118654752)) }
        }
    }

    @inline(__always) static func sigmoid(_ v: Float) -> Float {
        v >= 0
            ? 1 / (1 + expf(-v))
            : {
                let e = expf(v); return e / (1 + e)
            }()
    }

    /// A plain scalar loop: LLVM vectorises it (SIMD.clamped would stay a generic call).
    @inline(__always)
    private func clamp(_ p: UnsafeMutablePointer<Float>, _ count: Int, lo: Float, hi: Float) {
        for i in 0..<count { p[i] = min(max(p[i], lo), hi) }
    }
}

/// Adds a per-channel bias (length `channels`, may be nil) to `rows` rows of `channels` floats
/// and applies the activation: the shared output pass of conv and linear.
@inline(__always)
func biasActivate(
    _ y: UnsafeMutablePointer<Float>, rows: Int, channels: Int,
    bias: UnsafePointer<Float>?, _ act: Activation
) {
    if let bias {
        for r in 0..<rows {
            let row = y + r * channels
            for c in 0..<channels { row[c] += bias[c] }
        }
    }
    act.apply(y, rows * channels)
}

/// Unary activation block ("relu", "sigmoid", ...).
final class ActivationKernel: Kernel, @unchecked Sendable {
    let act: Activation
    init(_ act: Activation) { self.act = act }
    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor {
        let x = try single(inputs)
        let y = arena.tensor(x.shape, layout: x.layout)
        y.data.update(from: x.data, count: x.count)
        act.apply(y.data, y.count)
        return y
    }
}

/// PReLU with one slope per channel (last axis) or one shared slope.
final class PReLUKernel: Kernel, @unchecked Sendable {
    let slope: Tensor
    init(slope: Tensor) { self.slope = slope }
    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor {
        let x = try single(inputs)
        let c = x.dim(-1)
        guard slope.count == c || slope.count == 1 else {
            throw TensorError.shape("prelu: \(slope.count) slopes for \(c) channels")
        }
        let y = arena.tensor(x.shape, layout: x.layout)
        if x.count == 0 { return y }
        let s = slope.data
        // Branch-free (a select of the multiplier) so it vectorises: MTCNN's PReLUs see random signs.
        if slope.count == 1 || c == 1 {
            let a = s[0]
            for i in 0..<x.count { let v = x.data[i]; y.data[i] = v * (v < 0 ? a : 1) }
        } else {
            for r in 0..<(x.count / c) {
                let xi = x.data + r * c, yi = y.data + r * c
                for j in 0..<c { let v = xi[j]; yi[j] = v * (v < 0 ? s[j] : 1) }
            }
        }
        return y
    }
}

/// Softmax along one axis (default the last: channels of an NHWC tensor).
final class SoftmaxKernel: Kernel, @unchecked Sendable {
    let axis: Int
    init(axis: Int) { self.axis = axis }
    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor {
        let x = try single(inputs)
        let ax = axis < 0 ? x.rank + axis : axis
        guard ax >= 0, ax < x.rank else { throw TensorError.shape("softmax axis \(axis) for shape \(x.shape)") }
        var outer = 1, inner = 1
        for i in 0..<ax { outer *= x.shape[i] }
        for i in (ax + 1)..<x.rank { inner *= x.shape[i] }
        let n = x.shape[ax]
        let y = arena.tensor(x.shape, layout: x.layout)
        for o in 0..<outer {
            for i in 0..<inner {
                let xs = x.data + o * n * inner + i, ys = y.data + o * n * inner + i
                var m = -Float.infinity
                for k in 0..<n { m = max(m, xs[k * inner]) }
                var sum: Float = 0
                for k in 0..<n { let e = expf(xs[k * inner] - m); ys[k * inner] = e; sum += e }
                let inv = 1 / sum
                for k in 0..<n { ys[k * inner] *= inv }
            }
        }
        return y
    }
}

func single(_ inputs: [Tensor]) throws -> Tensor {
    guard inputs.count == 1 else { throw TensorError.invalid("expected 1 input, got \(inputs.count)") }
    return inputs[0]
}
