// Applies merges to one pre-token, lowest rank first and leftmost among equal ranks (exactly the order of
// the HF `tokenizers` BPE model). Short pieces: a min-rank scan over a small array (tiktoken style).
// Long pieces (long whitespace or letter runs): a heap over a linked list, O(n log n).

/// Per-encoder scratch memory for merging; not shared between threads.
final class BytePairMerger {
    static let scanLimit = 128
    private let ranks = UnsafeMutablePointer<UInt32>.allocate(capacity: scanLimit)
    private let merged = UnsafeMutablePointer<UInt32>.allocate(capacity: scanLimit)

    deinit {
        ranks.deallocate()
        merged.deallocate()
    }

    /// Merges `ids` (initially one id per byte) in place.
    func merge(_ ids: inout [UInt32], _ table: PairRankView) {
        if ids.count < 2 { return }
        if ids.count <= Self.scanLimit {
            let n = ids.withUnsafeMutableBufferPointer { mergeByScan($0.baseAddress!, $0.count, table) }
            ids.removeLast(ids.count - n)
        } else {
            Self.mergeByHeap(&ids, table)
        }
    }

    /// Returns the new count.
    private func mergeByScan(_ id: UnsafeMutablePointer<UInt32>, _ count: Int, _ table: PairRankView) -> Int {
        var n = count
        let rk = ranks
        let mg = merged
        for i in 0..<(n - 1) { (rk[i], mg[i]) = table.lookup(id[i], id[i + 1]) }
        while n > 1 {
            var best = PairRankTable.noRank
            var at = -1
            for i in 0..<(n - 1) where rk[i] < best {
                best = rk[i]
                at = i
            }
            if at < 0 { break }
            id[at] = mg[at]
            // Remove position at+1.
            var k = at + 1
            while k < n - 1 {
                id[k] = id[k + 1]
                rk[k] = rk[k + 1]
                mg[k] = mg[k + 1]
                k += 1
            }
            n -= 1
            if at > 0 { (rk[at - 1], mg[at - 1]) = table.lookup(id[at - 1], id[at]) }
            if at < n - 1 { (rk[at], mg[at]) = table.lookup(id[at], id[at + 1]) } else { rk[at] = PairRankTable.noRank }
        }
        return n
    }

    private static func mergeByHeap(_ ids: inout [UInt32], _ table: PairRankView) {
        let n = ids.count
        var prev = [Int](0..<n).map { $0 - 1 }
        var next = [Int](0..<n).map { $0 + 1 == n ? -1 : $0 + 1 }
        var alive = [Bool](repeating: true, count: n)
        // Min-heap of (rank << 32 | position): lower rank first, then leftmost.
        var heap = BinaryHeap<UInt64>()
        for i in 0..<(n - 1) {
            let r = table.lookup(ids[i], ids[i + 1]).rank
            if r != PairRankTable.noRank { heap.push(UInt64(r) << 32 | UInt64(i)) }
        }
        while let top = heap.pop() {
            let rank = UInt32(top >> 32)
            let pos = Int(top & 0xFFFF_FFFF)
            guard alive[pos], next[pos] >= 0 else { continue }
            let right = next[pos]
            let m = table.lookup(ids[pos], ids[right])
            guard m.rank == rank else { continue } // stale entry
            ids[pos] = m.merged
            alive[right] = false
            next[pos] = next[right]
            if next[right] >= 0 { prev[next[right]] = pos }
            if prev[pos] >= 0 {
                let r = table.lookup(ids[prev[pos]], ids[pos]).rank
                if r != PairRankTable.noRank { heap.push(UInt64(r) << 32 | UInt64(prev[pos])) }
            }
            if next[pos] >= 0 {
                let r = table.lookup(ids[pos], ids[next[pos]]).rank
                if r != PairRankTable.noRank { heap.push(UInt64(r) << 32 | UInt64(pos)) }
            }
        }
        var out: [UInt32] = []
        out.reserveCapacity(n)
        var i = 0
        while i >= 0 {
            out.append(ids[i])
            i = next[i]
        }
        ids = out
    }
}
