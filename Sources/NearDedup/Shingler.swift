// Word shingles, hashed: the text is lower-cased and split into words at every character that is not a letter or
// a digit (so punctuation and whitespace differences do not count, as in datatrove's `simplify_text`), each word is
// hashed (FNV-1a over its UTF-8 bytes, then mixed), and each run of `shingleWords` consecutive words becomes one
// 64-bit shingle hash. A document shorter than one shingle is one shingle of all its words, so short documents
// still compare. The same function feeds MinHash and decontamination's long n-grams.

public struct WordShingler: Sendable {
    public let shingleWords: Int
    /// Words beyond this many are not read (a 256 MiB document would otherwise hold 50 M word hashes).
    public static let maxWordsPerDocument = 1 << 20

    public init(shingleWords: Int) {
        precondition(shingleWords >= 1, "a shingle has at least one word, got \(shingleWords)")
        self.shingleWords = shingleWords
    }

    /// The 64-bit hash of every word of `text`, in order (into `words`, cleared first).
    public static func wordHashes(_ text: String, into words: inout [UInt64]) {
        words.removeAll(keepingCapacity: true)
        var hash: UInt64 = fnvOffset
        var inWord = false
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value < 0x80 {
                // ASCII fast path: letters (lower-cased) and digits belong to a word, anything else ends one.
                var byte = UInt8(value)
                if byte >= 65 && byte <= 90 { byte |= 0x20 }
                let isWordByte = (byte >= 97 && byte <= 122) || (byte >= 48 && byte <= 57)
                if isWordByte {
                    hash = (hash ^ UInt64(byte)) &* fnvPrime
                    inWord = true
                } else if inWord {
                    words.append(mix(hash))
                    if words.count >= maxWordsPerDocument { return }
                    hash = fnvOffset
                    inWord = false
                }
                continue
            }
            let properties = scalar.properties
            if properties.isAlphabetic || properties.numericType != nil {
                for lower in properties.lowercaseMapping.utf8 { hash = (hash ^ UInt64(lower)) &* fnvPrime }
                inWord = true
            } else if inWord {
                words.append(mix(hash))
                if words.count >= maxWordsPerDocument { return }
                hash = fnvOffset
                inWord = false
            }
        }
        if inWord { words.append(mix(hash)) }
    }

    /// The shingle hashes of `text` (into `shingles`, cleared first; duplicates kept, which MinHash ignores).
    /// `words` is scratch space.
    public func shingles(_ text: String, words: inout [UInt64], into shingles: inout [UInt64]) {
        Self.wordHashes(text, into: &words)
        Self.shingles(ofWords: words, n: shingleWords, into: &shingles)
    }

    /// Each run of `n` consecutive word hashes combined into one (order matters: "a b" ≠ "b a").
    public static func shingles(ofWords words: [UInt64], n: Int, into shingles: inout [UInt64]) {
        shingles.removeAll(keepingCapacity: true)
        guard !words.isEmpty else { return }
        let span = min(n, words.count)
        shingles.reserveCapacity(words.count - span + 1)
        words.withUnsafeBufferPointer { w in
            for start in 0...(w.count - span) {
                var h: UInt64 = 0x243F_6A88_85A3_08D3
                for k in start..<(start + span) { h = mix(h &* 0x9E37_79B9_7F4A_7C15 ^ w[k]) }
                shingles.append(h)
            }
        }
    }

    static let fnvOffset: UInt64 = 0xCBF2_9CE4_8422_2325
    static let fnvPrime: UInt64 = 0x0000_0100_0000_01B3

    /// SplitMix64's finalizer: spreads FNV's weak low bits over the whole word.
    @inline(__always)
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
