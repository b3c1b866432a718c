import COpenBLAS

/// OpenBLAS settings for the whole process. Policy (docs/engine.md, `Engine.configure`): OpenBLAS
/// runs single-threaded and the engine splits GEMMs by rows across its own intra-op threads.
public enum BLAS {
    /// Sets OpenBLAS's thread count (its pool is process-wide).
    public static func setThreads(_ n: Int) {
        openblas_set_num_threads(Int32(max(1, n)))
    }

    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// The kernel family OpenBLAS picked for this CPU (e.g. "Haswell", or "SkylakeX" when
    /// OPENBLAS_CORETYPE=SkylakeX is set before the process starts): log it at start.
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    /// C[m x n] = A[m x k] * B (B is [k x n], or [n x k] when `transB`), all row-major, C overwritten
    /// (or added to when `accumulate`). With `Engine.intraOpThreads` > 1 and single-threaded
    /// OpenBLAS (`Engine.configure`), tall products are split by rows of A and C across the
    /// engine's threads: each part is a whole single-threaded sgemm, no OpenBLAS thread pool.
    @inline(__always)
    static func gemm(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, transB: Bool = false,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false
    ) {
        @inline(__always) func part(_ rows: Range<Int>) {
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(rows.count), Int32(n), Int32(k), 1, a + rows.lowerBound * lda, Int32(lda), b, Int32(ldb),
                accumulate ? 1 : 0, c + rows.lowerBound * ldc, Int32(ldc))
        }
        if Engine.intraOpThreads > 1 && m >= 128 && openblas_get_num_threads() == 1 {
            Engine.parallelRanges(m, minimumPerPart: 64) { part($0) }
        } else {
            part(0..<m)
        }
    }
}
