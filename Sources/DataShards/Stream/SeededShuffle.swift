// Deterministic, platform-independent shuffling: every permutation in the stream is a pure function of the
// seed and a few integers (dataset, dataset epoch, shard, window), so every rank and thread computes the
// same order on its own without communication.

import Primitives

enum SeededShuffle {
    /// Domain tags keep the different permutations of one (dataset, epoch) independent.
    enum Purpose: UInt64 {
        case shardOrder = 1
        case documentOrder = 2
        case sampleWindow = 3
    }

    static func key(_ seed: UInt64, _ purpose: Purpose, _ a: Int, _ b: Int, _ c: Int = 0) -> UInt64 {
        var mixer = SplitMix64(seed: seed ^ (purpose.rawValue &* 0xD6E8_FEB8_6659_FD93))
        var h = mixer.next()
        for value in [a, b, c] {
            mixer = SplitMix64(seed: h ^ UInt64(bitPattern: Int64(value)))
            h = mixer.next()
        }
        return h
    }

    /// A Fisher–Yates permutation of 0..<count as Int32 (shards and windows are far below 2^31 entries).
    static func permutation(count: Int, key: UInt64) -> [Int32] {
        var order = (0..<count).map { Int32($0) }
        var generator = SplitMix64(seed: key)
        if count > 1 {
            for i in stride(from: count - 1, to: 0, by: -1) {
                order.swapAt(i, generator.next(below: i + 1))
            }
        }
        return order
    }
}
