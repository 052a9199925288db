/// SplitMix64 (Steele, Lea, Flood 2014): the package's one seeded random source. Weight initialisation,
/// sampling, stream shuffles and the scheduler simulation all draw from it, so a seed gives the same numbers on
/// every platform and release (the standard library's `random(in:using:)` algorithms may change).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in 0..<bound by multiply-shift (the stream's shuffles; `bound` > 0).
    @inline(__always)
    public mutating func next(below bound: Int) -> Int {
        precondition(bound > 0, "SplitMix64.next(below:) needs a positive bound, got \(bound)")
        return Int(next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// Uniform in [0, 1) with 53 bits.
    @inline(__always)
    public mutating func nextUniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}
