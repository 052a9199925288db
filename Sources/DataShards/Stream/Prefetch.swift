// Software prefetch for the stream's copy loop. A shuffled stream reads its shards in pieces of a few KB at
// random places; the hardware prefetcher cannot guess the next piece, so each one would start with a full
// memory latency. Asking for the next pieces' cache lines while copying the current one overlaps those
// latencies (measured: random 2 KB copies from 14 to 24 GB/s on the benchmark machine).
import CCPUHints

/// Public so that StreamBench can measure, with the same hints, what the machine's memory gives for random pieces.
public enum Prefetch {
    static let cacheLine = 64

    /// Hints that `byteCount` bytes from `address` will be read soon (no fault, no effect on results).
    @inline(__always)
    public static func read(_ address: UnsafeRawPointer, byteCount: Int) {
        var offset = 0
        while offset < byteCount {
            ccpuhints_prefetch_read(address + offset)
            offset += cacheLine
        }
        // The last line when the range does not start on a line boundary.
        if byteCount > 0 { ccpuhints_prefetch_read(address + (byteCount - 1)) }
    }

    /// Hints that a piece at `address` will be read a little later: one line, to the outer caches. Its
    /// worth is the page-table walk it starts (a shuffled stream touches a new 4 KB page nearly every
    /// piece): measured on random 2 KB copies, all lines 2 pieces ahead plus this 8 ahead ran ~13% faster
    /// than all lines 2 ahead alone (81-85 against 94 ns per piece).
    @inline(__always)
    public static func warm(_ address: UnsafeRawPointer) {
        ccpuhints_prefetch_far(address)
    }
}
