/// y = x W^T + b over the last axis (weight [out, in], PyTorch's layout, used in place: the GEMM
/// reads it transposed, so a memory-mapped weight is never copied). All leading axes form one
/// batch, i.e. one sgemm.
final class LinearKernel: Kernel, @unchecked Sendable {
    let weight: Tensor
    let bias: Tensor?
    let activation: Activation
    let inFeatures: Int, outFeatures: Int

    init(spec: OpSpec) throws {
        weight = try spec.tensor("weight")
        guard weight.rank == 2 else { throw TensorError.shape("linear: weight must be [out, in], got \(weight.shape)") }
        outFeatures = weight.shape[0]; inFeatures = weight.shape[1]
        bias = try spec.optionalTensor("bias")
        if let bias, bias.count != outFeatures { throw TensorError.shape("linear: bias has \(bias.count) values for \(outFeatures) outputs") }
        activation = try Activation(name: spec.params["activation"]?.string, alpha: Float(try spec.double("alpha", default: 0.01)))
    }

    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor {
        let x = try single(inputs)
        guard x.rank >= 1, x.dim(-1) == inFeatures else { throw TensorError.shape("linear: input \(x.shape), weight expects \(inFeatures) features") }
        var dims = x.shape.dims
        dims[dims.count - 1] = outFeatures
        let m = x.count / inFeatures
        let y = arena.tensor(dims, layout: .rowMajor)
        BLAS.gemm(m: m, n: outFeatures, k: inFeatures, a: x.data, lda: inFeatures,
                  b: weight.data, ldb: inFeatures, transB: true, c: y.data, ldc: outFeatures)
        biasActivate(y.data, rows: m, channels: outFeatures, bias: bias.map { UnsafePointer($0.data) }, activation)
        return y
    }
}

/// Layer norm (mean and variance over the last axis, then weight/bias) or RMS norm (x / rms * weight).
final class NormKernel: Kernel, @unchecked Sendable {
    let rms: Bool
    let eps: Float
    let weight: Tensor?, bias: Tensor?

    init(spec: OpSpec, rms: Bool) throws {
        self.rms = rms
        eps = Float(try spec.double("eps", default: rms ? 1e-6 : 1e-5))
        weight = try spec.optionalTensor("weight")
        bias = rms ? nil : try spec.optionalTensor("bias")
    }

    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor {
        let x = try single(inputs)
        let d = x.dim(-1)
        if let weight, weight.count != d { throw TensorError.shape("\(rms ? "rms" : "layer")_norm: weight \(weight.count) for \(d) features") }
        if let bias, bias.count != d { throw TensorError.shape("layer_norm: bias \(bias.count) for \(d) features") }
        let y = arena.tensor(x.shape, layout: x.layout)
        let g = weight?.data, bt = bias?.data
        for r in 0..<(x.count / max(d, 1)) {
            let xs = x.data + r * d, ys = y.data + r * d
            var mean: Float = 0
            if !rms { for j in 0..<d { mean += xs[j] }; mean /= Float(d) }
            var sq: Float = 0
            for j in 0..<d { let v = xs[j] - mean; sq += v * v }
            let inv = 1 / (sq / Float(d) + eps).squareRoot()
            for j in 0..<d {
                var v = (xs[j] - mean) * inv
                if let g { v *= g[j] }
                if let bt { v += bt[j] }
                ys[j] = v
            }
        }
        return y
    }
}
