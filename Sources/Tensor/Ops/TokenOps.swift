/// Ops of MediaPipe's face networks (docs/model-package.md, "Blocks"): the landmark detector's
/// channel padding (its residual shortcuts widen by zero channels) and the blendshape MLP-Mixer's
/// token plumbing over [N, tokens, channels].
let tokenOps: [String: OpFactory] = [
    "pad_channels": { PadChannelsKernel(before: try $0.int("before", default: 0), after: try $0.int("after")) },
    "transpose": { _ in SwapLastAxesKernel() },
    "slice": { SliceKernel(axis: try $0.int("axis"), start: try $0.int("start"), length: try $0.int("length")) },
    "prepend_token": { try PrependTokenKernel(token: $0.tensor("token")) },
    "normalize_points": { NormalizePointsKernel(scale: Float(try $0.double("scale", default: 1))) },
]

/// Zero channels before and after the last axis (TFLite PAD on channels only).
final class PadChannelsKernel: Kernel, @unchecked Sendable {
    let before: Int, after: Int
    init(before: Int, after: Int) { self.before = max(before, 0); self.after = max(after, 0) }
    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor {
        let x = try single(inputs)
        guard x.rank >= 1 else { throw TensorError.shape("pad_channels: scalar input") }
        let c = x.dim(-1), oc = before + c + after
        var dims = x.shape.dims
        dims[dims.count - 1] = oc
        let y = arena.tensor(dims, layout: x.layout)
        for r in 0..<(x.count / max(c, 1)) {
            let ys = y.data + r * oc
            ys.update(repeating: 0, count: before)
            (ys + before).update(from: x.data + r * c, count: c)
            (ys + before + c).update(repeating: 0, count: after)
        }
        return y
    }
}

/// [..., A, B] -> [..., B, A] (token mixing runs its linear layers across the token axis).
final class SwapLastAxesKernel: Kernel, @unchecked Sendable {
    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor {
        let x = try single(inputs)
        guard x.rank >= 2 else { throw TensorError.shape("transpose needs rank >= 2, got \(x.shape)") }
        let a = x.dim(-2), b = x.dim(-1)
        var dims = x.shape.dims
        dims.swapAt(dims.count - 1, dims.count - 2)
        let y = arena.tensor(dims, layout: .rowMajor)
        for m in 0..<(x.count / max(a * b, 1)) {
            let xs = x.data + m * a * b, ys = y.data + m * a * b
            for i in 0..<a { for j in 0..<b { ys[j * a + i] = xs[i * b + j] } }
        }
        return y
    }
}

/// `length` entries of `axis` from `start` (the blendshape model reads its extra token, index 0).
final class SliceKernel: Kernel, @unchecked Sendable {
    let axis: Int, start: Int, length: Int
    init(axis: Int, start: Int, length: Int) { self.axis = axis; self.start = start; self.length = length }
    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor {
        let x = try single(inputs)
        let ax = axis < 0 ? x.rank + axis : axis
        guard ax >= 0, ax < x.rank, start >= 0, length > 0, start + length <= x.shape[ax] else {
            throw TensorError.shape("slice axis \(axis) [\(start), \(start + length)) of \(x.shape)")
        }
        var outer = 1, inner = 1
        for i in 0..<ax { outer *= x.shape[i] }
        for i in (ax + 1)..<x.rank { inner *= x.shape[i] }
        var dims = x.shape.dims
        dims[ax] = length
        let y = arena.tensor(dims, layout: x.layout)
        for o in 0..<outer {
            (y.data + o * length * inner).update(from: x.data + (o * x.shape[ax] + start) * inner, count: length * inner)
        }
        return y
    }
}

/// [N, T, C] -> [N, 1 + T, C] with a learned token [C] first (the Mixer's extra token).
final class PrependTokenKernel: Kernel, @unchecked Sendable {
    let token: Tensor
    init(token: Tensor) throws {
        guard token.count > 0 else { throw TensorError.shape("prepend_token: empty token") }
        self.token = token
    }
    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor {
        let x = try single(inputs)
        guard x.rank == 3, x.shape[2] == token.count else { throw TensorError.shape("prepend_token: input \(x.shape), token \(token.count)") }
        let n = x.shape[0], t = x.shape[1], c = x.shape[2]
        let y = arena.tensor([n, t + 1, c])
        for b in 0..<n {
            let ys = y.data + b * (t + 1) * c
            ys.update(from: token.data, count: c)
            (ys + c).update(from: x.data + b * t * c, count: t * c)
        }
        return y
    }
}

/// Points [N, P, D] centred on their mean and divided by their mean distance to it, then times
/// `scale`: the blendshape model's input normalisation, which makes it invariant to where the face
/// is and how large. Coincident points (no spread: TFLite would divide 0 by 0) give zeros.
final class NormalizePointsKernel: Kernel, @unchecked Sendable {
    let scale: Float
    init(scale: Float) { self.scale = scale }
    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor {
        let x = try single(inputs)
        guard x.rank == 3, x.shape[1] > 0, x.shape[2] > 0 else { throw TensorError.shape("normalize_points: input \(x.shape), want [N, points, dims]") }
        let n = x.shape[0], p = x.shape[1], d = x.shape[2]
        let y = arena.tensor(x.shape, layout: .rowMajor)
        var centre = [Float](repeating: 0, count: d)
        for b in 0..<n {
            let xs = x.data + b * p * d, ys = y.data + b * p * d
            for k in 0..<d { centre[k] = 0 }
            for i in 0..<p { for k in 0..<d { centre[k] += xs[i * d + k] } }
            for k in 0..<d { centre[k] /= Float(p) }
            var spread: Float = 0
            for i in 0..<p {
                var sq: Float = 0
                for k in 0..<d {
                    let v = xs[i * d + k] - centre[k]
                    ys[i * d + k] = v
                    sq += v * v
                }
                spread += sq.squareRoot()
            }
            spread /= Float(p)
            if spread > 0 {
                for i in 0..<(p * d) { ys[i] = ys[i] / spread * scale }
            } else {
                ys.update(repeating: 0, count: p * d)
            }
        }
        return y
    }
}
