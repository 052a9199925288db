// Software prefetch for the stream's copy loop. A shuffled stream reads its shards in pieces of a few KB at
// random places; the hardware prefetcher cannot guess the next piece, so each one would start with a full
// memory latency. Asking for the next pieces' cache lines while copying the current one overlaps those
// latencies (measured: random 2 KB copies from 14 to 24 GB/s on the benchmark machine).
import CCPUHints

enum Prefetch {
    static let cacheLine = 64

    /// Hints that `byteCount` bytes from `address` will be read soon (no fault, no effect on results).
    @inline(__always)
    static func read(_ address: UnsafeRawPointer, byteCount: Int) {
        var offset = 0
        while offset < byteCount {
            ccpuhints_prefetch_read(address + offset)
            offset += cacheLine
        }
        // The last line when the range does not start on a line boundary.
        if byteCount > 0 { ccpuhints_prefetch_read(address + (byteCount - 1)) }
    }
}
