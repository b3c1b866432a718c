import COpenBLAS

/// C[m, n] = A[m, k] B[n, k]^T + beta C (row-major): every projection here multiplies activation rows
/// by a PyTorch weight stored [out, in].
@inlinable
func sgemmNT(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
             beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(lda),
                b, Int32(ldb), beta, c, Int32(ldc))
}

func expectShape(_ t: Tensor, _ dims: [Int], _ what: String) throws {
    guard t.shape.dims == dims else { throw TensorError.shape("\(what) has shape \(t.shape), expected \(dims)") }
}
