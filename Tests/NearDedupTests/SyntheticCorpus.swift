// A synthetic corpus with known answers: unrelated documents of random words (a 5,000-word vocabulary, so two of
// them share almost no 5-word shingle) and copies of some of them with a known fraction of words replaced.

import NearDedup
import Primitives

struct SyntheticCorpus {
    static let vocabulary: [String] = {
        var random = SplitMix64(seed: 42)
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        return (0..<5000).map { _ in
            String((0..<(3 + random.next(below: 6))).map { _ in letters[random.next(below: letters.count)] })
        }
    }()

    var random: SplitMix64

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    mutating func words(_ count: Int) -> [String] {
        (0..<count).map { _ in Self.vocabulary[random.next(below: Self.vocabulary.count)] }
    }

    /// `words` with `rate` of its positions replaced by random words (at least one when rate > 0).
    mutating func edited(_ words: [String], rate: Double) -> [String] {
        var out = words
        let edits = rate == 0 ? 0 : max(1, Int((Double(words.count) * rate).rounded()))
        var positions = Set<Int>()
        while positions.count < edits { positions.insert(random.next(below: words.count)) }
        for p in positions { out[p] = Self.vocabulary[random.next(below: Self.vocabulary.count)] + "x" }
        return out
    }
}

func shingleSet(_ text: String, n: Int) -> Set<UInt64> {
    var words: [UInt64] = []
    var shingles: [UInt64] = []
    WordShingler(shingleWords: n).shingles(text, words: &words, into: &shingles)
    return Set(shingles)
}
