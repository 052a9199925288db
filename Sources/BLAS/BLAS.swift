// BLAS: the one Swift module that touches OpenBLAS (through the `COpenBLAS` system target).
// Row-major single-precision matrix products plus the thread-count knob; everything the compute
// engine multiplies goes through `BLAS.sgemm`. Callers own the buffers; this module only checks shapes.
import COpenBLAS

/// A matrix operand transposition, as seen by `sgemm`.
public enum Transpose: Sendable {
    case none
    case transposed

    var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
}

public enum BLAS {
    /// `C = alpha * op(A) * op(B) + beta * C`, all row-major.
    /// `op(A)` is `m x k`, `op(B)` is `k x n`, `C` is `m x n`; `lda`, `ldb`, `ldc` are row strides
    /// (in elements) of the matrices as stored, so sub-matrices of wider buffers can be used in place.
    @inline(__always)
    public static func sgemm(
        _ transA: Transpose, _ transB: Transpose,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "sgemm: negative dimension m=\(m) n=\(n) k=\(k)")
        precondition(lda >= max(1, transA == .none ? k : m), "sgemm: lda=\(lda) too small")
        precondition(ldb >= max(1, transB == .none ? n : k), "sgemm: ldb=\(ldb) too small")
        precondition(ldc >= max(1, n), "sgemm: ldc=\(ldc) too small")
        if m == 0 || n == 0 { return }
        cblas_sgemm(
            CblasRowMajor, transA.cblas, transB.cblas,
            blasint(m), blasint(n), blasint(k),
            alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    /// `y += alpha * x` over `n` contiguous elements.
    public static func saxpy(n: Int, alpha: Float, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        cblas_saxpy(blasint(n), alpha, x, 1, y, 1)
    }

    /// Dot product of `n` contiguous elements.
    public static func sdot(n: Int, x: UnsafePointer<Float>, y: UnsafePointer<Float>) -> Float {
        cblas_sdot(blasint(n), x, 1, y, 1)
    }

    /// Number of threads OpenBLAS uses for one call (process-wide setting).
    public static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// OpenBLAS build description (core type, threading), for benchmark reports.
    public static var configuration: String {
        guard let raw = openblas_get_config() else { return "unknown" }
        return String(cString: raw)
    }
}
