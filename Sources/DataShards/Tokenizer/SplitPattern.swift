// The pre-tokenizer split patterns, implemented as hand-written scanners over UTF-8 bytes that follow the
// regexes' leftmost-alternative, greedy-with-backtracking semantics exactly (no regex engine).

/// Which split regex a tokenizer uses before byte-pair merging.
public enum SplitPattern: String, Sendable, CaseIterable {
    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// Llama-3 / GPT-4 cl100k: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    case llama3

    public static let gpt2Regex = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    public static let llama3Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// The regex text as written in tokenizer.json.
    public var regex: String { self == .gpt2 ? Self.gpt2Regex : Self.llama3Regex }

    /// Recognises a tokenizer.json `Split` regex (whitespace-insensitive variants are not accepted).
    public init?(regex: String) {
        switch regex {
        case Self.gpt2Regex: self = .gpt2
        case Self.llama3Regex: self = .llama3
        default: return nil
        }
    }
}

/// Scans UTF-8 bytes into pre-tokens. `bytes` must be valid UTF-8 (invalid bytes are classed as "other",
/// one byte at a time, so the scanner never fails).
struct PreTokenScanner {
    let base: UnsafePointer<UInt8>
    let count: Int

    /// Class and byte length of the character at `i` (i < count).
    @inline(__always)
    func charAt(_ i: Int) -> (cls: UInt8, len: Int) {
        let b0 = base[i]
        if b0 < 0x80 { return (CharacterClassTable.asciiClass(b0), 1) }
        var cp: UInt32
        var len: Int
        if b0 & 0xE0 == 0xC0 {
            cp = UInt32(b0 & 0x1F)
            len = 2
        } else if b0 & 0xF0 == 0xE0 {
            cp = UInt32(b0 & 0x0F)
            len = 3
        } else if b0 & 0xF8 == 0xF0 {
            cp = UInt32(b0 & 0x07)
            len = 4
        } else {
            return (0, 1)
        }
        if i + len > count { return (0, 1) }
        for k in 1..<len {
            let b = base[i + k]
            if b & 0xC0 != 0x80 { return (0, 1) }
            cp = (cp << 6) | UInt32(b & 0x3F)
        }
        return (CharacterClassTable.classOf(cp), len)
    }

    @inline(__always)
    func scanRun(of cls: UInt8, from start: Int) -> Int {
        var j = start
        while j < count {
            let (c, l) = charAt(j)
            if c != cls { break }
            j += l
        }
        return j
    }

    /// End of the pre-token starting at `i` (i < count).
    @inline(__always)
    func next(_ i: Int, _ pattern: SplitPattern) -> Int {
        pattern == .gpt2 ? nextGPT2(i) : nextLlama3(i)
    }

    private static let letter: UInt8 = 1, number: UInt8 = 2, space: UInt8 = 3, other: UInt8 = 0

    @inline(__always)
    private func contraction(_ i: Int, caseInsensitive: Bool) -> Int {
        // '\'' already checked by the caller.
        guard i + 1 < count else { return 0 }
        var c1 = base[i + 1]
        if caseInsensitive && c1 >= 0x41 && c1 <= 0x5A { c1 |= 0x20 }
        switch c1 {
        case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"): return 2
        case UInt8(ascii: "r"), UInt8(ascii: "v"), UInt8(ascii: "l"):
            guard i + 2 < count else { return 0 }
            var c2 = base[i + 2]
            if caseInsensitive && c2 >= 0x41 && c2 <= 0x5A { c2 |= 0x20 }
            if c1 == UInt8(ascii: "l") { return c2 == UInt8(ascii: "l") ? 3 : 0 }
            return c2 == UInt8(ascii: "e") ? 3 : 0
        default:
            // (?i) case folding also matches U+017F LATIN SMALL LETTER LONG S for 's'.
            if caseInsensitive && c1 == 0xC5 && i + 2 < count && base[i + 2] == 0xBF { return 3 }
            return 0
        }
    }

    /// Whitespace run from `i`: returns (end of run, start of its last character, end of its last CR/LF or -1).
    @inline(__always)
    private func whitespaceRun(_ i: Int) -> (end: Int, lastStart: Int, lastNewlineEnd: Int) {
        var j = i
        var lastStart = i
        var lastNL = -1
        while j < count {
            let b = base[j]
            if b == 0x0A || b == 0x0D {
                lastStart = j
                j += 1
                lastNL = j
                continue
            }
            let (c, l) = charAt(j)
            if c != Self.space { break }
            lastStart = j
            j += l
        }
        return (j, lastStart, lastNL)
    }

    private func nextGPT2(_ i: Int) -> Int {
        let b = base[i]
        if b == UInt8(ascii: "'") {
            let n = contraction(i, caseInsensitive: false)
            if n > 0 { return i + n }
        }
        if b == 0x20 && i + 1 < count {
            let (c2, l2) = charAt(i + 1)
            if c2 != Self.space { return scanRun(of: c2, from: i + 1 + l2) }
        }
        let (c, l) = charAt(i)
        if c != Self.space { return scanRun(of: c, from: i + l) }
        let run = whitespaceRun(i)
        if run.end == count { return run.end }
        return run.lastStart > i ? run.lastStart : run.end
    }

    private func nextLlama3(_ i: Int) -> Int {
        let b = base[i]
        if b == UInt8(ascii: "'") {
            let n = contraction(i, caseInsensitive: true)
            if n > 0 { return i + n }
        }
        let (c, l) = charAt(i)
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if c == Self.letter { return scanRun(of: Self.letter, from: i + l) }
        if c != Self.number && b != 0x0A && b != 0x0D && i + l < count {
            let (c2, l2) = charAt(i + l)
            if c2 == Self.letter { return scanRun(of: Self.letter, from: i + l + l2) }
        }
        // \p{N}{1,3}
        if c == Self.number {
            var j = i + l
            var k = 1
            while k < 3 && j < count {
                let (cn, ln) = charAt(j)
                if cn != Self.number { break }
                j += ln
                k += 1
            }
            return j
        }
        // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
        var otherStart = -1
        if c == Self.other {
            otherStart = i + l
        } else if b == 0x20 && i + 1 < count {
            let (c2, l2) = charAt(i + 1)
            if c2 == Self.other { otherStart = i + 1 + l2 }
        }
        if otherStart >= 0 {
            var j = scanRun(of: Self.other, from: otherStart)
            while j < count && (base[j] == 0x0A || base[j] == 0x0D) { j += 1 }
            return j
        }
        // Whitespace: \s*[\r\n]+ | \s+(?!\S) | \s+
        let run = whitespaceRun(i)
        if run.lastNewlineEnd >= 0 { return run.lastNewlineEnd }
        if run.end == count { return run.end }
        return run.lastStart > i ? run.lastStart : run.end
    }
}

extension CharacterClassTable {
    @inline(__always)
    static func asciiClass(_ b: UInt8) -> UInt8 { bmpPointer[Int(b)] }
}
