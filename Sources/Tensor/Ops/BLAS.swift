import COpenBLAS

/// OpenBLAS settings for the whole process. Policy (docs/engine.md): worker threads x BLAS threads
/// never exceed the cores; the service runs N workers with 1 BLAS thread each, a single-stream
/// tool may give BLAS all cores. Set once at start, before inference begins.
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

    /// C[m x n] = A[m x k] * B (B is [k x n], or [n x k] when `transB`), all row-major, C overwritten.
    @inline(__always)
    static func gemm(m: Int, n: Int, k: Int,
                     a: UnsafePointer<Float>, lda: Int,
                     b: UnsafePointer<Float>, ldb: Int, transB: Bool = false,
                     c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb),
                    accumulate ? 1 : 0, c, Int32(ldc))
    }
}
