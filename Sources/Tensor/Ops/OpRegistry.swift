/// How an op is declared, in a parity vector, the benchmark or a manifest block: a name, its
/// hyper-parameters (JSON) and a source of named tensors (weights). A weight role such as "weight"
/// resolves to the tensor whose name is the parameter's string value (manifest blocks:
/// `"weight": "pnet.conv1.weight"`), else to the tensor named like the role itself (vectors).
public struct OpSpec: @unchecked Sendable {
    public let op: String
    public let params: JSON
    public let lookup: (String) throws -> Tensor?

    public init(op: String, params: JSON, lookup: @escaping (String) throws -> Tensor?) {
        self.op = op; self.params = params; self.lookup = lookup
    }

    public init(op: String, params: JSON, tensors: [String: Tensor]) {
        self.init(op: op, params: params, lookup: { tensors[$0] })
    }

    public func optionalTensor(_ role: String) throws -> Tensor? {
        if let name = params[role]?.string {
            guard let t = try lookup(name) else { throw TensorError.missing("op \(op): \(role) tensor \(name)") }
            return t
        }
        return try lookup(role)
    }
    public func tensor(_ role: String) throws -> Tensor {
        guard let t = try optionalTensor(role) else { throw TensorError.missing("op \(op): tensor \(role)") }
        return t
    }

    public func has(_ key: String) -> Bool { params[key].map { !$0.isNull } ?? false }
    public func int(_ key: String, default d: Int? = nil) throws -> Int {
        if let v = params[key], !v.isNull {
            guard let i = v.int else { throw TensorError.invalid("op \(op): \(key) must be an integer") }
            return i
        }
        guard let d else { throw TensorError.missing("op \(op): parameter \(key)") }
        return d
    }
    /// An integer list; a single integer is repeated `count` times (e.g. "stride": 2 -> [2, 2]).
    public func ints(_ key: String, count: Int? = nil, default d: [Int]? = nil) throws -> [Int] {
        if let v = params[key], !v.isNull {
            if let i = v.int { return Array(repeating: i, count: count ?? 1) }
            guard let a = v.array, case let r = a.compactMap(\.int), r.count == a.count, count == nil || r.count == count
            else { throw TensorError.invalid("op \(op): \(key) must be a list of \(count.map(String.init) ?? "") integers") }
            return r
        }
        guard let d else { throw TensorError.missing("op \(op): parameter \(key)") }
        return d
    }
    public func double(_ key: String, default d: Double? = nil) throws -> Double {
        if let v = params[key], !v.isNull {
            guard let x = v.double else { throw TensorError.invalid("op \(op): \(key) must be a number") }
            return x
        }
        guard let d else { throw TensorError.missing("op \(op): parameter \(key)") }
        return d
    }
    public func string(_ key: String, default d: String? = nil) throws -> String {
        if let v = params[key], !v.isNull {
            guard let s = v.string else { throw TensorError.invalid("op \(op): \(key) must be a string") }
            return s
        }
        guard let d else { throw TensorError.missing("op \(op): parameter \(key)") }
        return d
    }
    public func bool(_ key: String, default d: Bool) throws -> Bool {
        guard let v = params[key], !v.isNull else { return d }
        guard let b = v.bool else { throw TensorError.invalid("op \(op): \(key) must be true or false") }
        return b
    }
}

/// A prepared op: weights repacked and checked once at construction; `run` takes the runtime inputs
/// (activations) and returns its output, with output and scratch taken from the arena.
public protocol Kernel: AnyObject, Sendable {
    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor
    /// Every output, for ops with more than one (e.g. an LSTM's y, h_n, c_n); the first is `run`'s.
    func runAll(_ inputs: [Tensor], _ arena: Arena) throws -> [Tensor]
    /// `run`, told what the network reads next (the next op's `leadingWeights`), which a kernel
    /// whose weights stream from memory may prefetch as it finishes.
    func run(_ inputs: [Tensor], _ arena: Arena, then next: Prefetch) throws -> Tensor
    /// The weights this op reads first (empty: none worth prefetching).
    var leadingWeights: Prefetch { get }
}

extension Kernel {
    public func runAll(_ inputs: [Tensor], _ arena: Arena) throws -> [Tensor] { [try run(inputs, arena)] }
    public func run(_ inputs: [Tensor], _ arena: Arena, then next: Prefetch) throws -> Tensor { try run(inputs, arena) }
    public var leadingWeights: Prefetch { Prefetch() }
}

/// Builds a kernel from its declaration (all validation happens here, not in `run`).
public typealias OpFactory = @Sendable (OpSpec) throws -> any Kernel

/// Op name -> factory. The parity tests (Tests/TensorTests), manifest networks (Graph/) and
/// `affectd bench-op` all go through here, so whatever is benchmarked or served is exactly what
/// was checked against numpy. To add ops: put a `[String: OpFactory]` table in your own file and
/// list it in `tables`.
public enum OpRegistry {
    static let tables: [[String: OpFactory]] = [kernelOps, networkOps, sequenceOps, signalOps, tokenOps, graphOps]

    public static let factories: [String: OpFactory] = {
        var all: [String: OpFactory] = [:]
        for t in tables {
            for (k, v) in t {
                precondition(all[k] == nil, "op \(k) registered twice")
                all[k] = v
            }
        }
        return all
    }()

    public static var names: [String] { factories.keys.sorted() }

    public static func make(_ spec: OpSpec) throws -> any Kernel {
        _ = Engine.applyDefaultPolicy
        guard let f = factories[spec.op] else { throw TensorError.missing("no op named \(spec.op)") }
        return try f(spec)
    }
}
