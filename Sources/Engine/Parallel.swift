import Dispatch
import Primitives

/// A pointer that may cross into `concurrentPerform` workers. Each worker touches disjoint rows, so
/// sharing is safe; the type exists only to say so to the compiler.
struct SharedPointer<T>: @unchecked Sendable {
    let base: UnsafeMutablePointer<T>
    init(_ base: UnsafeMutablePointer<T>) { self.base = base }
}

/// Row-parallel loops for the non-matrix kernels (`parallelChunks`: fixed contiguous chunks, every row computed
/// by exactly one worker, so results do not depend on the thread count). At least 16 rows a thread by default:
/// below that a kernel's row costs less than waking a thread.
enum Parallel {
    static func forRows(_ rows: Int, threads: Int, minimumRowsPerThread: Int = 16, _ body: (Range<Int>) -> Void) {
        parallelChunks(rows, threads: max(1, threads), minimumPerThread: minimumRowsPerThread, body)
    }
}
