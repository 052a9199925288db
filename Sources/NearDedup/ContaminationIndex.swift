// Decontamination: the word n-grams (default 13, as in GPT-3's and the Pile's contamination studies) of every eval
// document, each remembered with the eval sets it occurs in (a 64-bit mask: at most 64 sets). A training document
// sharing any n-gram with an eval set is contaminated by that set. Words are the shingler's (lower-cased, punctuation
// ignored), so "Paris, France" and "paris france" match. An eval document shorter than n words is one n-gram of all
// its words: it matches a training document with exactly those words (a shorter window would flag common phrases).

public struct ContaminationIndex: Sendable {
    public let ngramWords: Int
    public static let defaultNGramWords = 13
    public static let maxEvalSets = 64
    private var masks: [UInt64: UInt64] = [:]
    public private(set) var evalSetNames: [String] = []

    public init(ngramWords: Int = defaultNGramWords) {
        precondition(ngramWords >= 1)
        self.ngramWords = ngramWords
    }

    /// n-grams remembered (8 + 8 bytes of payload each in the dictionary).
    public var ngrams: Int { masks.count }

    /// Registers an eval set and returns its number (its bit).
    public mutating func addEvalSet(_ name: String) -> Int {
        precondition(evalSetNames.count < Self.maxEvalSets, "at most \(Self.maxEvalSets) eval sets")
        evalSetNames.append(name)
        return evalSetNames.count - 1
    }

    public mutating func add(evalText: String, set: Int, scratch: inout NGramScratch) {
        precondition(set >= 0 && set < evalSetNames.count)
        WordShingler.wordHashes(evalText, into: &scratch.words)
        WordShingler.shingles(ofWords: scratch.words, n: ngramWords, into: &scratch.ngrams)
        for ngram in scratch.ngrams { masks[ngram, default: 0] |= 1 << UInt64(set) }
    }

    /// The eval sets (bit mask) sharing an n-gram with `text`; 0 when clean.
    public func contamination(of text: String, scratch: inout NGramScratch) -> UInt64 {
        guard !masks.isEmpty else { return 0 }
        WordShingler.wordHashes(text, into: &scratch.words)
        WordShingler.shingles(ofWords: scratch.words, n: ngramWords, into: &scratch.ngrams)
        var mask: UInt64 = 0
        for ngram in scratch.ngrams {
            if let sets = masks[ngram] { mask |= sets }
        }
        return mask
    }

    /// The names of the sets in `mask`.
    public func names(in mask: UInt64) -> [String] {
        evalSetNames.indices.filter { mask & (1 << UInt64($0)) != 0 }.map { evalSetNames[$0] }
    }
}

public struct NGramScratch {
    var words: [UInt64] = []
    var ngrams: [UInt64] = []
    public init() {}
}
