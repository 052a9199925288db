/// A token matched verbatim in the input before pre-tokenization (tokenizer.json `added_tokens`).
/// Special tokens (end-of-text, padding ...) are added tokens with `special == true`.
public struct AddedToken: Sendable, Equatable {
    public var id: UInt32
    public var content: String
    public var special: Bool
    /// As in tokenizer.json; only meaningful with a normalizer, which this implementation does not support.
    public var normalized: Bool

    public init(id: UInt32, content: String, special: Bool = true, normalized: Bool? = nil) {
        self.id = id
        self.content = content
        self.special = special
        self.normalized = normalized ?? !special
    }
}

/// Splits added tokens out of text in Hugging Face's two passes (`AddedVocabulary`): the tokens with
/// `normalized == false` (special tokens by default) are matched in the whole text first; the tokens with
/// `normalized == true` only in the text between those matches. So in "a<|endoftext|>" a special
/// "<|endoftext|>" wins over a non-special "a<|" that starts earlier, and "<|end" cannot cut into it; within
/// one pass the leftmost, then longest, match wins (`tokenizers` 0.23, checked by
/// TokenizerHFEqualityTests.testOverlappingAddedTokens).
struct AddedTokenSplitter: Sendable {
    let firstPass: AddedTokenMatcher
    let secondPass: AddedTokenMatcher

    init(_ tokens: [AddedToken]) {
        firstPass = AddedTokenMatcher(tokens.filter { !$0.normalized })
        secondPass = AddedTokenMatcher(tokens.filter { $0.normalized })
    }

    var isEmpty: Bool { firstPass.isEmpty && secondPass.isEmpty }
}

/// Finds added tokens of one pass in UTF-8 text: leftmost match first, the longest at that position (the
/// match order of HF's Aho-Corasick `LeftmostLongest`).
struct AddedTokenMatcher: Sendable {
    /// Candidates by first byte, longest content first.
    private let byFirstByte: [[(bytes: [UInt8], id: UInt32)]]
    private let firstByte: [Bool]
    let isEmpty: Bool

    init(_ tokens: [AddedToken]) {
        var table = [[(bytes: [UInt8], id: UInt32)]](repeating: [], count: 256)
        for t in tokens where !t.content.isEmpty {
            let b = Array(t.content.utf8)
            table[Int(b[0])].append((b, t.id))
        }
        for i in 0..<256 { table[i].sort { $0.bytes.count > $1.bytes.count } }
        byFirstByte = table
        firstByte = table.map { !$0.isEmpty }
        isEmpty = tokens.allSatisfy { $0.content.isEmpty }
    }

    /// The next match at or after `from` that ends by `count`: (start, end, id), or nil.
    func nextMatch(in base: UnsafePointer<UInt8>, count: Int, from: Int) -> (start: Int, end: Int, id: UInt32)? {
        if isEmpty { return nil }
        var i = from
        return firstByte.withUnsafeBufferPointer { fb in
            while i < count {
                if fb[Int(base[i])] {
                    for candidate in byFirstByte[Int(base[i])] where candidate.bytes.count <= count - i {
                        let matches = candidate.bytes.withUnsafeBufferPointer { c in
                            var k = 1
                            while k < c.count && c[k] == base[i + k] { k += 1 }
                            return k == c.count
                        }
                        if matches { return (i, i + candidate.bytes.count, candidate.id) }
                    }
                }
                i += 1
            }
            return nil
        }
    }
}
