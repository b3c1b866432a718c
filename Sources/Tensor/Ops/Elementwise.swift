/// Element-wise add or multiply with numpy broadcasting (shapes aligned from the right).
final class BinaryKernel: Kernel, @unchecked Sendable {
    enum Op { case add, mul }
    let op: Op
    let activation: Activation
    init(_ op: Op, activation: Activation = .identity) { self.op = op; self.activation = activation }

    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor {
        guard inputs.count == 2 else { throw TensorError.invalid("\(op) takes 2 inputs, got \(inputs.count)") }
        let a = inputs[0], b = inputs[1]
        let rank = max(a.rank, b.rank)
        var out = [Int](repeating: 1, count: rank)
        var sa = [Int](repeating: 0, count: rank), sb = [Int](repeating: 0, count: rank)
        var stA = 1, stB = 1
        for i in stride(from: rank - 1, through: 0, by: -1) {
            let da = i - (rank - a.rank) >= 0 ? a.shape[i - (rank - a.rank)] : 1
            let db = i - (rank - b.rank) >= 0 ? b.shape[i - (rank - b.rank)] : 1
            guard da == db || da == 1 || db == 1 else {
                throw TensorError.shape("\(op): cannot broadcast \(a.shape) with \(b.shape)")
            }
            out[i] = max(da, db)
            sa[i] = da == 1 ? 0 : stA; sb[i] = db == 1 ? 0 : stB
            stA *= da; stB *= db
        }
        let y = arena.tensor(out, layout: a.rank >= b.rank ? a.layout : b.layout)
        let pa = a.data, pb = b.data, py = y.data
        let isAdd = op == .add
        if a.count == y.count && b.count == y.count {
            if isAdd { for i in 0..<y.count { py[i] = pa[i] + pb[i] } } else { for i in 0..<y.count { py[i] = pa[i] * pb[i] } }
        } else {
            // Walk the output row by row (last axis), advancing both sources by their strides.
            let inner = out[rank - 1], ia = sa[rank - 1], ib = sb[rank - 1]
            let rows = y.count / max(inner, 1)
            var idx = [Int](repeating: 0, count: rank)
            for r in 0..<rows {
                var oa = 0, ob = 0
                for d in 0..<(rank - 1) { oa += idx[d] * sa[d]; ob += idx[d] * sb[d] }
                let yr = py + r * inner
                if isAdd {
                    for j in 0..<inner { yr[j] = pa[oa + j * ia] + pb[ob + j * ib] }
                } else {
                    for j in 0..<inner { yr[j] = pa[oa + j * ia] * pb[ob + j * ib] }
                }
                var d = rank - 2
                while d >= 0 { idx[d] += 1; if idx[d] < out[d] { break }; idx[d] = 0; d -= 1 }
            }
        }
        activation.apply(py, y.count)
        return y
    }
}

/// Concatenation along one axis (default the last: channels of NHWC).
final class ConcatKernel: Kernel, @unchecked Sendable {
    let axis: Int
    init(axis: Int) { self.axis = axis }
    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor {
        guard let first = inputs.first else { throw TensorError.invalid("concat of nothing") }
        let ax = axis < 0 ? first.rank + axis : axis
        guard ax >= 0, ax < first.rank else { throw TensorError.shape("concat axis \(axis) for \(first.shape)") }
        var dims = first.shape.dims
        dims[ax] = 0
        for t in inputs {
            guard t.rank == first.rank else { throw TensorError.shape("concat: ranks differ") }
            for i in 0..<t.rank where i != ax && t.shape[i] != first.shape[i] {
                throw TensorError.shape("concat: \(t.shape) vs \(first.shape) off axis \(ax)")
            }
            dims[ax] += t.shape[ax]
        }
        var outer = 1, inner = 1
        for i in 0..<ax { outer *= dims[i] }
        for i in (ax + 1)..<dims.count { inner *= dims[i] }
        let y = arena.tensor(dims, layout: first.layout)
        let rowOut = dims[ax] * inner
        var offset = 0
        for t in inputs {
            let run = t.shape[ax] * inner
            for o in 0..<outer { (y.data + o * rowOut + offset).update(from: t.data + o * run, count: run) }
            offset += run
        }
        return y
    }
}

/// Per-channel affine y = x * scale + shift on the last axis: a batch norm that has no conv to fold
/// into (scale = gamma / sqrt(var + eps), shift = beta - mean * scale, computed at load).
final class ChannelAffineKernel: Kernel, @unchecked Sendable {
    let scale: [Float], shift: [Float]
    let activation: Activation
    init(scale: [Float], shift: [Float], activation: Activation) {
        self.scale = scale; self.shift = shift; self.activation = activation
    }
    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor {
        let x = try single(inputs)
        let c = x.dim(-1)
        guard c == scale.count else { throw TensorError.shape("batchnorm: \(scale.count) channels, input \(x.shape)") }
        let y = arena.tensor(x.shape, layout: x.layout)
        scale.withUnsafeBufferPointer { s in
            shift.withUnsafeBufferPointer { b in
                for r in 0..<(x.count / max(c, 1)) {
                    let xi = x.data + r * c, yi = y.data + r * c
                    for j in 0..<c { yi[j] = xi[j] * s[j] + b[j] }
                }
            }
        }
        activation.apply(y.data, y.count)
        return y
    }
}

/// NHWC -> [N, features] in the order a framework flattened its own layout: "nhwc" (a reshape),
/// "nchw" (PyTorch's flatten of NCHW) or "nwhc" (MTCNN's permute(0, 3, 2, 1) before flatten).
final class FlattenKernel: Kernel, @unchecked Sendable {
    enum Order: String { case nhwc, nchw, nwhc }
    let order: Order
    init(order: Order) { self.order = order }
    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor {
        let x = try single(inputs)
        if x.rank != 4 {
            guard order == .nhwc else { throw TensorError.shape("flatten \(order.rawValue) needs NHWC, got \(x.shape)") }
            let n = x.rank == 0 ? 1 : x.shape[0]
            let y = arena.tensor([n, x.count / max(n, 1)])
            y.data.update(from: x.data, count: x.count)
            return y
        }
        let (n, h, w, c) = try x.nhwc()
        let y = arena.tensor([n, h * w * c])
        for b in 0..<n {
            let xs = x.data + b * h * w * c, ys = y.data + b * h * w * c
            switch order {
            case .nhwc: ys.update(from: xs, count: h * w * c)
            case .nchw:
                for i in 0..<h { for j in 0..<w { for k in 0..<c { ys[(k * h + i) * w + j] = xs[(i * w + j) * c + k] } } }
            case .nwhc:
                for i in 0..<h { for j in 0..<w { (ys + (j * h + i) * c).update(from: xs + (i * w + j) * c, count: c) } }
            }
        }
        return y
    }
}
