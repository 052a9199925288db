import Dispatch

/// A pointer that may cross into `concurrentPerform` workers. Each worker touches disjoint rows, so
/// sharing is safe; the type exists only to say so to the compiler.
struct SharedPointer<T>: @unchecked Sendable {
    let base: UnsafeMutablePointer<T>
    init(_ base: UnsafeMutablePointer<T>) { self.base = base }
}

/// Row-parallel loops for the non-matrix kernels. Work is split into fixed contiguous chunks and every
/// row is computed by exactly one worker in a fixed order, so results do not depend on the thread count.
enum Parallel {
    static func forRows(_ rows: Int, threads: Int, minimumRowsPerThread: Int = 16,
                        _ body: (Range<Int>) -> Void) {
        let workers = min(threads, max(1, rows / max(1, minimumRowsPerThread)))
        if workers <= 1 {
            body(0..<rows)
            return
        }
        let chunk = (rows + workers - 1) / workers
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let start = w * chunk
                let end = min(rows, start + chunk)
                if start < end { box.value(start..<end) }
            }
        }
    }
}

struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
