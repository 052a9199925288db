// The character classes of the split patterns (\p{L}, \p{N}, \s, everything else), looked up by code point:
// ASCII and the BMP through flat tables, the rest by binary search over the generated ranges.

enum CharacterClass: UInt8 {
    case other = 0
    case letter = 1
    case number = 2
    case space = 3
}

enum CharacterClassTable {
    /// One class per BMP code point (64 KiB), built once from the generated ranges.
    static let bmp: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 0x10000)
        for cp in 0..<0x80 {
            let c = UInt8(cp)
            if (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) {
                table[cp] = CharacterClass.letter.rawValue
            } else if c >= 0x30 && c <= 0x39 {
                table[cp] = CharacterClass.number.rawValue
            } else if c == 0x20 || (c >= 0x09 && c <= 0x0D) {
                table[cp] = CharacterClass.space.rawValue
            }
        }
        let r = UnicodeTables.ranges
        var i = 0
        while i < r.count {
            let lo = Int(r[i])
            let hi = Int(r[i + 1])
            let cls = UInt8(r[i + 2])
            if lo < 0x10000 { for cp in lo...min(hi, 0xFFFF) { table[cp] = cls } }
            i += 3
        }
        return table
    }()

    /// Ranges above the BMP as (lo, hi, class) triples.
    static let astral: [UInt32] = {
        var out: [UInt32] = []
        let r = UnicodeTables.ranges
        var i = 0
        while i < r.count {
            if r[i + 1] >= 0x10000 { out += [max(r[i], 0x10000), r[i + 1], r[i + 2]] }
            i += 3
        }
        return out
    }()

    /// The BMP table as raw memory (allocated once, never freed): lookups touch no reference counts,
    /// which matters when several threads encode at once.
    nonisolated(unsafe) static let bmpPointer: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 0x10000)
        bmp.withUnsafeBufferPointer { p.initialize(from: $0.baseAddress!, count: 0x10000) }
        return UnsafePointer(p)
    }()

    @inline(__always)
    static func classOf(_ cp: UInt32) -> UInt8 {
        if cp < 0x10000 { return bmpPointer[Int(cp)] }
        return astral.withUnsafeBufferPointer { r in
            var lo = 0
            var hi = r.count / 3 - 1
            while lo <= hi {
                let mid = (lo + hi) >> 1
                if cp < r[mid * 3] {
                    hi = mid - 1
                } else if cp > r[mid * 3 + 1] {
                    lo = mid + 1
                } else {
                    return UInt8(r[mid * 3 + 2])
                }
            }
            return 0
        }
    }
}
