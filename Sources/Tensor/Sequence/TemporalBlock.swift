/// The TCN residual block of Bai, Kolter & Koltun (locuslab/TCN `TemporalBlock`), as used by
/// Mamba-VA, at inference: relu(conv2(relu(conv1(x)))) + residual, then relu; both convolutions are
/// dilated and causal (output t sees inputs t, t-d, ..., t-(k-1)d; zeros before the start), dropout
/// is the identity, and the residual goes through the 1x1 `downsample` conv when channels change.
///
/// Tensors: `conv1.weight` [Cout, Cin, k] (or weight norm: `conv1.weight_g` [Cout, 1, 1] +
/// `conv1.weight_v`, or torch.nn.utils.parametrizations' `conv1.parametrizations.weight.original0/1`),
/// `conv1.bias`; `conv2.*` alike with Cout inputs; `downsample.weight` [Cout, Cin, 1] and
/// `downsample.bias` when Cin != Cout. Params: kernel_size, dilation, and optionally im2col_rows
/// (rows per im2col chunk; default: ~4M floats of buffer, at least 512 rows).
/// Layout: x [B, T, Cin] -> [B, T, Cout], time-major like the other sequence blocks (not torch's
/// [B, C, T]), so a TCN feeds a Mamba block or an LSTM without transposes.
public final class TemporalBlockKernel: Kernel {
    /// A causal conv with its weight repacked to [Cout, k*Cin] (tap-major), matching the im2col rows.
    struct CausalConv {
        let weight: Tensor
        let bias: Tensor
        let inChannels: Int
        let outChannels: Int
        let kernel: Int
    }

    public let dilation: Int
    let im2colRows: Int?
    let conv1: CausalConv
    let conv2: CausalConv
    let downsample: CausalConv?

    public init(_ spec: OpSpec) throws {
        let k = try spec.boundedInt("kernel_size", limit: 1 << 10)
        dilation = try spec.boundedInt("dilation", default: 1)
        im2colRows = spec.has("im2col_rows") ? try spec.boundedInt("im2col_rows") : nil
        conv1 = try Self.loadConv(spec, "conv1", kernel: k, inChannels: nil)
        conv2 = try Self.loadConv(spec, "conv2", kernel: k, inChannels: conv1.outChannels)
        guard conv2.outChannels == conv1.outChannels else {
            throw TensorError.shape("tcn_block: conv2 has \(conv2.outChannels) outputs, conv1 \(conv1.outChannels)")
        }
        if conv1.inChannels != conv1.outChannels {
            let d = try Self.loadConv(spec, "downsample", kernel: 1, inChannels: conv1.inChannels)
            guard d.outChannels == conv1.outChannels else { throw TensorError.shape("tcn_block: downsample has \(d.outChannels) outputs") }
            downsample = d
        } else {
            downsample = nil
        }
    }

    /// The effective weight (plain or weight-normalised w = g v/||v||, norm per output channel), repacked.
    static func loadConv(_ spec: OpSpec, _ name: String, kernel k: Int, inChannels: Int?) throws -> CausalConv {
        let w: Tensor
        var scale: Tensor? = nil
        if let plain = try spec.optionalTensor(name + ".weight") {
            w = plain
        } else if let v = try spec.optionalTensor(name + ".weight_v") ?? spec.optionalTensor(name + ".parametrizations.weight.original1") {
            w = v
            scale = try spec.optionalTensor(name + ".weight_g") ?? spec.tensor(name + ".parametrizations.weight.original0")
        } else {
            throw TensorError.missing("tcn_block: \(name).weight (or \(name).weight_g and \(name).weight_v)")
        }
        guard w.rank == 3, w.dim(2) == k, inChannels == nil || w.dim(1) == inChannels! else {
            throw TensorError.shape("tcn_block: \(name) weight has shape \(w.shape), expected [Cout, \(inChannels.map(String.init) ?? "Cin"), \(k)]")
        }
        let O = w.dim(0), C = w.dim(1)
        if let scale { try expectShape(scale, [O, 1, 1], "tcn_block \(name) weight_g") }
        let bias = try spec.tensor(name + ".bias")
        try expectShape(bias, [O], "tcn_block \(name).bias")
        let packed = Tensor(zeros: [O, k * C])
        for o in 0..<O {
            let src = w.data + o * C * k
            var factor: Float = 1
            if let scale {
                var norm: Double = 0
                for i in 0..<C * k { norm += Double(src[i]) * Double(src[i]) }
                guard norm > 0 else { throw TensorError.invalid("tcn_block: \(name).weight_v row \(o) is zero") }
                factor = Float(Double(scale.data[o]) / norm.squareRoot())
            }
            for c in 0..<C {
                for tap in 0..<k { packed.data[o * k * C + tap * C + c] = src[c * k + tap] * factor }
            }
        }
        return CausalConv(weight: packed, bias: bias, inChannels: C, outChannels: O, kernel: k)
    }

    public func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor {
        guard inputs.count == 1 else { throw TensorError.invalid("tcn_block: expected one input, got \(inputs.count)") }
        let x = inputs[0]
        guard x.rank == 3, x.dim(2) == conv1.inChannels, x.dim(0) > 0, x.dim(1) > 0 else {
            throw TensorError.shape("tcn_block: x has shape \(x.shape), expected [B>0, T>0, \(conv1.inChannels)]")
        }
        let B = x.dim(0), T = x.dim(1), O = conv1.outChannels
        let h1 = arena.floats(B * T * O), out = arena.tensor([B, T, O])
        conv1.apply(x.data, h1, B: B, T: T, dilation: dilation, chunkRows: im2colRows, arena: arena)
        Activation.relu.apply(h1, B * T * O)
        conv2.apply(h1, out.data, B: B, T: T, dilation: dilation, chunkRows: im2colRows, arena: arena)
        Activation.relu.apply(out.data, B * T * O)
        var residual = UnsafePointer(x.data)
        if let downsample {
            let r = arena.floats(B * T * O)
            downsample.apply(x.data, r, B: B, T: T, dilation: 1, chunkRows: nil, arena: arena)
            residual = UnsafePointer(r)
        }
        addRelu(out.data, residual, B * T * O)
        return out
    }
}

extension TemporalBlockKernel.CausalConv {
    /// y [B*T, O] = bias + causal dilated conv of x [B, T, C]: im2col rows [k*C] (tap k reads step
    /// t - (k_max-1-k)*d, zero before 0) are copies of whole input rows, then one GEMM per chunk of
    /// rows. Chunks hold ~4M floats but at least 512 rows (unless `chunkRows` says otherwise), so a
    /// long clip needs no T*k*C buffer and the GEMMs stay tall enough to be efficient and threaded.
    func apply(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, B: Int, T: Int, dilation: Int,
        chunkRows: Int?, arena: Arena
    ) {
        let C = inChannels, O = outChannels, K = kernel, rows = B * T
        for r in 0..<rows { (y + r * O).update(from: bias.data, count: O) }
        if K == 1 {
            BLAS.gemm(m: rows, n: O, k: C, a: x, lda: C, b: weight.data, ldb: C, transB: true, c: y, ldc: O, accumulate: true)
            return
        }
        let chunk = min(rows, chunkRows ?? max(512, (1 << 22) / (K * C)))
        let cols = arena.floats(chunk * K * C)
        var first = 0
        while first < rows {
            let count = min(chunk, rows - first)
            for i in 0..<count {
                let r = first + i, t = r % T
                let row = cols + i * K * C
                for tap in 0..<K {
                    let s = t - (K - 1 - tap) * dilation
                    if s >= 0 {
                        (row + tap * C).update(from: x + (r - t + s) * C, count: C)
                    } else {
                        (row + tap * C).initialize(repeating: 0, count: C)
                    }
                }
            }
            BLAS.gemm(
                m: count, n: O, k: K * C, a: cols, lda: K * C, b: weight.data, ldb: K * C, transB: true,
                c: y + first * O, ldc: O, accumulate: true)
            first += count
        }
    }
}

private func addRelu(_ p: UnsafeMutablePointer<Float>, _ q: UnsafePointer<Float>, _ n: Int) {
    for i in 0..<n { p[i] = max(p[i] + q[i], 0) }
}
