import Foundation
import Primitives
import XCTest

@testable import Engine

/// Deterministic random values for tests.
struct TestRandom {
    var generator: SplitMix64
    init(_ seed: UInt64) { generator = SplitMix64(seed: seed) }
    mutating func floats(_ n: Int, scale: Float = 1) -> [Float] {
        (0..<n).map { _ in Float(generator.nextNormal()) * scale }
    }
    mutating func tokens(_ n: Int, vocabulary: Int) -> [Int32] {
        (0..<n).map { _ in Int32(generator.next() % UInt64(vocabulary)) }
    }
}

/// Relative error ||a - b|| / (||a|| + ||b||) between an analytic and a numeric gradient.
func relativeError(_ a: [Double], _ b: [Double]) -> Double {
    var diff = 0.0
    var na = 0.0
    var nb = 0.0
    for i in 0..<a.count {
        diff += (a[i] - b[i]) * (a[i] - b[i])
        na += a[i] * a[i]
        nb += b[i] * b[i]
    }
    return diff.squareRoot() / max(na.squareRoot() + nb.squareRoot(), 1e-12)
}

/// Central finite differences of `loss` with respect to `values[i]` for the given indices.
func numericGradient(_ values: inout [Float], indices: [Int], epsilon: Float, loss: ([Float]) -> Double) -> [Double] {
    indices.map { i in
        let original = values[i]
        values[i] = original + epsilon
        let plus = loss(values)
        values[i] = original - epsilon
        let minus = loss(values)
        values[i] = original
        // Divide by the perturbation actually applied (it is rounded to Float).
        return (plus - minus) / Double((original + epsilon) - (original - epsilon))
    }
}

/// Σ out[i] * weights[i] in Double: a scalar "loss" that makes every output element matter.
func weightedSum(_ out: UnsafePointer<Float>, _ weights: [Float]) -> Double {
    var s = 0.0
    for i in 0..<weights.count { s += Double(out[i]) * Double(weights[i]) }
    return s
}

func temporaryDirectory(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("engine-tests-\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
