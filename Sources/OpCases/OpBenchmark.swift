#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Tensor

/// Times one op case (a vector-format file) the way inference runs it: kernel prepared once,
/// each iteration = arena reset + run. Used by `affectd-bench bench-op` and benchmarks/runtime.py.
public enum OpBenchmark {
    public struct Result: Sendable {
        public let op: String
        public let threads: Int
        public let coreName: String
        public let timesMs: [Double]
        /// Max |ours - reference| over the case's expected outputs (nil when it has none).
        public let maxError: Float?
        /// Median process CPU time per iteration (all threads): less sensitive to a busy machine.
        public let cpuMs: [Double]
        public var medianCpuMs: Double { let s = cpuMs.sorted(); return s.isEmpty ? .nan : s[s.count / 2] }
        public var medianMs: Double { let s = timesMs.sorted(); return s.isEmpty ? .nan : s[s.count / 2] }
        public var minMs: Double { timesMs.min() ?? .nan }

        public var json: String {
            var fields: [String: JSON] = [
                "op": .string(op), "threads": .number(Double(threads)), "corename": .string(coreName), "gemm_tile": .string(Engine.gemmTile),
                "median_ms": .number(medianMs), "min_ms": .number(minMs), "median_cpu_ms": .number(medianCpuMs),
                "iters": .number(Double(timesMs.count)),
                "times_ms": .array(timesMs.map { .number(($0 * 1e4).rounded() / 1e4) }),
            ]
            if let maxError { fields["max_err"] = .number(Double(maxError)) }
            return JSON.object(fields).serialized
        }
    }

    /// - Parameters: threads: the engine's intra-op threads for this process (`Engine.configure`).
    public static func run(casePath: String, threads: Int, iterations: Int, warmup: Int = 3) throws -> Result {
        Engine.configure(intraOpThreads: threads)
        let c = try OpCase(path: casePath)
        let kernel = try c.makeKernel()
        let arena = Arena()
        var maxError: Float?
        for _ in 0..<max(warmup, 1) {
            arena.reset()
            let outs = try kernel.runAll(c.inputs, arena)
            for (o, e) in zip(outs, c.expected) where o.count == e.tensor.count {
                var m: Float = maxError ?? 0
                for i in 0..<o.count { m = max(m, abs(o.data[i] - e.tensor.data[i])) }
                maxError = m
            }
        }
        var times: [Double] = [], cpu: [Double] = []
        times.reserveCapacity(iterations)
        cpu.reserveCapacity(iterations)
        for _ in 0..<max(iterations, 1) {
            arena.reset()
            let c0 = seconds(CLOCK_PROCESS_CPUTIME_ID), t0 = seconds(CLOCK_MONOTONIC)
            _ = try kernel.runAll(c.inputs, arena)
            times.append((seconds(CLOCK_MONOTONIC) - t0) * 1000)
            cpu.append((seconds(CLOCK_PROCESS_CPUTIME_ID) - c0) * 1000)
        }
        return Result(op: c.spec.op, threads: threads, coreName: BLAS.coreName, timesMs: times, maxError: maxError, cpuMs: cpu)
    }

    static func seconds(_ clock: clockid_t) -> Double {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
