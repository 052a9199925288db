// Merge lookup for encoding: (left id, right id) -> (rank, merged id) in an open-addressing table,
// a few loads per probe instead of Dictionary hashing.

struct PairRankTable: Sendable {
    private var keys: [UInt64]
    private var values: [UInt64]
    private let mask: Int
    static let empty = UInt64.max
    /// Rank returned for pairs that do not merge.
    static let noRank = UInt32.max

    init(capacityFor count: Int) {
        var cap = 16
        while cap < count * 2 + 16 { cap <<= 1 }
        keys = [UInt64](repeating: Self.empty, count: cap)
        values = [UInt64](repeating: 0, count: cap)
        mask = cap - 1
    }

    @inline(__always)
    static func key(_ a: UInt32, _ b: UInt32) -> UInt64 { UInt64(a) << 32 | UInt64(b) }

    @inline(__always)
    private static func slot(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    /// Inserts unless present (the first, lowest-ranked merge of a pair wins, as in HF).
    mutating func insertIfAbsent(_ a: UInt32, _ b: UInt32, rank: UInt32, merged: UInt32) {
        let k = Self.key(a, b)
        var s = Self.slot(k, mask)
        while keys[s] != Self.empty {
            if keys[s] == k { return }
            s = (s + 1) & mask
        }
        keys[s] = k
        values[s] = UInt64(rank) << 32 | UInt64(merged)
    }

    /// (rank, merged id), or rank == noRank when the pair does not merge.
    @inline(__always)
    func lookup(_ a: UInt32, _ b: UInt32) -> (rank: UInt32, merged: UInt32) {
        let k = Self.key(a, b)
        return keys.withUnsafeBufferPointer { kp in
            var s = Self.slot(k, mask)
            while true {
                let stored = kp[s]
                if stored == k {
                    let v = values.withUnsafeBufferPointer { $0[s] }
                    return (UInt32(truncatingIfNeeded: v >> 32), UInt32(truncatingIfNeeded: v))
                }
                if stored == Self.empty { return (Self.noRank, 0) }
                s = (s + 1) & mask
            }
        }
    }
}
