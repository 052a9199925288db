/// The training's adjacent-pair counts and a max-heap of pairs to merge next, with the words each pair occurs in.
/// Heap entries are not updated when a count changes: a popped entry whose count is out of date goes back with
/// the current count, so each merge touches the heap only for the pairs it created.
struct PairQueue {
    struct HeapEntry: HeapOrdered {
        var count: Int
        /// Left id << 32 | right id.
        var pair: UInt64
        var positions: Int // index into `positionLists`
        /// Max-heap order: higher count first, then the smaller pair.
        @inline(__always) func before(_ o: HeapEntry) -> Bool { count != o.count ? count > o.count : pair < o.pair }
    }

    /// Written directly by `MergeableWords.merge`, whose loop is the hot path of training.
    var pairCounts: [UInt64: Int] = [:]
    /// Words in which a pair appeared since the last `enqueueChangedPairs` (a word may be listed more than once).
    var whereToUpdate: [UInt64: [Int32]] = [:]
    private var positionLists: [[Int32]] = []
    private var heap = BinaryHeap<HeapEntry>()

    /// Counts every adjacent pair of every word (weighted by the word's count) and queues them.
    init(counting corpus: MergeableWords) {
        for w in 0..<corpus.wordCount where corpus.length[w] > 1 {
            let s = corpus.start[w]
            for k in 0..<(corpus.length[w] - 1) {
                let p = UInt64(corpus.symbols[s + k]) << 32 | UInt64(corpus.symbols[s + k + 1])
                pairCounts[p, default: 0] += corpus.freq[w]
                whereToUpdate[p, default: []].append(Int32(w))
            }
        }
        enqueueChangedPairs()
    }

    /// Queues every pair in `whereToUpdate` that still occurs, with the words it was noted in.
    mutating func enqueueChangedPairs() {
        for (pair, positions) in whereToUpdate {
            let c = pairCounts[pair] ?? 0
            if c > 0 {
                positionLists.append(positions)
                heap.push(HeapEntry(count: c, pair: pair, positions: positionLists.count - 1))
            }
        }
        whereToUpdate.removeAll(keepingCapacity: true)
    }

    /// The entry of the pair with the highest current count (ties: the smaller pair), nil when the queue is empty.
    mutating func popMostFrequent() -> HeapEntry? {
        while var top = heap.pop() {
            let current = pairCounts[top.pair] ?? 0
            if top.count == current { return top }
            top.count = current
            heap.push(top)
        }
        return nil
    }

    /// The words `entry` was queued with; its list is freed, since the entry is merged now and never queued again.
    mutating func takePositions(of entry: HeapEntry) -> [Int32] {
        let positions = positionLists[entry.positions]
        positionLists[entry.positions] = []
        return positions
    }
}
