/// y = x W^T + b over the last axis (weight [out, in], PyTorch's layout). All leading axes form
/// one batch. Small batches (<= 32 rows: per-frame heads, batch-8 embeddings) run register-blocked
/// SIMD kernels on weights repacked at load into column panels [in][24] (then [in][8] for the last
/// < 24 columns), so the weights stream once, contiguously, per call; larger batches are one
/// OpenBLAS sgemm.
final class LinearKernel: Kernel, @unchecked Sendable {
    let weight: Tensor
    let bias: Tensor?
    let activation: Activation
    let inFeatures: Int, outFeatures: Int
    /// Full 24-column panels, then ceil(rest / 8) 8-column panels (zero-padded).
    let widePanels: Int, narrowPanels: Int
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
        let k = inFeatures
        widePanels = outFeatures / 24
        narrowPanels = (outFeatures - widePanels * 24 + 7) / 8
        panels = TensorStorage(count: (widePanels * 24 + narrowPanels * 8) * k)  // zero-filled: padding columns stay 0
        for o in 0..<outFeatures {
            let dst: Int
            if o < widePanels * 24 {
                dst = (o / 24 * k) * 24 + o % 24
            } else {
                let c = o - widePanels * 24; dst = widePanels * 24 * k + (c / 8 * k) * 8 + c % 8
            }
            let step = o < widePanels * 24 ? 24 : 8
            for i in 0..<k { panels.base[dst + i * step] = weight.data[o * k + i] }
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
            BLAS.gemm(
                m: m, n: outFeatures, k: inFeatures, a: x.data, lda: inFeatures,
                b: weight.data, ldb: inFeatures, transB: true, c: y.data, ldc: outFeatures)
        }
        biasActivate(y.data, rows: m, channels: outFeatures, bias: bias.map { UnsafePointer($0.data) }, activation)
        return y
    }

    /// The first panels (up to 256 KB, a quarter of L2), which small batches read first: the rest
    /// streams in behind them.
    var leadingWeights: Prefetch {
        Prefetch(UnsafeRawPointer(panels.base), count: min(256 << 10, panels.capacity * 4))
    }

    /// Per panel, all row groups in turn, so a panel is read from memory once and then from cache.
    /// Units split across threads: wide panels, then narrow ones.
    private func smallBatch(_ x: UnsafeMutablePointer<Float>, m: Int, _ y: UnsafeMutablePointer<Float>) {
        let k = inFeatures, wide = widePanels
        let pr = UnsafeRawPointer(panels.base)
        Engine.parallelRanges(wide + narrowPanels, minimumPerPart: 3) { range in
            for u in range {
                if u < wide {
                    var m0 = 0
                    while m0 < m { rows4x24(x, m0: m0, m: m, pr + u * k * 96, y + u * 24); m0 += 4 }
                } else {
                    let c0 = wide * 24 + (u - wide) * 8
                    var m0 = 0
                    while m0 < m { rows8x8(x, m0: m0, m: m, pr + (wide * 24 * k + (u - wide) * 8 * k) * 4, y + c0, cols: min(8, outFeatures - c0)); m0 += 8 }
                }
            }
        }
    }

    /// Rows m0..<m0+4 x one 24-column panel: twelve accumulators, three weight vectors and one
    /// broadcast = the 16 ymm registers; per k, 3 loads and 4 broadcasts feed 12 FMAs.
    @inline(__always)
    private func rows4x24(_ x: UnsafeMutablePointer<Float>, m0: Int, m: Int, _ panel: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let k = inFeatures, n = outFeatures
        // Rows past the end repeat the last row; their results are not stored.
        let r0 = x + m0 * k, r1 = x + min(m0 + 1, m - 1) * k, r2 = x + min(m0 + 2, m - 1) * k, r3 = x + min(m0 + 3, m - 1) * k
        var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a02 = SIMD8<Float>()
        var a10 = SIMD8<Float>(), a11 = SIMD8<Float>(), a12 = SIMD8<Float>()
        var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a22 = SIMD8<Float>()
        var a30 = SIMD8<Float>(), a31 = SIMD8<Float>(), a32 = SIMD8<Float>()
        var wp = panel
        for i in 0..<k {
            let w0 = wp.loadUnaligned(as: SIMD8<Float>.self)
            let w1 = wp.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
            let w2 = wp.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self)
            var b = SIMD8(repeating: r0[i])
            a00 = a00.addingProduct(b, w0); a01 = a01.addingProduct(b, w1); a02 = a02.addingProduct(b, w2)
            b = SIMD8(repeating: r1[i])
            a10 = a10.addingProduct(b, w0); a11 = a11.addingProduct(b, w1); a12 = a12.addingProduct(b, w2)
            b = SIMD8(repeating: r2[i])
            a20 = a20.addingProduct(b, w0); a21 = a21.addingProduct(b, w1); a22 = a22.addingProduct(b, w2)
            b = SIMD8(repeating: r3[i])
            a30 = a30.addingProduct(b, w0); a31 = a31.addingProduct(b, w1); a32 = a32.addingProduct(b, w2)
            wp += 96
        }
        let rows = min(4, m - m0)
        @inline(__always) func store(_ r: Int, _ v0: SIMD8<Float>, _ v1: SIMD8<Float>, _ v2: SIMD8<Float>) {
            guard r < rows else { return }
            let dst = UnsafeMutableRawPointer(y + (m0 + r) * n)
            dst.storeBytes(of: v0, as: SIMD8<Float>.self)
            dst.storeBytes(of: v1, toByteOffset: 32, as: SIMD8<Float>.self)
            dst.storeBytes(of: v2, toByteOffset: 64, as: SIMD8<Float>.self)
        }
        store(0, a00, a01, a02); store(1, a10, a11, a12); store(2, a20, a21, a22); store(3, a30, a31, a32)
    }

    /// Rows m0..<m0+8 x one 8-column panel (the last < 24 columns): eight FMA chains.
    @inline(__always)
    private func rows8x8(_ x: UnsafeMutablePointer<Float>, m0: Int, m: Int, _ panel: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, cols: Int) {
        let k = inFeatures, n = outFeatures
        let r0 = x + m0 * k, r1 = x + min(m0 + 1, m - 1) * k, r2 = x + min(m0 + 2, m - 1) * k
        let r3 = x + min(m0 + 3, m - 1) * k, r4 = x + min(m0 + 4, m - 1) * k, r5 = x + min(m0 + 5, m - 1) * k
        let r6 = x + min(m0 + 6, m - 1) * k, r7 = x + min(m0 + 7, m - 1) * k
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var a4 = SIMD8<Float>(), a5 = SIMD8<Float>(), a6 = SIMD8<Float>(), a7 = SIMD8<Float>()
        var wp = panel
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
        let rows = min(8, m - m0)
        @inline(__always) func store(_ r: Int, _ v: SIMD8<Float>) {
            guard r < rows else { return }
            let dst = y + (m0 + r) * n
            if cols == 8 { UnsafeMutableRawPointer(dst).storeBytes(of: v, as: SIMD8<Float>.self) } else { for j in 0..<cols { dst[j] = v[j] } }
        }
        store(0, a0); store(1, a1); store(2, a2); store(3, a3)
        store(4, a4); store(5, a5); store(6, a6); store(7, a7)
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
