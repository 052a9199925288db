// Merge lookup for encoding: (left id, right id) -> (rank, merged id) in an open-addressing table,
// a few loads per probe instead of Dictionary hashing. Raw memory, so that encoders on several threads
// read it without touching (atomically) shared reference counts.

final class PairRankTable: @unchecked Sendable {
    // Written only while the owning Tokenizer is being built; read-only once it is shared.
    private let keys: UnsafeMutablePointer<UInt64>
    private let values: UnsafeMutablePointer<UInt64>
    private let capacity: Int
    static let empty = UInt64.max
    /// Rank returned for pairs that do not merge.
    static let noRank = UInt32.max

    init(capacityFor count: Int) {
        var cap = 16
        while cap < count * 2 + 16 { cap <<= 1 }
        capacity = cap
        keys = .allocate(capacity: cap)
        keys.initialize(repeating: Self.empty, count: cap)
        values = .allocate(capacity: cap)
        values.initialize(repeating: 0, count: cap)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Inserts unless present (the first, lowest-ranked merge of a pair wins, as in HF).
    func insertIfAbsent(_ a: UInt32, _ b: UInt32, rank: UInt32, merged: UInt32) {
        let k = PairRankView.key(a, b)
        let mask = capacity - 1
        var s = PairRankView.slot(k, mask)
        while keys[s] != Self.empty {
            if keys[s] == k { return }
            s = (s + 1) & mask
        }
        keys[s] = k
        values[s] = UInt64(rank) << 32 | UInt64(merged)
    }

    /// A reference-count-free view; valid while this table is alive.
    var view: PairRankView { PairRankView(keys: keys, values: values, mask: capacity - 1) }
}

struct PairRankView {
    let keys: UnsafeMutablePointer<UInt64>
    let values: UnsafeMutablePointer<UInt64>
    let mask: Int

    @inline(__always)
    static func key(_ a: UInt32, _ b: UInt32) -> UInt64 { UInt64(a) << 32 | UInt64(b) }

    @inline(__always)
    static func slot(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 40) & mask
    }

    /// (rank, merged id), or rank == noRank when the pair does not merge.
    @inline(__always)
    func lookup(_ a: UInt32, _ b: UInt32) -> (rank: UInt32, merged: UInt32) {
        let k = Self.key(a, b)
        var s = Self.slot(k, mask)
        while true {
            let stored = keys[s]
            if stored == k {
                let v = values[s]
                return (UInt32(truncatingIfNeeded: v >> 32), UInt32(truncatingIfNeeded: v))
            }
            if stored == PairRankTable.empty { return (PairRankTable.noRank, 0) }
            s = (s + 1) & mask
        }
    }
}
