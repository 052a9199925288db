/// The token list a `BPETrainer` builds, id = index: the special tokens, then the 256 byte tokens in the order
/// of their printable code points, then one token per merge.
struct TrainingVocabulary {
    private(set) var tokens: [[UInt8]]
    private var idOf: [[UInt8]: UInt32] = [:]
    /// Token id of each byte value.
    private(set) var byteId = [UInt32](repeating: 0, count: 256)

    init(specialTokens: [String]) {
        tokens = specialTokens.map { Array($0.utf8) }
        for (i, t) in tokens.enumerated() { idOf[t] = UInt32(i) }
        // Byte alphabet, ordered by printable code point; a one-byte special token keeps its id for that byte.
        for b in (0..<256).sorted(by: { ByteLevel.byteToCodePoint[$0] < ByteLevel.byteToCodePoint[$1] }) {
            if let existing = idOf[[UInt8(b)]] {
                byteId[b] = existing
                continue
            }
            byteId[b] = UInt32(tokens.count)
            idOf[[UInt8(b)]] = UInt32(tokens.count)
            tokens.append([UInt8(b)])
        }
    }

    /// The id of `a`'s bytes followed by `b`'s: a new token, or the existing one when a special token
    /// already spells those bytes (so no byte string gets two ids).
    mutating func id(joining a: UInt32, _ b: UInt32) -> UInt32 {
        let newBytes = tokens[Int(a)] + tokens[Int(b)]
        if let existing = idOf[newBytes] { return existing }
        let c = UInt32(tokens.count)
        tokens.append(newBytes)
        idOf[newBytes] = c
        return c
    }
}
