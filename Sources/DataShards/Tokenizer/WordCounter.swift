#if canImport(Glibc)
    import Glibc
#endif

/// Counts distinct pre-tokens (byte strings) for training: an open-addressing table over a byte arena,
/// so counting millions of words allocates nothing per word.
struct WordCounter {
    private(set) var arena: [UInt8] = []
    private(set) var starts: [Int] = []
    private(set) var lengths: [Int32] = []
    private(set) var counts: [Int] = []
    private var hashes: [UInt64] = []
    private var slots: [Int32] = [Int32](repeating: -1, count: 1 << 16)

    var distinctCount: Int { counts.count }

    mutating func add(_ p: UnsafePointer<UInt8>, _ n: Int, count: Int = 1) {
        if counts.count * 2 >= slots.count { grow() }
        let h = PieceCache.hash(p, n)
        let mask = slots.count - 1
        var s = Int(truncatingIfNeeded: h) & mask
        while true {
            let e = Int(slots[s])
            if e < 0 { break }
            if hashes[e] == h && Int(lengths[e]) == n {
                let same = arena.withUnsafeBufferPointer { memcmp($0.baseAddress! + starts[e], p, n) == 0 }
                if same {
                    counts[e] += count
                    return
                }
            }
            s = (s + 1) & mask
        }
        slots[s] = Int32(counts.count)
        hashes.append(h)
        starts.append(arena.count)
        lengths.append(Int32(n))
        counts.append(count)
        arena.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
    }

    private mutating func grow() {
        var newSlots = [Int32](repeating: -1, count: slots.count * 2)
        let mask = newSlots.count - 1
        for e in 0..<hashes.count {
            var s = Int(truncatingIfNeeded: hashes[e]) & mask
            while newSlots[s] >= 0 { s = (s + 1) & mask }
            newSlots[s] = Int32(e)
        }
        slots = newSlots
    }

    /// Adds every word of another counter (used to combine per-thread counts).
    mutating func merge(_ other: WordCounter) {
        other.arena.withUnsafeBufferPointer { a in
            for e in 0..<other.counts.count {
                add(a.baseAddress! + other.starts[e], Int(other.lengths[e]), count: other.counts[e])
            }
        }
    }

    func word(_ e: Int) -> ArraySlice<UInt8> { arena[starts[e]..<(starts[e] + Int(lengths[e]))] }
}
