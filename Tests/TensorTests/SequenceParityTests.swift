import Foundation
import OpCases
import XCTest
@testable import Tensor

/// LSTM, TCN TemporalBlock and Mamba against the numpy references (tools/reference/sequence.py,
/// vectors written by tools/reference/sequence_vectors.py into .cache/vectors/sequence).
/// Bound: max |swift - numpy| <= 1e-4 and <= 1e-5 * max |numpy| over each output (outputs here are
/// O(0.04..3), so the relative bound is the tighter one, for the small-valued Mamba cases above all).
final class SequenceParityTests: XCTestCase {
    static let folder = Parity.root.appendingPathComponent("sequence")

    func testEveryCaseMatchesNumpy() throws {
        var perOp: [String: Int] = [:]
        let arena = Arena()
        for path in try Parity.cases("sequence") {
            let c = try OpCase(path: path)
            perOp[c.spec.op, default: 0] += 1
            arena.reset()
            let outputs = try c.makeKernel().runAll(c.inputs, arena)
            XCTAssertEqual(outputs.count, c.expected.count, path)
            for (out, exp) in zip(outputs, c.expected) {
                XCTAssertEqual(out.shape, exp.tensor.shape, "\(path) \(exp.name)")
                guard out.shape == exp.tensor.shape else { continue }
                var err: Float = 0, peak: Float = 0
                for i in 0..<out.count {
                    err = max(err, abs(out.data[i] - exp.tensor.data[i]))
                    peak = max(peak, abs(exp.tensor.data[i]))
                }
                XCTAssertLessThanOrEqual(err, 1e-4, "\(path) \(exp.name)")
                XCTAssertLessThanOrEqual(err, 1e-5 * peak, "\(path) \(exp.name): max |err| \(err), max |ref| \(peak)")
            }
        }
        // The generator's case list: a missing family would otherwise pass silently.
        XCTAssertEqual(perOp, ["lstm": 5, "tcn_block": 6, "mamba": 5])
    }

    /// A stream cut in two chunks, carrying (h, c) across, gives the same output as one pass.
    func testLSTMStateCarriesAcrossChunks() throws {
        let c = try OpCase(path: Self.folder.appendingPathComponent("lstm_b3_t300_uni_state.safetensors").path)
        let kernel = try XCTUnwrap(try c.makeKernel() as? LSTMKernel)
        let x = c.inputs[0], (B, T, I) = (x.dim(0), x.dim(1), x.dim(2)), split = 137
        func slice(_ from: Int, _ to: Int) -> Tensor {
            let t = Tensor(zeros: [B, to - from, I])
            for b in 0..<B { (t.data + b * (to - from) * I).update(from: x.data + (b * T + from) * I, count: (to - from) * I) }
            return t
        }
        let arena = Arena()
        let first = try kernel.forward(slice(0, split), h0: c.inputs[1], c0: c.inputs[2], arena)
        let second = try kernel.forward(slice(split, T), h0: first.h, c0: first.c, arena)
        let whole = try kernel.forward(x, h0: c.inputs[1], c0: c.inputs[2], arena)
        let H = kernel.hidden
        var err: Float = 0
        for b in 0..<B {
            for t in 0..<T {
                let part = t < split ? first.y.data + (b * split + t) * H : second.y.data + (b * (T - split) + t - split) * H
                for j in 0..<H { err = max(err, abs(part[j] - whole.y.data[(b * T + t) * H + j])) }
            }
        }
        XCTAssertLessThanOrEqual(err, 1e-6)
        for j in 0..<B * H { XCTAssertEqual(second.h.data[j], whole.h.data[j], accuracy: 1e-6) }
    }

    /// The engine-wide rules too: scaled error <= 1e-4, and a second run on a reset arena allocates nothing.
    func testEngineParityRules() throws {
        XCTAssertEqual(try Parity.run(suite: "sequence"), 16)
        // Split across two threads (GEMM rows, Mamba conv rows and scan blocks, LSTM directions).
        Engine.configure(intraOpThreads: 2)
        defer { Engine.configure(intraOpThreads: 1) }
        XCTAssertEqual(try Parity.run(suite: "sequence"), 16)
    }

    /// Wrong shapes, empty sequences and missing tensors are errors, never traps.
    func testMalformedInputsThrow() throws {
        let arena = Arena()
        for name in ["mamba_b3_t7_mambava", "lstm_b3_t7_bi", "tcn_b3_t7_k15_d2_down"] {
            let c = try OpCase(path: Self.folder.appendingPathComponent(name + ".safetensors").path)
            let kernel = try c.makeKernel()
            let x = c.inputs[0]
            XCTAssertThrowsError(try kernel.run([Tensor(zeros: [x.dim(0), x.dim(1), x.dim(2) + 1])], arena), name)
            XCTAssertThrowsError(try kernel.run([Tensor(zeros: [x.dim(0), 0, x.dim(2)])], arena), name)
            XCTAssertThrowsError(try kernel.run([Tensor(zeros: [x.dim(1), x.dim(2)])], arena), name)
            XCTAssertThrowsError(try kernel.run([x, x], arena), name)
            // Every weight is required, except the optional biases.
            for missing in c.file.names where !missing.hasPrefix("expected.") {
                if ["x", "h0", "c0", "conv1d.bias"].contains(missing) { continue }
                let spec = OpSpec(
                    op: c.spec.op, params: c.spec.params,
                    lookup: { $0 == missing ? nil : try c.spec.lookup($0) })
                XCTAssertThrowsError(try OpRegistry.make(spec), "\(name) without \(missing)")
            }
        }
        // Hyper-parameters come from manifests: absurd values are refused, not overflowed.
        for (name, key, value) in [
            ("lstm_b3_t7_bi", "hidden_size", 1 << 62), ("lstm_b3_t7_bi", "num_layers", 0),
            ("tcn_b3_t7_k15_d2_down", "dilation", -2), ("tcn_b3_t7_k15_d2_down", "dilation", 1 << 40),
            ("mamba_b3_t7_mambava", "d_state", 0), ("mamba_b3_t7_mambava", "expand", 1 << 61),
        ] {
            let c = try OpCase(path: Self.folder.appendingPathComponent(name + ".safetensors").path)
            var params = c.spec.params.object ?? [:]
            params[key] = .number(Double(value))
            XCTAssertThrowsError(
                try OpRegistry.make(OpSpec(op: c.spec.op, params: .object(params), lookup: c.spec.lookup)),
                "\(name) with \(key) = \(value)")
        }
        let lstm = try OpCase(path: Self.folder.appendingPathComponent("lstm_b3_t7_bi_2layer_state.safetensors").path)
        let k = try lstm.makeKernel()
        XCTAssertThrowsError(try k.runAll([lstm.inputs[0], Tensor(zeros: [4, 3, 5]), lstm.inputs[2]], arena))
        XCTAssertThrowsError(try k.runAll([lstm.inputs[0], lstm.inputs[1]], arena))
    }

    /// A manifest block may name its tensors by a common prefix instead of one by one.
    func testPrefixResolvesStateDictNames() throws {
        let c = try OpCase(path: Self.folder.appendingPathComponent("mamba_b3_t7_mambava.safetensors").path)
        var params = c.spec.params.object ?? [:]
        params["prefix"] = .string("temporal.0.")
        let spec = OpSpec(
            op: "mamba", params: .object(params),
            lookup: { name in
                name.hasPrefix("temporal.0.") ? try c.spec.lookup(String(name.dropFirst("temporal.0.".count))) : nil
            })
        let arena = Arena()
        let y = try OpRegistry.make(spec).run(c.inputs, arena)
        let expected = c.expected[0].tensor
        for i in 0..<y.count { XCTAssertEqual(y.data[i], expected.data[i], accuracy: 1e-5) }
    }

    /// The vector math of the recurrences against libm over their working ranges.
    func testVectorMathAgainstLibm() {
        var worst: [String: Double] = [:]
        var v: Float = -30
        while v < 30 {
            let x = Float8((0..<8).map { v + Float($0) * 0.00731 })
            let r: [(String, Float8, (Double) -> Double)] = [
                ("exp", exp8(x), { Foundation.exp($0) }),
                ("sigmoid", sigmoid8(x), { 1 / (1 + Foundation.exp(-$0)) }),
                ("tanh", tanh8(x), { Foundation.tanh($0) }),
                ("silu", silu8(x), { $0 / (1 + Foundation.exp(-$0)) }),
                ("softplus", softplus8(x), { $0 > 30 ? $0 : Foundation.log1p(Foundation.exp($0)) }),
            ]
            for (name, got, f) in r {
                for i in 0..<8 {
                    let want = f(Double(x[i]))
                    // Error relative to max(1, |f|): absolute for the bounded functions, relative for
                    // exp, softplus and silu where float32 itself cannot do better at large x.
                    let e = abs(Double(got[i]) - want) / (name == "exp" ? want : max(1, abs(want)))
                    worst[name] = max(worst[name] ?? 0, e)
                }
            }
            v += 0.0577
        }
        for name in ["exp", "sigmoid", "tanh", "softplus", "silu"] { XCTAssertLessThan(worst[name]!, 5e-7, "\(name): \(worst)") }
        let logs = log8(Float8(1, 1.1, 1.3, 1.5, 1.7, 1.9, 1.99, 2))
        for i in 0..<8 { XCTAssertEqual(Double(logs[i]), Foundation.log(Double(Float8(1, 1.1, 1.3, 1.5, 1.7, 1.9, 1.99, 2)[i])), accuracy: 2e-7) }
    }
}
