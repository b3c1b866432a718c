#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The Mamba block of mamba_ssm (`Mamba` module, Gu & Dao 2023) at inference:
///   x, z = split(in_proj(h)); x = SiLU(causal depthwise conv1d(x)); dt, B, C = split(x_proj(x));
///   delta = softplus(dt_proj(dt)) (dt_proj.bias inside the softplus); per channel and state n:
///   s_t = exp(delta_t A) s_{t-1} + delta_t B_t u_t, y_t = s_t . C_t + D u_t, with A = -exp(A_log);
///   out = out_proj(y * SiLU(z)).
/// Tensors (mamba_ssm names): in_proj.weight [2*Di, D], conv1d.weight [Di, 1, d_conv],
/// conv1d.bias [Di], x_proj.weight [R + 2N, Di], dt_proj.weight [Di, R], dt_proj.bias [Di],
/// A_log [Di, N], D [Di], out_proj.weight [D, Di]; in_proj.bias / out_proj.bias if present.
/// Params: d_state (N), d_conv, expand (Di = expand*D), dt_rank (R, default ceil(D/16)).
/// Mamba-VA's official configuration: d_state 8, d_conv 4, expand 1. Layout x [B, L, D] -> [B, L, D].
///
/// Speed: the four projections are GEMMs over all B*L rows; the conv and the scan run 8 channels
/// per SIMD register, the scan over time for one channel block at a time so its N state vectors
/// stay in L1.
public final class MambaKernel: Kernel {
    public let dModel: Int, dInner: Int, dState: Int, dConv: Int, dtRank: Int
    let inProj: Tensor, inBias: Tensor?  // [2Di, D], [2Di]
    let convWeight: Tensor, convBias: Tensor  // [d_conv, Di] (tap-major, for channel-vector loads), [Di]
    let xProj: Tensor  // [R + 2N, Di]
    let dtProj: Tensor, dtBias: Tensor  // [Di, R], [Di]
    let negA: Tensor  // [N, Di] = -exp(A_log)^T
    let skip: Tensor  // D [Di]
    let outProj: Tensor, outBias: Tensor?  // [D, Di], [D]

    public init(_ spec: OpSpec) throws {
        let w = try spec.tensor("in_proj.weight")
        guard w.rank == 2, w.dim(0) % 2 == 0, w.dim(0) > 0, w.dim(1) > 0 else {
            throw TensorError.shape("mamba: in_proj.weight has shape \(w.shape), expected [2*d_inner, d_model]")
        }
        dModel = w.dim(1)
        dState = try spec.boundedInt("d_state", default: 16, limit: 1 << 10)
        dConv = try spec.boundedInt("d_conv", default: 4, limit: 1 << 10)
        let expand = try spec.boundedInt("expand", default: 2, limit: 64)
        dInner = expand * dModel
        dtRank = try spec.boundedInt("dt_rank", default: (dModel + 15) / 16)
        let Di = dInner, N = dState, R = dtRank
        try expectShape(w, [2 * Di, dModel], "mamba in_proj.weight (expand \(expand))")
        inProj = w
        inBias = try spec.optionalTensor("in_proj.bias")
        if let inBias { try expectShape(inBias, [2 * Di], "mamba in_proj.bias") }

        let cw = try spec.tensor("conv1d.weight")
        try expectShape(cw, [Di, 1, dConv], "mamba conv1d.weight")
        convWeight = Tensor(zeros: [dConv, Di])
        for c in 0..<Di { for k in 0..<dConv { convWeight.data[k * Di + c] = cw.data[c * dConv + k] } }
        convBias = try spec.optionalTensor("conv1d.bias") ?? Tensor(zeros: [Di])
        try expectShape(convBias, [Di], "mamba conv1d.bias")

        xProj = try spec.tensor("x_proj.weight")
        try expectShape(xProj, [R + 2 * N, Di], "mamba x_proj.weight (dt_rank \(R), d_state \(N))")
        dtProj = try spec.tensor("dt_proj.weight")
        try expectShape(dtProj, [Di, R], "mamba dt_proj.weight")
        dtBias = try spec.tensor("dt_proj.bias")
        try expectShape(dtBias, [Di], "mamba dt_proj.bias")

        let aLog = try spec.tensor("A_log")
        try expectShape(aLog, [Di, N], "mamba A_log")
        negA = Tensor(zeros: [N, Di])
        for c in 0..<Di { for n in 0..<N { negA.data[n * Di + c] = -Float(exp(Double(aLog.data[c * N + n]))) } }
        skip = try spec.tensor("D")
        try expectShape(skip, [Di], "mamba D")
        outProj = try spec.tensor("out_proj.weight")
        try expectShape(outProj, [dModel, Di], "mamba out_proj.weight")
        outBias = try spec.optionalTensor("out_proj.bias")
        if let outBias { try expectShape(outBias, [dModel], "mamba out_proj.bias") }
    }

    public func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor {
        guard inputs.count == 1 else { throw TensorError.invalid("mamba: expected one input, got \(inputs.count)") }
        let x = inputs[0]
        guard x.rank == 3, x.dim(2) == dModel, x.dim(0) > 0, x.dim(1) > 0 else {
            throw TensorError.shape("mamba: x has shape \(x.shape), expected [B>0, L>0, \(dModel)]")
        }
        let B = x.dim(0), L = x.dim(1), rows = B * L, Di = dInner, N = dState, R = dtRank, W = R + 2 * N
        let xz = arena.floats(rows * 2 * Di)
        if let inBias { for r in 0..<rows { (xz + r * 2 * Di).update(from: inBias.data, count: 2 * Di) } }
        BLAS.gemm(
            m: rows, n: 2 * Di, k: dModel, a: x.data, lda: dModel, b: inProj.data, ldb: dModel,
            transB: true, c: xz, ldc: 2 * Di, accumulate: inBias != nil)

        let u = arena.floats(rows * Di)
        Engine.parallelRanges(rows, minimumPerPart: 32) { range in
            for r in range { causalDepthwiseSiLU(xz: xz, u: u, row: r, L: L) }
        }

        let dbl = arena.floats(rows * W)
        BLAS.gemm(m: rows, n: W, k: Di, a: u, lda: Di, b: xProj.data, ldb: Di, transB: true, c: dbl, ldc: W)
        let dt = arena.floats(rows * Di)
        BLAS.gemm(m: rows, n: Di, k: R, a: dbl, lda: W, b: dtProj.data, ldb: R, transB: true, c: dt, ldc: Di)

        // The scan is sequential in time only: (sequence, 8-channel block) pairs are independent.
        let y = arena.floats(rows * Di)
        let blocks = (Di + 7) / 8
        Engine.parallelRanges(B * blocks, minimumPerPart: 4) { range in
            for item in range {
                let o = (item / blocks) * L, c = (item % blocks) * 8
                scan(
                    channel: c, lanes: min(8, Di - c), L: L, u: u + o * Di, dt: dt + o * Di,
                    z: xz + o * 2 * Di + Di, bc: dbl + o * W + R, y: y + o * Di)
            }
        }

        let out = arena.tensor([B, L, dModel])
        if let outBias { for r in 0..<rows { (out.data + r * dModel).update(from: outBias.data, count: dModel) } }
        BLAS.gemm(
            m: rows, n: dModel, k: Di, a: y, lda: Di, b: outProj.data, ldb: Di,
            transB: true, c: out.data, ldc: dModel, accumulate: outBias != nil)
        return out
    }

    /// u[t, c] = SiLU(bias[c] + sum_k w[k, c] x[t - (d_conv-1-k), c]) for one row (b, t) of B*L;
    /// x is the first half of in_proj's output rows (stride 2*Di), taps before t = 0 are zero.
    func causalDepthwiseSiLU(xz: UnsafePointer<Float>, u: UnsafeMutablePointer<Float>, row: Int, L: Int) {
        let Di = dInner, K = dConv, w = UnsafePointer(convWeight.data), t = row % L
        var c = 0
        while c < Di {
            let n = min(8, Di - c)
            var acc = load8(convBias.data + c, n)
            for k in max(0, K - 1 - t)..<K {
                acc += load8(w + k * Di + c, n) * load8(xz + (row - (K - 1 - k)) * 2 * Di + c, n)
            }
            store8(silu8(acc), u + row * Di + c, n)
            c += 8
        }
    }

    /// The selective scan of channels c..<c+lanes over all L steps of one sequence, fused with the
    /// softplus on delta, the D skip and the SiLU(z) gate. `bc` points at B_t (then C_t) in row t of
    /// x_proj's output. The N state vectors and A columns live on the stack (L1) for all L steps.
    @inline(__always)
    func scan(
        channel c: Int, lanes: Int, L: Int, u: UnsafePointer<Float>, dt: UnsafePointer<Float>,
        z: UnsafePointer<Float>, bc: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>
    ) {
        let N = dState
        withUnsafeTemporaryAllocation(of: Float8.self, capacity: 2 * N) { buf in
            scan(
                channel: c, lanes: lanes, L: L, u: u, dt: dt, z: z, bc: bc, y: y, s: buf.baseAddress!,
                a: buf.baseAddress! + N)
        }
    }

    @inline(__always)
    func scan(
        channel c: Int, lanes: Int, L: Int, u: UnsafePointer<Float>, dt: UnsafePointer<Float>,
        z: UnsafePointer<Float>, bc: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
        s: UnsafeMutablePointer<Float8>, a: UnsafeMutablePointer<Float8>
    ) {
        let Di = dInner, N = dState, W = dtRank + 2 * N
        for n in 0..<N {
            s[n] = Float8()
            a[n] = load8(self.negA.data + n * Di + c, lanes)
        }
        let bias = load8(dtBias.data + c, lanes), d = load8(skip.data + c, lanes)
        for t in 0..<L {
            let delta = softplus8(load8(dt + t * Di + c, lanes) + bias)
            let ut = load8(u + t * Di + c, lanes)
            let du = delta * ut
            let bt = bc + t * W, ct = bt + N
            var acc = Float8()
            for n in 0..<N {
                let sn = (du * bt[n]).addingProduct(exp8(delta * a[n]), s[n])
                s[n] = sn
                acc = acc.addingProduct(sn, ct[n])
            }
            store8((acc + d * ut) * silu8(load8(z + t * 2 * Di + c, lanes)), y + t * Di + c, lanes)
        }
    }
}
