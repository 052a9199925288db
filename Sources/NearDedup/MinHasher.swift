// MinHash signatures with a seeded hash family, and their LSH band keys.
//
// Permutation i maps a shingle hash x to (a_i · x + b_i) mod 2^64 and keeps the high 32 bits, with a_i odd and
// a_i, b_i drawn from SplitMix64(seed): multiply-shift hashing (Dietzfelbinger et al.), one multiply and one add per
// shingle and permutation, which the compiler vectorizes. The shingle hashes are already mixed, so this family is
// as good as a random permutation for MinHash's estimate (the tests check the estimate against exact Jaccard).
// 32-bit values halve a signature (4 bytes × permutations) against 64-bit ones; collisions at 2^-32 do not move a
// Jaccard estimate measurably.

import Primitives

public struct MinHasher: Sendable {
    public let parameters: MinHashParameters
    let multipliers: [UInt64]
    let increments: [UInt64]
    let shingler: WordShingler

    public init(_ parameters: MinHashParameters) throws {
        if let problem = parameters.problems().first { throw problem }
        self.parameters = parameters
        var random = SplitMix64(seed: parameters.seed)
        var a: [UInt64] = []
        var b: [UInt64] = []
        for _ in 0..<parameters.permutations {
            a.append(random.next() | 1)
            b.append(random.next())
        }
        multipliers = a
        increments = b
        shingler = WordShingler(shingleWords: parameters.shingleWords)
    }

    /// Reusable buffers of one thread: a signature pass allocates nothing once they are warm.
    public struct Scratch {
        var words: [UInt64] = []
        var shingles: [UInt64] = []
        public init() {}
    }

    /// The signature of `text` (`permutations` values into `signature`); false for a text with no words, which
    /// has no signature and is never a near-duplicate of anything.
    public func signature(of text: String, scratch: inout Scratch, into signature: inout [UInt32]) -> Bool {
        shingler.shingles(text, words: &scratch.words, into: &scratch.shingles)
        return self.signature(ofShingles: scratch.shingles, into: &signature)
    }

    public func signature(ofShingles shingles: [UInt64], into signature: inout [UInt32]) -> Bool {
        let count = parameters.permutations
        if signature.count != count { signature = [UInt32](repeating: 0, count: count) }
        guard !shingles.isEmpty else { return false }
        var minimums = [UInt64](repeating: .max, count: count)
        minimums.withUnsafeMutableBufferPointer { m in
            multipliers.withUnsafeBufferPointer { a in
                increments.withUnsafeBufferPointer { b in
                    for x in shingles {
                        for i in 0..<count { m[i] = min(m[i], (a[i] &* x &+ b[i]) >> 32) }
                    }
                }
            }
        }
        for i in 0..<count { signature[i] = UInt32(truncatingIfNeeded: minimums[i]) }
        return true
    }

    /// The bucket key of band `band`: its `rowsPerBand` values hashed to 64 bits, mixed with the band number so that
    /// equal values in different bands never meet (they are sorted together in one run).
    public func bandKey(_ signature: [UInt32], band: Int) -> UInt64 {
        let rows = parameters.rowsPerBand
        precondition(band >= 0 && band < parameters.bands && signature.count == parameters.permutations)
        var h = WordShingler.mix(UInt64(band) &+ 0x51_7CC1_B727_220A)
        for k in (band * rows)..<((band + 1) * rows) { h = WordShingler.mix(h ^ UInt64(signature[k])) }
        return h
    }

    /// The fraction of equal positions: MinHash's estimate of the Jaccard similarity of two documents.
    public static func estimatedJaccard(_ a: [UInt32], _ b: [UInt32]) -> Double {
        precondition(a.count == b.count && !a.isEmpty)
        var equal = 0
        for i in 0..<a.count where a[i] == b[i] { equal += 1 }
        return Double(equal) / Double(a.count)
    }
}

/// The exact Jaccard similarity of two shingle sets (the benchmark's and the tests' ground truth).
public func exactJaccard(_ a: Set<UInt64>, _ b: Set<UInt64>) -> Double {
    if a.isEmpty && b.isEmpty { return 1 }
    let shared = a.count < b.count ? a.filter(b.contains).count : b.filter(a.contains).count
    return Double(shared) / Double(a.count + b.count - shared)
}
