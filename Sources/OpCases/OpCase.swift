import Tensor

/// A parity/benchmark case file: .cache/vectors/<suite>/<case>.safetensors (tools/reference/vectors.py).
/// Runtime inputs are the tensors named by params "inputs" (a list), else "x", else "x0", "x1", ...;
/// reference outputs are the tensors "expected.<output>", compared in the order params "outputs"
/// lists them, else "y" first and the rest by name (a kernel's `runAll` returns them in that order).
/// Every other tensor is a weight, found by its role name. Image activations are NHWC; weights are in PyTorch layout (conv OIHW,
/// linear [out, in]).
public struct OpCase: @unchecked Sendable {
    public let spec: OpSpec
    public let inputs: [Tensor]
    public let expected: [(name: String, tensor: Tensor)]
    public let file: SafeTensorsFile

    public init(path: String) throws {
        file = try SafeTensorsFile(path: path)
        guard let op = file.metadata["op"] else { throw TensorError.missing("\(path): metadata \"op\"") }
        let params = try JSON(parsing: file.metadata["params"] ?? "{}")
        let f = file
        func names(_ key: String) throws -> [String]? {
            guard let v = params[key] else { return nil }
            guard let a = v.array, case let s = a.compactMap(\.string), s.count == a.count
            else { throw TensorError.invalid("\(path): params \(key) must be a list of tensor names") }
            return s
        }
        var inputNames = try names("inputs") ?? []
        if inputNames.isEmpty {
            if f.contains("x") { inputNames = ["x"] } else { var i = 0; while f.contains("x\(i)") { inputNames.append("x\(i)"); i += 1 } }
        }
        inputs = try inputNames.map { try f.tensor($0) }
        let prefix = "expected."
        let present = f.names.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
        let outputNames = try names("outputs") ?? present.sorted { ($0 == "y" ? "" : $0) < ($1 == "y" ? "" : $1) }
        guard !outputNames.isEmpty else { throw TensorError.missing("\(path): no expected.* tensor") }
        expected = try outputNames.map { (name: $0, tensor: try f.tensor(prefix + $0)) }
        spec = OpSpec(op: op, params: params, lookup: { f.contains($0) ? try f.tensor($0) : nil })
    }

    public func makeKernel() throws -> any Kernel { try OpRegistry.make(spec) }
}
