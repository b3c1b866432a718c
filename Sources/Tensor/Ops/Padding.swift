/// Spatial padding of a conv or pool: explicit (top, left, bottom, right), or computed from the
/// input size at run time ("same" in TensorFlow's sense: output ceil(in / stride), the odd extra
/// row/column at the bottom/right; "valid": none). P-Net runs on many pyramid sizes, so "same"
/// cannot be precomputed.
public enum Padding: Sendable, Equatable {
    case explicit(top: Int, left: Int, bottom: Int, right: Int)
    case same
    case valid

    /// From a manifest/vector value: "same" | "valid" | n | [ph, pw] | [top, left, bottom, right].
    init(spec: OpSpec, key: String = "pad") throws {
        guard let v = spec.params[key], !v.isNull else { self = .valid; return }
        if let s = v.string {
            switch s {
            case "same": self = .same
            case "valid": self = .valid
            default: throw TensorError.invalid("op \(spec.op): \(key) \"\(s)\" is not same/valid")
            }
            return
        }
        let p = try spec.ints(key)
        guard p.allSatisfy({ $0 >= 0 }) else { throw TensorError.invalid("op \(spec.op): negative \(key)") }
        switch p.count {
        case 1: self = .explicit(top: p[0], left: p[0], bottom: p[0], right: p[0])
        case 2: self = .explicit(top: p[0], left: p[1], bottom: p[0], right: p[1])
        case 4: self = .explicit(top: p[0], left: p[1], bottom: p[2], right: p[3])
        default: throw TensorError.invalid("op \(spec.op): \(key) needs 1, 2 or 4 integers")
        }
    }

    /// (top, left, bottom, right) for an input of h x w.
    @inline(__always)
    func resolve(h: Int, w: Int, kh: Int, kw: Int, sh: Int, sw: Int, dh: Int, dw: Int) -> (Int, Int, Int, Int) {
        switch self {
        case .explicit(let t, let l, let b, let r): return (t, l, b, r)
        case .valid: return (0, 0, 0, 0)
        case .same:
            func total(_ n: Int, _ k: Int, _ s: Int, _ d: Int) -> Int {
                let out = (n + s - 1) / s
                return max((out - 1) * s + (k - 1) * d + 1 - n, 0)
            }
            let th = total(h, kh, sh, dh), tw = total(w, kw, sw, dw)
            return (th / 2, tw / 2, th - th / 2, tw - tw / 2)
        }
    }
}

/// The per-layer geometry shared by conv and pooling: kernel, stride, dilation, padding.
struct Window: Sendable {
    let kh: Int, kw: Int, sh: Int, sw: Int, dh: Int, dw: Int
    let padding: Padding

    init(spec: OpSpec, kernel: [Int]) throws {
        kh = kernel[0]; kw = kernel[1]
        let s = try spec.ints("stride", count: 2, default: [1, 1])
        let d = try spec.ints("dilation", count: 2, default: [1, 1])
        sh = s[0]; sw = s[1]; dh = d[0]; dw = d[1]
        guard kh > 0, kw > 0, sh > 0, sw > 0, dh > 0, dw > 0 else {
            throw TensorError.invalid("op \(spec.op): kernel, stride and dilation must be positive")
        }
        padding = try Padding(spec: spec)
    }

    /// Output size and padding for an h x w input (floor division, or ceil as pooling's ceil_mode
    /// defines it: a last window must start inside the input or its left/top padding).
    func geometry(h: Int, w: Int, ceil: Bool = false) throws -> (oh: Int, ow: Int, pt: Int, pl: Int) {
        let (pt, pl, pb, pr) = padding.resolve(h: h, w: w, kh: kh, kw: kw, sh: sh, sw: sw, dh: dh, dw: dw)
        func out(_ n: Int, _ p0: Int, _ p1: Int, _ k: Int, _ s: Int, _ d: Int) -> Int {
            // PyTorch's pooling_output_shape: floor division (rounding down for negatives too).
            let num = n + p0 + p1 - d * (k - 1) - 1 + (ceil ? s - 1 : 0)
            var o = (num >= 0 ? num / s : -((-num + s - 1) / s)) + 1
            if ceil && (o - 1) * s >= n + p0 { o -= 1 }
            return o
        }
        let oh = out(h, pt, pb, kh, sh, dh), ow = out(w, pl, pr, kw, sw, dw)
        guard oh > 0, ow > 0 else { throw TensorError.shape("input \(h)x\(w) is smaller than the \(kh)x\(kw) window") }
        return (oh, ow, pt, pl)
    }
}
