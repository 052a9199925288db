import Foundation
import Primitives

/// Trains a byte-level BPE tokenizer with the semantics of the Hugging Face `BpeTrainer`
/// (`initial_alphabet = ByteLevel.alphabet()`, `min_frequency`, no `limit_alphabet`):
/// ids 0..<k are the special tokens in the order given, then the 256 byte tokens in the order of their
/// printable code points, then one token per merge. Each step merges the most frequent adjacent pair,
/// ties broken by the smaller (left id, right id), until the vocabulary has `vocabularySize` tokens.
/// Feed text with `add`; words are counted as they come, so memory is bounded by the distinct words.
public struct BPETrainer {
    public let vocabularySize: Int
    public let specialTokens: [String]
    public let splitPattern: SplitPattern
    /// Pairs seen fewer times than this are never merged (HF `min_frequency`; 0 and 1 mean "at least once").
    public let minFrequency: Int
    var words = WordCounter()

    public init(vocabularySize: Int, specialTokens: [String] = [], splitPattern: SplitPattern = .llama3,
                minFrequency: Int = 0) throws(TokenizerError) {
        guard vocabularySize >= 256 + specialTokens.count else {
            throw .invalidTrainingSettings("vocabularySize \(vocabularySize) must be at least 256 + \(specialTokens.count) special tokens")
        }
        guard vocabularySize <= Int(Int32.max) else { throw .invalidTrainingSettings("vocabularySize \(vocabularySize) is too large") }
        guard Set(specialTokens).count == specialTokens.count, !specialTokens.contains("") else {
            throw .invalidTrainingSettings("special tokens must be distinct and non-empty: \(specialTokens)")
        }
        self.vocabularySize = vocabularySize
        self.specialTokens = specialTokens
        self.splitPattern = splitPattern
        self.minFrequency = minFrequency
    }

    /// Number of distinct pre-tokens counted so far.
    public var distinctWords: Int { words.distinctCount }

    /// Counts the pre-tokens of one document. Special tokens in the text are not recognised (as in HF training).
    public mutating func add(_ text: String) {
        var text = text
        text.withUTF8 { buf in
            guard let base = buf.baseAddress else { return }
            let scanner = PreTokenScanner(base: base, count: buf.count)
            var i = 0
            while i < buf.count {
                let j = scanner.next(i, splitPattern)
                words.add(base + i, j - i)
                i = j
            }
        }
    }

    /// Counts documents on `threads` threads, then adds the counts (same result as `add` one by one).
    public mutating func add(documents: [String], threads: Int) {
        let threads = max(1, min(threads, documents.count))
        if threads == 1 { for d in documents { add(d) }; return }
        let pattern = splitPattern
        let partials = UnsafeMutableBufferPointer<WordCounter>.allocate(capacity: threads)
        partials.initialize(repeating: WordCounter())
        defer { partials.deinitialize(); partials.deallocate() }
        let box = UncheckedSendable(partials)
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            var local = try! BPETrainer(vocabularySize: 256, splitPattern: pattern)
            var k = t
            while k < documents.count { local.add(documents[k]); k += threads }
            box.value[t] = local.words
        }
        for t in 0..<threads { words.merge(partials[t]) }
    }

    /// Runs the merges and returns the tokenizer (special tokens become special added tokens).
    public func train() throws(TokenizerError) -> Tokenizer {
        let r = trainMerges()
        let added = specialTokens.enumerated().map { AddedToken(id: UInt32($0.offset), content: $0.element, special: true) }
        var vocab: [(token: String, id: UInt32)] = []
        for (i, s) in specialTokens.enumerated() { vocab.append((s, UInt32(i))) }
        for (i, bytes) in r.tokens.enumerated() where i >= specialTokens.count { vocab.append((ByteLevel.encode(bytes), UInt32(i))) }
        let merges = r.merges.map { (ByteLevel.encode(r.tokens[Int($0.0)]), ByteLevel.encode(r.tokens[Int($0.1)])) }
        return try Tokenizer(vocabulary: vocab, merges: merges, addedTokens: added, splitPattern: splitPattern)
    }

    struct HeapEntry {
        var count: Int
        var pair: UInt64
        var positions: Int  // index into `positionLists`
        /// Max-heap order: higher count first, then the smaller pair.
        @inline(__always) func before(_ o: HeapEntry) -> Bool { count != o.count ? count > o.count : pair < o.pair }
    }

    func trainMerges() -> (tokens: [[UInt8]], merges: [(UInt32, UInt32)]) {
        var tokens: [[UInt8]] = specialTokens.map { Array($0.utf8) }
        var idOf: [[UInt8]: UInt32] = [:]
        for (i, t) in tokens.enumerated() { idOf[t] = UInt32(i) }
        // Byte alphabet, ordered by printable code point.
        var byteId = [UInt32](repeating: 0, count: 256)
        for b in (0..<256).sorted(by: { ByteLevel.byteToCodePoint[$0] < ByteLevel.byteToCodePoint[$1] }) {
            if let existing = idOf[[UInt8(b)]] { byteId[b] = existing; continue }
            byteId[b] = UInt32(tokens.count)
            idOf[[UInt8(b)]] = UInt32(tokens.count)
            tokens.append([UInt8(b)])
        }

        // Words as symbol sequences in one flat array.
        let wordCount = words.distinctCount
        var symbols: [UInt32] = []
        symbols.reserveCapacity(words.arena.count)
        var start = [Int](repeating: 0, count: wordCount)
        var length = [Int](repeating: 0, count: wordCount)
        let freq = words.counts
        for e in 0..<wordCount {
            start[e] = symbols.count
            for b in words.word(e) { symbols.append(byteId[Int(b)]) }
            length[e] = symbols.count - start[e]
        }

        var pairCounts: [UInt64: Int] = [:]
        var whereToUpdate: [UInt64: [Int32]] = [:]
        for w in 0..<wordCount where length[w] > 1 {
            let s = start[w]
            for k in 0..<(length[w] - 1) {
                let p = UInt64(symbols[s + k]) << 32 | UInt64(symbols[s + k + 1])
                pairCounts[p, default: 0] += freq[w]
                whereToUpdate[p, default: []].append(Int32(w))
            }
        }
        var positionLists: [[Int32]] = []
        var heap: [HeapEntry] = []
        func push(_ e: HeapEntry) {
            heap.append(e)
            var i = heap.count - 1
            while i > 0 {
                let parent = (i - 1) >> 1
                if !heap[i].before(heap[parent]) { break }
                heap.swapAt(i, parent); i = parent
            }
        }
        func pop() -> HeapEntry? {
            guard let last = heap.popLast() else { return nil }
            if heap.isEmpty { return last }
            let top = heap[0]
            heap[0] = last
            var i = 0
            let n = heap.count
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < n && heap[l].before(heap[m]) { m = l }
                if r < n && heap[r].before(heap[m]) { m = r }
                if m == i { break }
                heap.swapAt(m, i); i = m
            }
            return top
        }
        func flushUpdates() {
            for (pair, positions) in whereToUpdate {
                let c = pairCounts[pair] ?? 0
                if c > 0 {
                    positionLists.append(positions)
                    push(HeapEntry(count: c, pair: pair, positions: positionLists.count - 1))
                }
            }
            whereToUpdate.removeAll(keepingCapacity: true)
        }
        flushUpdates()

        var merges: [(UInt32, UInt32)] = []
        var seenInStep = [Int32](repeating: -1, count: wordCount)
        var step: Int32 = 0
        while tokens.count < vocabularySize {
            guard var top = pop() else { break }
            let current = pairCounts[top.pair] ?? 0
            if top.count != current {
                top.count = current
                push(top)
                continue
            }
            if top.count < 1 || minFrequency > top.count { break }
            let a = UInt32(truncatingIfNeeded: top.pair >> 32), b = UInt32(truncatingIfNeeded: top.pair)
            let newBytes = tokens[Int(a)] + tokens[Int(b)]
            let c: UInt32
            if let existing = idOf[newBytes] { c = existing } else {
                c = UInt32(tokens.count)
                tokens.append(newBytes)
                idOf[newBytes] = c
            }
            merges.append((a, b))
            step += 1
            let positions = positionLists[top.positions]
            positionLists[top.positions] = []
            symbols.withUnsafeMutableBufferPointer { sym in
                for w32 in positions {
                    let w = Int(w32)
                    if seenInStep[w] == step { continue }  // positions may repeat a word
                    seenInStep[w] = step
                    let s = start[w]
                    var n = length[w]
                    let f = freq[w]
                    var i = 0
                    while i < n {
                        if sym[s + i] == a && i + 1 < n && sym[s + i + 1] == b {
                            if i > 0 {
                                let prev = UInt64(sym[s + i - 1])
                                pairCounts[prev << 32 | UInt64(a), default: 0] -= f
                                let np = prev << 32 | UInt64(c)
                                pairCounts[np, default: 0] += f
                                whereToUpdate[np, default: []].append(w32)
                            }
                            sym[s + i] = c
                            var k = i + 1
                            while k < n - 1 { sym[s + k] = sym[s + k + 1]; k += 1 }
                            n -= 1
                            if i < n - 1 {
                                let next = UInt64(sym[s + i + 1])
                                pairCounts[UInt64(b) << 32 | next, default: 0] -= f
                                let np = UInt64(c) << 32 | next
                                pairCounts[np, default: 0] += f
                                whereToUpdate[np, default: []].append(w32)
                            }
                        }
                        i += 1
                    }
                    length[w] = n
                }
            }
            flushUpdates()
        }
        return (tokens, merges)
    }
}
