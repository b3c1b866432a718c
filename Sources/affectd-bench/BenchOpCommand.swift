import ArgumentParser
import OpCases
import Tensor

/// `affectd-bench bench-op --case FILE --threads N --iters K`: times one engine op (a parity-vector
/// format file: op, params, inputs, weights) and prints JSON (median/min wall ms, median CPU ms,
/// every iteration, max error against the case's reference, OpenBLAS core name). Driven by benchmarks/runtime.py next to onnxruntime.
struct BenchOpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-op", abstract: "Time one neural-engine op from a case file (JSON out).")

    @Option(name: .customLong("case"), help: "Case file (.safetensors with metadata op and params).") var casePath: String
    @Option(help: "Intra-op threads (OpenBLAS itself stays single-threaded; docs/engine.md).") var threads: Int = 1
    @Option(help: "Timed iterations.") var iters: Int = 50
    @Option(help: "Untimed warm-up iterations.") var warmup: Int = 5

    func run() throws {
        guard threads >= 1, iters >= 1, warmup >= 0 else { throw ValidationError("threads and iters must be >= 1") }
        let result = try OpBenchmark.run(casePath: casePath, threads: threads, iterations: iters, warmup: warmup)
        print(result.json)
    }
}
