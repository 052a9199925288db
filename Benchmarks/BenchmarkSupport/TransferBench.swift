// What the two storage benchmarks (ObjectStoreBench, StorageBench) share: their command line, the object they
// move and how a measurement is repeated.
import Foundation

public struct TransferBench: Sendable {
    public let sizeMiB: Int
    public let repetitions: Int
    public var sizeBytes: Int { sizeMiB << 20 }

    /// `[size-MiB, default 256] [repetitions, default 3]`; words that are not integers are skipped.
    public init(_ arguments: [String] = CommandLine.arguments) {
        let numbers = arguments.dropFirst().compactMap { Int($0) }
        sizeMiB = numbers.first ?? 256
        repetitions = numbers.dropFirst().first ?? 3
    }

    /// moto's set-up script, shared with the ObjectStore tests (found from this file's place in the tree).
    public static let motoSetupScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Tests/ObjectStoreTests/Fixtures/moto_setup.py").standardized.path

    /// The object's bytes: one byte in 8 set from its offset (a multiplicative hash), the rest zero.
    public func object() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: sizeBytes)
        for index in stride(from: 0, to: sizeBytes, by: 8) {
            bytes[index] = UInt8(truncatingIfNeeded: index &* 2_654_435_761 >> 13)
        }
        return bytes
    }

    /// Best of the repetitions; `reset` runs before each, untimed (empties the caches).
    public func best(reset: () throws -> Void = {}, _ work: () throws -> Void) rethrows -> Double {
        var times: [Double] = []
        for _ in 0..<repetitions {
            try reset()
            times.append(try seconds(work))
        }
        return times.min()!
    }
}
