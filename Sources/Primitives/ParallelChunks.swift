import Dispatch

/// A value handed to `concurrentPerform` workers that the compiler cannot prove safe to share; the caller
/// guarantees it is (each worker touches disjoint elements, or only reads).
public struct UncheckedSendable<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}

/// Splits 0..<count into at most `threads` contiguous chunks of at least `minimumPerThread` (the last may be
/// shorter) and runs `body` once per chunk, on the calling thread when there is only one. Each index is in exactly
/// one chunk and chunk boundaries depend only on the arguments, so results do not depend on scheduling.
public func parallelChunks(_ count: Int, threads: Int, minimumPerThread: Int = 1, _ body: (Range<Int>) -> Void) {
    precondition(count >= 0 && threads >= 1, "parallelChunks needs count >= 0 and threads >= 1")
    let workers = min(threads, max(1, count / max(1, minimumPerThread)))
    if workers <= 1 {
        body(0..<count)
        return
    }
    let chunk = (count + workers - 1) / workers
    withoutActuallyEscaping(body) { body in
        let box = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let start = w * chunk
            let end = min(count, start + chunk)
            if start < end { box.value(start..<end) }
        }
    }
}
