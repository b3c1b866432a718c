import Dispatch

/// Process-wide engine settings. Threading policy (docs/engine.md): worker threads x intra-op
/// threads never exceed the cores; OpenBLAS stays single-threaded and the engine splits work
/// itself. The service runs one worker per core with `intraOpThreads = 1`; a single-stream tool
/// may give one inference all cores.
public enum Engine {
    /// Threads one op is split across (depthwise conv, small linear, and sgemm by rows). Set at
    /// start-up through `configure`.
    nonisolated(unsafe) public static var intraOpThreads = 1

    /// The threading policy in one call: each op may use `intraOpThreads` threads, all of them the
    /// engine's own (GEMMs split by rows); OpenBLAS itself stays single-threaded, so its spinning
    /// pool never competes with the workers. Call once before inference starts; with W workers,
    /// pass cores / W.
    public static func configure(intraOpThreads n: Int) {
        intraOpThreads = max(1, n)
        BLAS.setThreads(1)
        configured = true
    }

    nonisolated(unsafe) private static var configured = false

    /// Applies the default policy (1 intra-op thread, single-threaded OpenBLAS) unless `configure`
    /// ran first: OpenBLAS would otherwise start one spinning thread per core in every process.
    /// Called whenever a kernel is built.
    static let applyDefaultPolicy: Void = {
        if !configured { configure(intraOpThreads: 1) }
    }()

    /// Runs body(0..<parts) on up to `intraOpThreads` threads, each part a contiguous range of
    /// `0..<count`; inline when one thread suffices.
    @inline(__always)
    static func parallelRanges(_ count: Int, minimumPerPart: Int = 1, _ body: (Range<Int>) -> Void) {
        let parts = min(intraOpThreads, max(1, count / max(minimumPerPart, 1)))
        if parts <= 1 { body(0..<count); return }
        // The parts write disjoint output ranges; the body only borrows the caller's pointers.
        withoutActuallyEscaping(body) { f in
            let part = UncheckedClosure(f)
            DispatchQueue.concurrentPerform(iterations: parts) { p in
                part.call((count * p / parts)..<(count * (p + 1) / parts))
            }
        }
    }
}

private struct UncheckedClosure: @unchecked Sendable {
    let call: (Range<Int>) -> Void
    init(_ f: @escaping (Range<Int>) -> Void) { call = f }
}
