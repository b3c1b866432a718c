#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Ops of SoundAQnet-like networks (parallel conv stacks read out as nodes of a graph), listed in
/// OpRegistry.tables. Parameters: docs/model-package.md.
let graphOps: [String: OpFactory] = [
    "mean_max": { try MeanMaxKernel(spec: $0) },
    "fill": { try FillKernel(spec: $0) },
    "gated_gcn": { try GatedGCNKernel(spec: $0) },
]

/// max + mean over one axis, which disappears: [N, T, F, C] with axis 1 -> [N, F, C]
/// (SoundAQnet's read-out of a conv stack over time).
final class MeanMaxKernel: Kernel, @unchecked Sendable {
    let axis: Int

    init(spec: OpSpec) throws {
        axis = try spec.int("axis", default: 1)
        guard axis >= 1 && axis < Shape.maxRank else { throw TensorError.invalid("mean_max: axis must be 1...\(Shape.maxRank - 1)") }
    }

    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor {
        let x = try single(inputs)
        guard axis < x.rank, x.shape[axis] > 0 else { throw TensorError.shape("mean_max: axis \(axis) of \(x.shape)") }
        var outer = 1, inner = 1
        for i in 0..<axis { outer *= x.shape[i] }
        for i in (axis + 1)..<x.rank { inner *= x.shape[i] }
        let n = x.shape[axis]
        var dims = x.shape.dims
        dims.remove(at: axis)
        let y = arena.tensor(dims)
        let sum = arena.floats(inner)
        defer { arena.release(sum, count: inner) }
        for o in 0..<outer {
            let src = x.data + o * n * inner, out = y.data + o * inner
            out.update(from: src, count: inner)
            sum.update(from: src, count: inner)
            for t in 1..<max(n, 1) {
                let row = src + t * inner
                for j in 0..<inner {
                    out[j] = max(out[j], row[j])
                    sum[j] += row[j]
                }
            }
            let scale = 1 / Float(n)
            for j in 0..<inner { out[j] += sum[j] * scale }
        }
        return y
    }
}

/// A constant tensor [N] + `shape` (N the batch of its input, whose values are not read), every
/// entry `value`: e.g. SoundAQnet's all-ones edge features.
final class FillKernel: Kernel, @unchecked Sendable {
    let dims: [Int], value: Float

    init(spec: OpSpec) throws {
        dims = try spec.ints("shape")
        guard !dims.isEmpty, dims.count < Shape.maxRank, dims.allSatisfy({ $0 >= 1 && $0 <= 1 << 24 }),
            dims.reduce(1, *) <= 1 << 26
        else { throw TensorError.invalid("fill: shape must be 1...\(Shape.maxRank - 1) sizes >= 1 (at most 2^26 values)") }
        let v = try spec.double("value")
        guard v.isFinite else { throw TensorError.invalid("fill: value must be finite") }
        value = Float(v)
    }

    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor {
        let x = try single(inputs)
        guard x.rank >= 1 else { throw TensorError.shape("fill: input needs a batch axis") }
        let y = arena.tensor([x.shape[0]] + dims)
        y.data.update(repeating: value, count: y.count)
        return y
    }
}

/// One residual gated graph-convolution layer (Bresson & Laurent 2018, as benchmarking-gnns'
/// GatedGCNLayer) on the complete graph of `nodes` nodes with self-loops, edge i -> j numbered
/// i * nodes + j. Inputs h [N, V, D] and e [N, V*V, D]; with the linears A..E (D -> D'):
///   ê_ij = D h_i + E h_j + C e_ij,  σ_ij = sigmoid(ê_ij),
///   ĥ_j = A h_j + Σ_i σ_ij ⊙ B h_i / (Σ_i σ_ij + 1e-6),
/// then batch norm (`bn_h`, `bn_e`, optional), ReLU, and + the input when `residual` and D = D'
/// (the layer turns the residual off when the widths differ). Outputs h' [N, V, D'], e' [N, V*V, D'].
final class GatedGCNKernel: Kernel, @unchecked Sendable {
    let nodes: Int, inWidth: Int, outWidth: Int
    let residual: Bool
    /// A..E as [D, D'] (transposed once, so a row of outputs is a sweep over contiguous weights).
    let weights: [[Float]], biases: [[Float]]
    let bnH: BatchNormParams?, bnE: BatchNormParams?

    init(spec: OpSpec) throws {
        nodes = try spec.int("nodes")
        guard nodes >= 1 && nodes <= 256 else { throw TensorError.invalid("gated_gcn: nodes must be 1...256") }
        var ws: [[Float]] = [], bs: [[Float]] = []
        var dIn = 0, dOut = 0
        for m in ["A", "B", "C", "D", "E"] {
            let w = try spec.tensor(m)
            guard w.rank == 2 else { throw TensorError.shape("gated_gcn: \(m) must be [out, in], got \(w.shape)") }
            if m == "A" { (dOut, dIn) = (w.shape[0], w.shape[1]) }
            guard w.shape[0] == dOut, w.shape[1] == dIn else { throw TensorError.shape("gated_gcn: \(m) is \(w.shape), A is [\(dOut), \(dIn)]") }
            var t = [Float](repeating: 0, count: dIn * dOut)
            for o in 0..<dOut { for i in 0..<dIn { t[i * dOut + o] = w.data[o * dIn + i] } }
            ws.append(t)
            if let b = try spec.optionalTensor("\(m)_bias") {
                guard b.count == dOut else { throw TensorError.shape("gated_gcn: \(m)_bias has \(b.count) values for \(dOut)") }
                bs.append(Array(UnsafeBufferPointer(start: b.data, count: dOut)))
            } else {
                bs.append([Float](repeating: 0, count: dOut))
            }
        }
        (inWidth, outWidth, weights, biases) = (dIn, dOut, ws, bs)
        residual = try spec.bool("residual", default: false) && dIn == dOut
        bnH = try BatchNormParams(spec: spec, prefix: "bn_h", channels: dOut)
        bnE = try BatchNormParams(spec: spec, prefix: "bn_e", channels: dOut)
    }

    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor { try runAll(inputs, arena)[0] }

    func runAll(_ inputs: [Tensor], _ arena: Arena) throws -> [Tensor] {
        guard inputs.count == 2 else { throw TensorError.invalid("gated_gcn takes h and e, got \(inputs.count) inputs") }
        let h = inputs[0], e = inputs[1]
        let v = nodes, d = inWidth, o = outWidth
        guard h.rank == 3, h.shape[1] == v, h.shape[2] == d, e.rank == 3, e.shape[0] == h.shape[0], e.shape[1] == v * v, e.shape[2] == d
        else { throw TensorError.shape("gated_gcn: h \(h.shape), e \(e.shape); want [N, \(v), \(d)] and [N, \(v * v), \(d)]") }
        let n = h.shape[0]
        let hOut = arena.tensor([n, v, o]), eOut = arena.tensor([n, v * v, o])
        // A, B, D, E of every node, then C of every edge: [5 linears] rows of D' floats.
        let projected = arena.floats(4 * v * o), sums = arena.floats(2 * o)
        defer {
            arena.release(sums, count: 2 * o)
            arena.release(projected, count: 4 * v * o)
        }
        for b in 0..<n {
            let hb = h.data + b * v * d, eb = e.data + b * v * v * d
            for (k, m) in [0, 1, 3, 4].enumerated() {
                for i in 0..<v { project(hb + i * d, m, into: projected + (k * v + i) * o) }
            }
            let ah = projected, bh = projected + v * o, dh = projected + 2 * v * o, eh = projected + 3 * v * o
            let hy = hOut.data + b * v * o, ey = eOut.data + b * v * v * o
            for i in 0..<v {
                for j in 0..<v {
                    let edge = ey + (i * v + j) * o
                    project(eb + (i * v + j) * d, 2, into: edge)
                    for c in 0..<o { edge[c] += dh[i * o + c] + eh[j * o + c] }
                }
            }
            for j in 0..<v {
                let num = sums, den = sums + o
                num.update(repeating: 0, count: o)
                den.update(repeating: 0, count: o)
                for i in 0..<v {
                    let edge = ey + (i * v + j) * o
                    for c in 0..<o {
                        let s = Activation.sigmoid(edge[c])
                        num[c] += s * bh[i * o + c]
                        den[c] += s
                    }
                }
                for c in 0..<o { hy[j * o + c] = ah[j * o + c] + num[c] / (den[c] + 1e-6) }
            }
            finish(hy, rows: v, bnH, residual: residual ? hb : nil)
            finish(ey, rows: v * v, bnE, residual: residual ? eb : nil)
        }
        return [hOut, eOut]
    }

    /// y = W_m x + b_m for one row.
    private func project(_ x: UnsafePointer<Float>, _ m: Int, into y: UnsafeMutablePointer<Float>) {
        let o = outWidth
        weights[m].withUnsafeBufferPointer { w in
            biases[m].withUnsafeBufferPointer { bias in
                for c in 0..<o { y[c] = bias[c] }
                for i in 0..<inWidth {
                    let xi = x[i], row = w.baseAddress! + i * o
                    for c in 0..<o { y[c] += xi * row[c] }
                }
            }
        }
    }

    /// Batch norm, ReLU and the residual over `rows` rows of D' floats, in place.
    private func finish(_ y: UnsafeMutablePointer<Float>, rows: Int, _ bn: BatchNormParams?, residual: UnsafePointer<Float>?) {
        let o = outWidth
        for r in 0..<rows {
            let row = y + r * o
            if let bn { for c in 0..<o { row[c] = row[c] * bn.scale[c] + bn.shift[c] } }
            for c in 0..<o { row[c] = max(row[c], 0) }
            if let residual { for c in 0..<o { row[c] += residual[r * o + c] } }
        }
    }
}
