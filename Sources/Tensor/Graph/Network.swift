#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A network declared in a model manifest (docs/model-package.md): named inputs, a list of blocks
/// (each an op of the registry with its hyper-parameters and weight tensor names) and named
/// outputs. Built once (weights folded and repacked), then run any number of times on a per-worker
/// arena; a Network is immutable and may be shared by workers.
public final class Network: @unchecked Sendable {
    public struct Input: Sendable {
        public let name: String
        /// Per-image NHWC dims without the batch axis; nil = any size (e.g. P-Net's pyramid).
        public let shape: [Int?]
    }

    struct Block {
        let name: String
        let op: String
        let kernel: any Kernel
        let inputs: [Int]  // value slots: network inputs first, then block outputs
    }

    /// The manifest "format" this engine reads (docs/model-package.md).
    public static let manifestFormat = "affectd-model/1"

    public let inputs: [Input]
    public let outputNames: [String]
    let blocks: [Block]
    let outputSlots: [Int]
    /// For each block: the block outputs whose last reader it is (released to the arena after it
    /// runs; never a network output). Computed once at load.
    let expiring: [[Int]]
    /// For each block: what the network reads next, for the block to prefetch (Prefetch).
    let upcoming: [Prefetch]

    /// Blocks by op, in order (for /v1/models and logs).
    public var blockOps: [String] { blocks.map(\.op) }

    /// - Parameters:
    ///   - json: the network object of the manifest: {"inputs": [...], "blocks": [...], "outputs": [...]}
    ///   - lookup: the weight tensors by name (normally a SafeTensorsFile).
    public init(json: JSON, lookup: @escaping (String) throws -> Tensor?) throws {
        func fail(_ s: String) -> TensorError { .invalid("network: \(s)") }
        var weightFloats = 0
        let lookup: (String) throws -> Tensor? = { name in
            let t = try lookup(name)
            weightFloats += t?.count ?? 0
            return t
        }
        guard let inputList = json["inputs"]?.array, !inputList.isEmpty else { throw fail("\"inputs\" must be a non-empty list") }
        var slots: [String: Int] = [:]
        var ins: [Input] = []
        for (i, v) in inputList.enumerated() {
            guard let name = v["name"]?.string else { throw fail("input \(i) has no name") }
            var shape: [Int?] = []
            if let s = v["shape"] {
                guard let a = s.array else { throw fail("input \(name): shape must be a list") }
                for d in a {
                    if d.isNull { shape.append(nil); continue }
                    guard let n = d.int, n > 0 else { throw fail("input \(name): shape entries are positive integers or null") }
                    shape.append(n)
                }
            }
            guard slots[name] == nil else { throw fail("duplicate name \(name)") }
            slots[name] = ins.count
            ins.append(Input(name: name, shape: shape))
        }
        guard let blockList = json["blocks"]?.array, !blockList.isEmpty else { throw fail("\"blocks\" must be a non-empty list") }
        let references = Network.referenceCounts(blocks: blockList, firstInput: ins[0].name, outputs: json["outputs"])
        var blocks: [Block] = []
        var previous = 0
        var absorbedThrough = -1  // blocks folded into an earlier one (prelu, inverted residual)
        for (i, b) in blockList.enumerated() {
            if i <= absorbedThrough { continue }
            guard b.object != nil, let op = b["op"]?.string else { throw fail("block \(i) needs an \"op\"") }
            let name = b["name"]?.string ?? "#\(i)"
            guard slots[name] == nil else { throw fail("duplicate name \(name) (block \(i))") }
            var from: [Int] = []
            if let one = b["input"] {
                guard let s = one.string, let slot = slots[s] else { throw fail("block \(name): unknown input \(one.serialized)") }
                from = [slot]
            } else if let many = b["inputs"] {
                guard let a = many.array, !a.isEmpty else { throw fail("block \(name): inputs must be a non-empty list") }
                for e in a {
                    guard let s = e.string, let slot = slots[s] else { throw fail("block \(name): unknown input \(e.serialized)") }
                    from.append(slot)
                }
            } else {
                from = [previous]
            }
            // conv2d -> prelu, the conv's output used by nothing else: the conv applies the slopes as
            // it stores (one pass over memory less), and the prelu's name stands for the conv.
            var params = b
            var preluName: String?
            if op == "conv2d", i + 1 < blockList.count, case .object(var fields) = b, fields["prelu"] == nil,
                (fields["activation"]?.string ?? "none") == "none", references[name] == 1
            {
                let next = blockList[i + 1]
                let nextInput = next["input"]?.string ?? (next["inputs"] == nil ? name : nil)
                if next["op"]?.string == "prelu", nextInput == name, let slope = next["slope"] {
                    fields["prelu"] = slope
                    params = .object(fields)
                    preluName = next["name"]?.string ?? "#\(i + 1)"
                    absorbedThrough = i + 1
                }
            }
            func build(_ j: Int, _ params: JSON) throws -> any Kernel {
                let name = blockList[j]["name"]?.string ?? "#\(j)", op = params["op"]?.string ?? ""
                do { return try OpRegistry.make(OpSpec(op: op, params: params, lookup: lookup)) } catch { throw fail("block \(name) (\(op)): \(error)") }
            }
            var kernel = try build(i, params)
            var blockName = name, blockOp = op
            var absorbedNames = preluName.map { [$0] } ?? []
            if preluName == nil, let first = kernel as? Conv2DKernel,
                let (fused, names) = try Network.invertedResidual(
                    from: first, at: i, blocks: blockList,
                    references: references, build: build)
            {
                kernel = fused
                absorbedNames = Array(names.dropFirst())
                blockName = names.joined(separator: "+"); blockOp = "inverted_residual"
                absorbedThrough = i + names.count - 1
            }
            let slot = ins.count + blocks.count
            blocks.append(Block(name: blockName, op: blockOp, kernel: kernel, inputs: from))
            slots[name] = slot
            for (k, absorbed) in absorbedNames.enumerated() {
                guard slots[absorbed] == nil else { throw fail("duplicate name \(absorbed) (block \(i + 1 + k))") }
                slots[absorbed] = slot
            }
            previous = slot
        }
        var outNames: [String] = [], outSlots: [Int] = []
        if let outs = json["outputs"] {
            guard let a = outs.array, !a.isEmpty else { throw fail("\"outputs\" must be a non-empty list") }
            for o in a {
                let name = o.string ?? o["name"]?.string
                let source = o.string ?? o["block"]?.string ?? o["name"]?.string
                guard let name, let source, let slot = slots[source] else { throw fail("unknown output \(o.serialized)") }
                outNames.append(name); outSlots.append(slot)
            }
        } else {
            outNames = [blocks.last!.name]; outSlots = [previous]
        }
        self.inputs = ins
        self.blocks = blocks
        self.outputNames = outNames
        self.outputSlots = outSlots
        var lastReader = [Int](repeating: -1, count: ins.count + blocks.count)
        for (i, b) in blocks.enumerated() { for s in b.inputs { lastReader[s] = i } }
        var expiring = [[Int]](repeating: [], count: blocks.count)
        for slot in ins.count..<(ins.count + blocks.count) where !outSlots.contains(slot) {
            // Read by nobody: free right after it is made.
            expiring[lastReader[slot] >= 0 ? lastReader[slot] : slot - ins.count].append(slot)
        }
        self.expiring = expiring
        // Each block prefetches the first weights of the next block that has any (adds, pools: none).
        var upcoming = [Prefetch](repeating: Prefetch(), count: blocks.count)
        var following = Prefetch()
        for i in blocks.indices.reversed() {
            upcoming[i] = following
            let leading = blocks[i].kernel.leadingWeights
            if !leading.isEmpty { following = leading }
        }
        self.upcoming = upcoming
        let imageFloats = ins.map { $0.shape.isEmpty || $0.shape.contains(nil) ? Int.max : $0.shape.reduce(1) { $0 * $1! } }
        splitsBatch = weightFloats * 4 <= Network.splitWeightBytes && imageFloats.allSatisfy { $0 <= Network.splitImageFloats }
    }

    /// Small networks on small fixed-size images run a batch image by image on one thread: one
    /// image's activations stay in L2 where the batch's spilled to L3, and re-reading weights this
    /// small costs little: faster for mini-Xception (228 KB of weights, 64x64x1) at batch 8, slower
    /// for R-Net (391 KB, most of it a 576x128 linear that reuses its weights across the batch),
    /// hence the weight limit (benchmarks/RESULTS.md). With several
    /// intra-op threads the batch runs whole (one image per op left them waiting on each other).
    static let splitWeightBytes = 256 << 10
    static let splitImageFloats = 32 << 10
    /// Whether `run` takes a batch one image at a time (decided at load from the above).
    let splitsBatch: Bool

    /// How often each name is read: explicit block inputs, the implicit "previous block" input,
    /// and the outputs (the last block when none are declared).
    static func referenceCounts(blocks: [JSON], firstInput: String, outputs: JSON?) -> [String: Int] {
        var counts: [String: Int] = [:]
        var previous = firstInput
        for (i, b) in blocks.enumerated() {
            if let one = b["input"]?.string {
                counts[one, default: 0] += 1
            } else if let many = b["inputs"]?.array {
                for e in many { if let s = e.string { counts[s, default: 0] += 1 } }
            } else {
                counts[previous, default: 0] += 1
            }
            previous = b["name"]?.string ?? "#\(i)"
        }
        if let outs = outputs?.array {
            for o in outs { if let s = o.string ?? o["block"]?.string ?? o["name"]?.string { counts[s, default: 0] += 1 } }
        } else {
            counts[previous, default: 0] += 1
        }
        return counts
    }

    /// [1x1 expand ->] depthwise -> 1x1 project starting at block `i` (already built as `first`),
    /// each conv read only by the next: the fused kernel (InvertedResidual.swift) and the names of
    /// the blocks it replaces, in order. The output keeps the last one's name.
    static func invertedResidual(
        from first: Conv2DKernel, at i: Int, blocks: [JSON], references: [String: Int],
        build: (Int, JSON) throws -> any Kernel
    ) throws -> (InvertedResidualKernel, [String])? {
        guard first.isPointwise || first.isDepthwise else { return nil }
        func name(_ j: Int) -> String { blocks[j]["name"]?.string ?? "#\(j)" }
        // Block j is a conv2d whose only input is block j - 1, which nothing else reads.
        func chainedConv(_ j: Int) throws -> Conv2DKernel? {
            guard j < blocks.count, blocks[j]["op"]?.string == "conv2d", references[name(j - 1)] == 1 else { return nil }
            let input = blocks[j]["input"]?.string ?? (blocks[j]["inputs"] == nil ? name(j - 1) : nil)
            guard input == name(j - 1) else { return nil }
            return try build(j, blocks[j]) as? Conv2DKernel
        }
        if first.isPointwise {
            guard let dw = try chainedConv(i + 1), dw.isDepthwise, let project = try chainedConv(i + 2),
                let fused = InvertedResidualKernel(expand: first, depthwise: dw, project: project)
            else { return nil }
            return (fused, [name(i), name(i + 1), name(i + 2)])
        }
        guard let project = try chainedConv(i + 1),
            let fused = InvertedResidualKernel(expand: nil, depthwise: first, project: project)
        else { return nil }
        return (fused, [name(i), name(i + 1)])
    }

    /// Loads network `name` of a manifest from its weight file.
    public convenience init(manifest: JSON, network name: String, weights: SafeTensorsFile) throws {
        if let format = manifest["format"], format.string != Network.manifestFormat {
            throw TensorError.invalid("manifest format \(format.serialized), this engine reads \"\(Network.manifestFormat)\"")
        }
        guard let net = manifest["networks"]?[name] else { throw TensorError.missing("manifest has no network \(name)") }
        try self.init(json: net, lookup: { weights.contains($0) ? try weights.tensor($0) : nil })
    }

    /// Runs on NHWC inputs (one per declared input, batch first); outputs in declaration order.
    /// The results live in `arena` until its next reset.
    public func run(_ x: [Tensor], arena: Arena) throws -> [Tensor] {
        try execute(x, arena: arena, blockSeconds: nil)
    }

    /// Block names and ops, in run order (fused blocks are gone), for `profile`.
    public var blockNames: [(name: String, op: String)] { blocks.map { ($0.name, $0.op) } }

    /// Runs once and adds each block's wall time to `seconds` (indexed like `blockNames`).
    public func profile(_ x: [Tensor], arena: Arena, seconds: inout [Double]) throws {
        if seconds.count != blocks.count { seconds = [Double](repeating: 0, count: blocks.count) }
        try seconds.withUnsafeMutableBufferPointer { _ = try execute(x, arena: arena, blockSeconds: $0) }
    }

    private func execute(_ x: [Tensor], arena: Arena, blockSeconds: UnsafeMutableBufferPointer<Double>?) throws -> [Tensor] {
        guard x.count == inputs.count else { throw TensorError.invalid("network takes \(inputs.count) inputs, got \(x.count)") }
        for (t, decl) in zip(x, inputs) where !decl.shape.isEmpty {
            guard t.rank == decl.shape.count + 1,
                zip(decl.shape, t.shape.dims.dropFirst()).allSatisfy({ $0 == nil || $0 == $1 })
            else { throw TensorError.shape("input \(decl.name): got \(t.shape), declared [N] + \(decl.shape.map { $0.map(String.init) ?? "any" })") }
        }
        let n = x[0].dim(0)
        if splitsBatch && n > 1 && Engine.intraOpThreads == 1 && x.allSatisfy({ $0.rank == 4 && $0.shape[0] == n }) {
            var outputs: [Tensor] = []
            for i in 0..<n {
                let image = x.map { t in
                    var shape = t.shape
                    shape[0] = 1
                    return Tensor(shape: shape, layout: t.layout, data: t.data + i * (t.count / n), owner: t.owner)
                }
                let outs = try executeOnce(image, arena: arena, blockSeconds: blockSeconds)
                if i == 0 {
                    // Every output must carry the batch axis; otherwise run the batch whole.
                    guard outs.allSatisfy({ $0.rank >= 1 && $0.shape[0] == 1 }) else { break }
                    outputs = outs.map { o in
                        var shape = o.shape
                        shape[0] = n
                        return arena.tensor(shape, layout: o.layout)
                    }
                }
                for (o, out) in zip(outs, outputs) { (out.data + i * o.count).update(from: o.data, count: o.count) }
            }
            if !outputs.isEmpty { return outputs }
        }
        return try executeOnce(x, arena: arena, blockSeconds: blockSeconds)
    }

    /// One pass of the blocks over `x` (inputs already checked).
    private func executeOnce(_ x: [Tensor], arena: Arena, blockSeconds: UnsafeMutableBufferPointer<Double>?) throws -> [Tensor] {
        var values = [Tensor?](repeating: nil, count: inputs.count + blocks.count)
        for (i, t) in x.enumerated() { values[i] = t }
        var args: [Tensor] = []
        args.reserveCapacity(4)
        for (i, b) in blocks.enumerated() {
            args.removeAll(keepingCapacity: true)
            for s in b.inputs { args.append(values[s]!) }
            let t0 = blockSeconds == nil ? 0 : Network.monotonicSeconds()
            do { values[inputs.count + i] = try b.kernel.run(args, arena, then: upcoming[i]) } catch {
                throw TensorError.invalid("block \(b.name) (\(b.op)): \(error)")
            }
            if let blockSeconds { blockSeconds[i] += Network.monotonicSeconds() - t0 }
            for slot in expiring[i] { release(slot, &values, arena) }
        }
        return outputSlots.map { values[$0]! }
    }

    /// Gives a dead value's memory back to the arena, unless a live value shares it (a reshape is
    /// a view of its input).
    private func release(_ slot: Int, _ values: inout [Tensor?], _ arena: Arena) {
        guard let t = values[slot] else { return }
        values[slot] = nil
        let start = t.data, end = t.data + t.count
        for case let v? in values where (v.data >= start && v.data < end) || (start >= v.data && start < v.data + v.count) {
            return
        }
        arena.release(t.data, count: t.count)
    }
}

extension Network {
    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}

/// A network as one op, so a manifest network can be parity-tested and benchmarked like a kernel:
/// params {"network": <network object>}, inputs in declaration order, outputs in declaration order.
final class NetworkKernel: Kernel, @unchecked Sendable {
    let network: Network
    init(spec: OpSpec) throws {
        guard let net = spec.params["network"] else { throw TensorError.missing("op network: params.network") }
        network = try Network(json: net, lookup: spec.lookup)
    }
    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor { try network.run(inputs, arena: arena)[0] }
    func runAll(_ inputs: [Tensor], _ arena: Arena) throws -> [Tensor] { try network.run(inputs, arena: arena) }
}

let networkOps: [String: OpFactory] = [
    "network": { try NetworkKernel(spec: $0) }
]
