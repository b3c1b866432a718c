import COpenBLAS

/// torch.nn.LSTM with batch_first=True, any number of layers, uni- or bidirectional, at inference.
/// Weights keep PyTorch's names and gate order (i, f, g, o): `weight_ih_l{k}[_reverse]` [4H, in],
/// `weight_hh_l{k}[_reverse]` [4H, H], `bias_ih_l{k}[_reverse]`, `bias_hh_l{k}[_reverse]` [4H].
/// Inputs: x [B, T, I], optionally h0 and c0 [layers*dirs, B, H]. Output: y [B, T, dirs*H]
/// (`forward` also returns h_n, c_n, to carry state across chunks of a stream).
///
/// Speed: the input projection of all time steps is one GEMM per direction; only h @ W_hh^T stays
/// inside the recurrence (a GEMV for batch 1), and the cell update is one SIMD pass over the gates.
public final class LSTMKernel: Kernel {
    struct Cell {
        let wIh: Tensor  // [4H, width]
        let wHhT: Tensor  // [H, 4H]: W_hh transposed at load (see the recurrence)
        let bias: Tensor  // [4H] = bias_ih + bias_hh
    }

    public let inputSize: Int
    public let hidden: Int
    public let layers: Int
    public let directions: Int
    let cells: [Cell]  // [layer * directions + direction]

    public init(_ spec: OpSpec) throws {
        hidden = try spec.boundedInt("hidden_size")
        layers = try spec.boundedInt("num_layers", default: 1, limit: 64)
        directions = try spec.bool("bidirectional", default: false) ? 2 : 1
        let H = hidden
        let first = try spec.tensor("weight_ih_l0")
        guard first.rank == 2 else { throw TensorError.shape("lstm: weight_ih_l0 has shape \(first.shape), expected [4H, input]") }
        inputSize = first.dim(1)
        var cells: [Cell] = []
        for layer in 0..<layers {
            let width = layer == 0 ? inputSize : H * directions
            for d in 0..<directions {
                let sfx = "_l\(layer)" + (d == 1 ? "_reverse" : "")
                let wIh = try spec.tensor("weight_ih" + sfx), wHh = try spec.tensor("weight_hh" + sfx)
                let bIh = try spec.tensor("bias_ih" + sfx), bHh = try spec.tensor("bias_hh" + sfx)
                try expectShape(wIh, [4 * H, width], "lstm weight_ih" + sfx)
                try expectShape(wHh, [4 * H, H], "lstm weight_hh" + sfx)
                try expectShape(bIh, [4 * H], "lstm bias_ih" + sfx)
                try expectShape(bHh, [4 * H], "lstm bias_hh" + sfx)
                let bias = Tensor(zeros: [4 * H])
                for j in 0..<4 * H { bias.data[j] = bIh.data[j] + bHh.data[j] }
                let wHhT = Tensor(zeros: [H, 4 * H])
                for r in 0..<4 * H { for j in 0..<H { wHhT.data[j * 4 * H + r] = wHh.data[r * H + j] } }
                cells.append(Cell(wIh: wIh, wHhT: wHhT, bias: bias))
            }
        }
        self.cells = cells
    }

    public func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor {
        return try runAll(inputs, arena)[0]
    }

    /// [y, h_n, c_n].
    public func runAll(_ inputs: [Tensor], _ arena: Arena) throws -> [Tensor] {
        guard inputs.count == 1 || inputs.count == 3 else {
            throw TensorError.invalid("lstm: expected inputs x or x, h0, c0; got \(inputs.count)")
        }
        let r = try forward(
            inputs[0], h0: inputs.count == 3 ? inputs[1] : nil,
            c0: inputs.count == 3 ? inputs[2] : nil, arena)
        return [r.y, r.h, r.c]
    }

    /// y [B, T, dirs*H], h_n and c_n [layers*dirs, B, H]; all from the arena.
    public func forward(_ x: Tensor, h0: Tensor? = nil, c0: Tensor? = nil, _ arena: Arena) throws
        -> (y: Tensor, h: Tensor, c: Tensor)
    {
        guard x.rank == 3, x.dim(2) == inputSize, x.dim(0) > 0, x.dim(1) > 0 else {
            throw TensorError.shape("lstm: x has shape \(x.shape), expected [B>0, T>0, \(inputSize)]")
        }
        let B = x.dim(0), T = x.dim(1), H = hidden, G = 4 * H
        let stateDims = [layers * directions, B, H]
        for (name, s) in [("h0", h0), ("c0", c0)] {
            if let s { try expectShape(s, stateDims, "lstm \(name)") }
        }
        let hN = arena.tensor(stateDims), cN = arena.tensor(stateDims)
        if let h0 { hN.data.update(from: h0.data, count: hN.count) } else { hN.data.initialize(repeating: 0, count: hN.count) }
        if let c0 { cN.data.update(from: c0.data, count: cN.count) } else { cN.data.initialize(repeating: 0, count: cN.count) }

        var input = UnsafePointer(x.data), width = inputSize
        var y = x
        let gates = arena.floats(directions * B * T * G)
        for layer in 0..<layers {
            y = arena.tensor([B, T, directions * H])
            let (layerIn, layerWidth, out) = (input, width, y.data)
            // The two directions of a bidirectional layer are independent: with intra-op threads they
            // run side by side (one fork per layer, not per step).
            Engine.parallelRanges(directions, minimumPerPart: 1) { range in
                for d in range {
                    recur(
                        cells[layer * directions + d], reverse: d == 1, x: layerIn, width: layerWidth, B: B, T: T,
                        gates: gates + d * B * T * G, h: hN.data + (layer * directions + d) * B * H,
                        c: cN.data + (layer * directions + d) * B * H, out: out + d * H, ldy: directions * H)
                }
            }
            input = UnsafePointer(y.data)
            width = directions * H
        }
        return (y, hN, cN)
    }

    /// One direction of one layer over all steps: gates = x W_ih^T for every (batch, step) row in
    /// one GEMM, then per step gates += h W_hh^T and the cell update; h_t goes to out[b, t].
    func recur(
        _ cell: Cell, reverse: Bool, x: UnsafePointer<Float>, width: Int, B: Int, T: Int,
        gates: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>,
        out: UnsafeMutablePointer<Float>, ldy: Int
    ) {
        let H = hidden, G = 4 * H
        BLAS.gemm(
            m: B * T, n: G, k: width, a: x, lda: width, b: cell.wIh.data, ldb: width,
            transB: true, c: gates, ldc: G)
        for step in 0..<T {
            let t = reverse ? T - 1 - step : step
            let g = gates + t * G  // batch row b at g + b*T*G
            // Gates += h W_hh^T, from W_hh^T [H, 4H]: OpenBLAS's axpy-style sgemv_n kernel on it is
            // faster than the dot-product sgemv on W_hh and than a hand-written 8-chain FMA loop
            // (benchmarks/RESULTS.md).
            if B == 1 {
                cblas_sgemv(CblasRowMajor, CblasTrans, Int32(H), Int32(G), 1, cell.wHhT.data, Int32(G), h, 1, 1, g, 1)
            } else {
                BLAS.gemm(m: B, n: G, k: H, a: h, lda: H, b: cell.wHhT.data, ldb: G, c: g, ldc: T * G, accumulate: true)
            }
            for b in 0..<B {
                lstmCell(
                    gates: g + b * T * G, bias: cell.bias.data, h: h + b * H, c: c + b * H,
                    out: out + (b * T + t) * ldy, hidden: H)
            }
        }
    }
}

/// One LSTM step for one sequence: c = σ(f)c + σ(i)tanh(g); h = σ(o)tanh(c); h also written to `out`.
@inlinable
func lstmCell(
    gates: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, h: UnsafeMutablePointer<Float>,
    c: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, hidden H: Int
) {
    var j = 0
    while j < H {
        let n = min(8, H - j)
        let i = sigmoid8(load8(gates + j, n) + load8(bias + j, n))
        let f = sigmoid8(load8(gates + H + j, n) + load8(bias + H + j, n))
        let g = tanh8(load8(gates + 2 * H + j, n) + load8(bias + 2 * H + j, n))
        let o = sigmoid8(load8(gates + 3 * H + j, n) + load8(bias + 3 * H + j, n))
        let cNew = f * load8(c + j, n) + i * g
        let hNew = o * tanh8(cNew)
        store8(cNew, c + j, n)
        store8(hNew, h + j, n)
        store8(hNew, out + j, n)
        j += 8
    }
}
