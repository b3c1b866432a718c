/// y = x W^T + b over the last axis (weight [out, in], PyTorch's layout). All leading axes form
/// one batch. Small batches (<= 32 rows: per-frame heads, batch-8 embeddings) run a register-
/// blocked SIMD kernel on weights repacked at load into 8-column panels [out/8][in][8], so the
/// weights stream once, contiguously, per 8 rows; larger batches are one OpenBLAS sgemm.
final class LinearKernel: Kernel, @unchecked Sendable {
    let weight: Tensor
    let bias: Tensor?
    let activation: Activation
    let inFeatures: Int, outFeatures: Int
    let panels: TensorStorage
    static let smallBatch = 32

    init(spec: OpSpec) throws {
        weight = try spec.tensor("weight")
        guard weight.rank == 2 else { throw TensorError.shape("linear: weight must be [out, in], got \(weight.shape)") }
        outFeatures = weight.shape[0]; inFeatures = weight.shape[1]
        guard outFeatures > 0, inFeatures > 0 else { throw TensorError.shape("linear: empty weight \(weight.shape)") }
        bias = try spec.optionalTensor("bias")
        if let bias, bias.count != outFeatures { throw TensorError.shape("linear: bias has \(bias.count) values for \(outFeatures) outputs") }
        activation = try Activation(name: spec.params["activation"]?.string, alpha: Float(try spec.double("alpha", default: 0.01)))
        let panelCount = (outFeatures + 7) / 8
        panels = TensorStorage(count: panelCount * inFeatures * 8)  // zero-filled: padding columns stay 0
        for o in 0..<outFeatures {
            let p = o / 8, j = o % 8
            for k in 0..<inFeatures { panels.base[(p * inFeatures + k) * 8 + j] = weight.data[o * inFeatures + k] }
        }
    }

    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor {
        let x = try single(inputs)
        guard x.rank >= 1, x.dim(-1) == inFeatures else { throw TensorError.shape("linear: input \(x.shape), weight expects \(inFeatures) features") }
        var dims = x.shape.dims
        dims[dims.count - 1] = outFeatures
        let m = x.count / inFeatures
        let y = arena.tensor(dims, layout: .rowMajor)
        if m <= LinearKernel.smallBatch {
            smallBatch(x.data, m: m, y.data)
        } else {
            BLAS.gemm(m: m, n: outFeatures, k: inFeatures, a: x.data, lda: inFeatures,
                      b: weight.data, ldb: inFeatures, transB: true, c: y.data, ldc: outFeatures)
        }
        biasActivate(y.data, rows: m, channels: outFeatures, bias: bias.map { UnsafePointer($0.data) }, activation)
        return y
    }

    /// 8 rows x 8 columns per step: eight FMA chains, each k a broadcast of x times one panel row.
    private func smallBatch(_ x: UnsafeMutablePointer<Float>, m: Int, _ y: UnsafeMutablePointer<Float>) {
        let k = inFeatures, n = outFeatures
        let panelCount = (n + 7) / 8
        let pr = UnsafeRawPointer(panels.base)
        Engine.parallelRanges(panelCount, minimumPerPart: 8) { range in
            var m0 = 0
            while m0 < m {
                // Rows past the end repeat the last row; their results are not stored.
                let r0 = x + m0 * k, r1 = x + min(m0 + 1, m - 1) * k, r2 = x + min(m0 + 2, m - 1) * k
                let r3 = x + min(m0 + 3, m - 1) * k, r4 = x + min(m0 + 4, m - 1) * k, r5 = x + min(m0 + 5, m - 1) * k
                let r6 = x + min(m0 + 6, m - 1) * k, r7 = x + min(m0 + 7, m - 1) * k
                for p in range {
                    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
                    var a4 = SIMD8<Float>(), a5 = SIMD8<Float>(), a6 = SIMD8<Float>(), a7 = SIMD8<Float>()
                    var wp = pr + p * k * 32
                    for i in 0..<k {
                        let w = wp.loadUnaligned(as: SIMD8<Float>.self)
                        a0 = a0.addingProduct(SIMD8(repeating: r0[i]), w)
                        a1 = a1.addingProduct(SIMD8(repeating: r1[i]), w)
                        a2 = a2.addingProduct(SIMD8(repeating: r2[i]), w)
                        a3 = a3.addingProduct(SIMD8(repeating: r3[i]), w)
                        a4 = a4.addingProduct(SIMD8(repeating: r4[i]), w)
                        a5 = a5.addingProduct(SIMD8(repeating: r5[i]), w)
                        a6 = a6.addingProduct(SIMD8(repeating: r6[i]), w)
                        a7 = a7.addingProduct(SIMD8(repeating: r7[i]), w)
                        wp += 32
                    }
                    let cols = min(8, n - p * 8)
                    let rows = min(8, m - m0)
                    @inline(__always) func store(_ r: Int, _ v: SIMD8<Float>) {
                        guard r < rows else { return }
                        let dst = y + (m0 + r) * n + p * 8
                        if cols == 8 { UnsafeMutableRawPointer(dst).storeBytes(of: v, as: SIMD8<Float>.self) }
                        else { for j in 0..<cols { dst[j] = v[j] } }
                    }
                    store(0, a0); store(1, a1); store(2, a2); store(3, a3)
                    store(4, a4); store(5, a5); store(6, a6); store(7, a7)
                }
                m0 += 8
            }
        }
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
