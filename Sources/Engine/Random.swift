import Foundation
import Primitives

// The engine's only random source is `SplitMix64` (Primitives), so initialization and sampling are identical on
// every platform and run for a given seed.
extension SplitMix64 {
    /// Standard normal (Box-Muller, one value per call for simplicity and reproducibility).
    public mutating func nextNormal() -> Double {
        let u1 = max(nextUniform(), 0x1.0p-60)
        let u2 = nextUniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
