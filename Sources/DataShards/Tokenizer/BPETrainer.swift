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

    public init(
        vocabularySize: Int, specialTokens: [String] = [], splitPattern: SplitPattern = .llama3,
        minFrequency: Int = 0
    ) throws(TokenizerError) {
        guard vocabularySize >= 256 + specialTokens.count else {
            throw .invalidTrainingSettings(
                "vocabularySize \(vocabularySize) must be at least 256 + \(specialTokens.count) special tokens")
        }
        guard vocabularySize <= Int(Int32.max) else {
            throw .invalidTrainingSettings("vocabularySize \(vocabularySize) is too large")
        }
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
        if threads == 1 {
            for d in documents { add(d) }
            return
        }
        let pattern = splitPattern
        let partials = UnsafeMutableBufferPointer<WordCounter>.allocate(capacity: threads)
        partials.initialize(repeating: WordCounter())
        defer {
            partials.deinitialize()
            partials.deallocate()
        }
        let box = UncheckedSendable(partials)
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            var local = try! BPETrainer(vocabularySize: 256, splitPattern: pattern)
            var k = t
            while k < documents.count {
                local.add(documents[k])
                k += threads
            }
            box.value[t] = local.words
        }
        for t in 0..<threads { words.merge(partials[t]) }
    }

    /// Runs the merges and returns the tokenizer (special tokens become special added tokens).
    public func train() throws(TokenizerError) -> Tokenizer {
        let r = trainMerges()
        let added = specialTokens.enumerated().map {
            AddedToken(id: UInt32($0.offset), content: $0.element, special: true)
        }
        var vocab: [(token: String, id: UInt32)] = []
        for (i, s) in specialTokens.enumerated() { vocab.append((s, UInt32(i))) }
        for (i, bytes) in r.tokens.enumerated() where i >= specialTokens.count {
            vocab.append((ByteLevel.encode(bytes), UInt32(i)))
        }
        let merges = r.merges.map { (ByteLevel.encode(r.tokens[Int($0.0)]), ByteLevel.encode(r.tokens[Int($0.1)])) }
        return try Tokenizer(vocabulary: vocab, merges: merges, addedTokens: added, splitPattern: splitPattern)
    }

    /// The merges in order, and every token's bytes (index = id). Pair counts only change around a merge, so
    /// each step rewrites just the words the merged pair occurs in.
    func trainMerges() -> (tokens: [[UInt8]], merges: [(UInt32, UInt32)]) {
        var vocabulary = TrainingVocabulary(specialTokens: specialTokens)
        var corpus = MergeableWords(words, byteId: vocabulary.byteId)
        var pairs = PairQueue(counting: corpus)
        var merges: [(UInt32, UInt32)] = []
        while vocabulary.tokens.count < vocabularySize {
            guard let top = pairs.popMostFrequent() else { break }
            if top.count < 1 || minFrequency > top.count { break }
            let a = UInt32(truncatingIfNeeded: top.pair >> 32)
            let b = UInt32(truncatingIfNeeded: top.pair)
            let c = vocabulary.id(joining: a, b)
            merges.append((a, b))
            let positions = pairs.takePositions(of: top)
            corpus.merge(a, b, into: c, inWords: positions, pairs: &pairs)
            pairs.enqueueChangedPairs()
        }
        return (vocabulary.tokens, merges)
    }
}
