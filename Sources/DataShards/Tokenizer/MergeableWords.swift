/// Every distinct training word as a run of token ids in one flat array; merges shrink the runs in place.
struct MergeableWords {
    private(set) var symbols: [UInt32] = []
    let start: [Int]
    private(set) var length: [Int]
    /// How often each word occurs in the corpus.
    let freq: [Int]
    /// Per word, the last merge step that rewrote it: a pair's word list may name a word twice.
    private var seenInStep: [Int32]
    private var step: Int32 = 0

    init(_ words: WordCounter, byteId: [UInt32]) {
        let wordCount = words.distinctCount
        symbols.reserveCapacity(words.arena.count)
        var start = [Int](repeating: 0, count: wordCount)
        var length = [Int](repeating: 0, count: wordCount)
        for e in 0..<wordCount {
            start[e] = symbols.count
            for b in words.word(e) { symbols.append(byteId[Int(b)]) }
            length[e] = symbols.count - start[e]
        }
        self.start = start
        self.length = length
        freq = words.counts
        seenInStep = [Int32](repeating: -1, count: wordCount)
    }

    var wordCount: Int { start.count }

    /// Replaces each adjacent (a, b) by `c` in the words at `positions`, moving the counts of the pairs around
    /// each replacement from a and b to c and noting in `pairs` where the pairs with c occur.
    mutating func merge(_ a: UInt32, _ b: UInt32, into c: UInt32, inWords positions: [Int32], pairs: inout PairQueue) {
        step += 1
        symbols.withUnsafeMutableBufferPointer { sym in
            for w32 in positions {
                let w = Int(w32)
                if seenInStep[w] == step { continue } // positions may repeat a word
                seenInStep[w] = step
                let s = start[w]
                var n = length[w]
                let f = freq[w]
                var i = 0
                while i < n {
                    if sym[s + i] == a && i + 1 < n && sym[s + i + 1] == b {
                        if i > 0 {
                            let prev = UInt64(sym[s + i - 1])
                            pairs.pairCounts[prev << 32 | UInt64(a), default: 0] -= f
                            let np = prev << 32 | UInt64(c)
                            pairs.pairCounts[np, default: 0] += f
                            pairs.whereToUpdate[np, default: []].append(w32)
                        }
                        sym[s + i] = c
                        var k = i + 1
                        while k < n - 1 {
                            sym[s + k] = sym[s + k + 1]
                            k += 1
                        }
                        n -= 1
                        if i < n - 1 {
                            let next = UInt64(sym[s + i + 1])
                            pairs.pairCounts[UInt64(b) << 32 | next, default: 0] -= f
                            let np = UInt64(c) << 32 | next
                            pairs.pairCounts[np, default: 0] += f
                            pairs.whereToUpdate[np, default: []].append(w32)
                        }
                    }
                    i += 1
                }
                length[w] = n
            }
        }
    }
}
