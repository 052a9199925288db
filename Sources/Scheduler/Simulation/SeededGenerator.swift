import Primitives

/// The simulation's generator: `SplitMix64`, so the simulation and the benchmark are reproducible everywhere.
public typealias SeededGenerator = SplitMix64

extension SplitMix64 {
    /// Uniform in 0..<bound by remainder, without `Int.random(in:using:)`, whose algorithm may change between
    /// releases. (The stream uses `next(below:)`; this one keeps the simulation's recorded seeds meaning the same.)
    public mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// True with probability `p`.
    public mutating func chance(_ p: Double) -> Bool { Double(next() >> 11) / Double(1 << 53) < p }
}
