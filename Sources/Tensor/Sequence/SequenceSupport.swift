func expectShape(_ t: Tensor, _ dims: [Int], _ what: String) throws {
    guard t.shape.dims == dims else { throw TensorError.shape("\(what) has shape \(t.shape), expected \(dims)") }
}

extension OpSpec {
    /// A size parameter in 1...limit: manifests are input too, and sizes feed index arithmetic that
    /// must not overflow (limit 2^20 is far above any real model's width, kernel or dilation).
    func boundedInt(_ key: String, default d: Int? = nil, limit: Int = 1 << 20) throws -> Int {
        let v = try int(key, default: d)
        guard v >= 1, v <= limit else { throw TensorError.invalid("op \(op): \(key) = \(v), expected 1...\(limit)") }
        return v
    }

    /// A sequence block names many tensors (a Mamba block nine); in a manifest, `"prefix":
    /// "temporal.mamba.0."` makes every role resolve to prefix + its state-dict name, instead of
    /// listing each one. A role given explicitly as a parameter still wins.
    func prefixed() -> OpSpec {
        guard let prefix = params["prefix"]?.string else { return self }
        let base = lookup
        return OpSpec(op: op, params: params, lookup: { try base(prefix + $0) })
    }
}
