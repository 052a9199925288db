// The settings of MinHash LSH near-duplicate detection, validated once with the name of each field, so that the
// manifest validator, the job's tasks and the benchmark reject the same bad values with the same words.
//
// Two documents whose shingle sets have Jaccard similarity s share at least one of `bands` buckets with
// probability 1 - (1 - s^rows)^bands; the steepest point of that curve is near (1 / bands)^(1 / rows). The defaults
// are datatrove's MinhashConfig (5-word shingles, 14 buckets × 8 hashes = 112 permutations, threshold ≈ 0.72), so a
// comparison runs both with the same numbers.

import Foundation

/// One invalid field: `field` is the settings key (`bands`), `message` says what was expected.
public struct ParameterProblem: Error, Equatable, Sendable, CustomStringConvertible {
    public var field: String
    public var message: String
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
    public var description: String { "\(field): \(message)" }
}

public struct MinHashParameters: Codable, Equatable, Sendable {
    /// Words per shingle (n-gram length).
    public var shingleWords: Int
    public var permutations: Int
    public var bands: Int
    public var rowsPerBand: Int
    /// Seeds the hash family; two runs with the same seed give the same signatures.
    public var seed: UInt64

    public static let defaultShingleWords = 5
    public static let defaultBands = 14
    public static let defaultRowsPerBand = 8
    public static let defaultSeed: UInt64 = 1
    /// Limits that keep a signature (4 bytes per permutation) and a band key bounded.
    public static let maxShingleWords = 64
    public static let maxPermutations = 1024

    public init(
        shingleWords: Int = defaultShingleWords, permutations: Int = defaultBands * defaultRowsPerBand,
        bands: Int = defaultBands, rowsPerBand: Int = defaultRowsPerBand, seed: UInt64 = defaultSeed
    ) {
        self.shingleWords = shingleWords
        self.permutations = permutations
        self.bands = bands
        self.rowsPerBand = rowsPerBand
        self.seed = seed
    }

    /// Every problem, each naming its field; empty when the parameters are usable.
    public func problems() -> [ParameterProblem] {
        var problems: [ParameterProblem] = []
        if !(1...Self.maxShingleWords).contains(shingleWords) {
            problems.append(
                .init(
                    field: "shingleWords", message: "expected 1 to \(Self.maxShingleWords) words, got \(shingleWords)"))
        }
        if !(1...Self.maxPermutations).contains(permutations) {
            problems.append(
                .init(field: "permutations", message: "expected 1 to \(Self.maxPermutations), got \(permutations)"))
        }
        if bands < 1 { problems.append(.init(field: "bands", message: "expected at least 1, got \(bands)")) }
        if rowsPerBand < 1 {
            problems.append(.init(field: "rowsPerBand", message: "expected at least 1, got \(rowsPerBand)"))
        }
        if bands >= 1 && rowsPerBand >= 1 && bands.multipliedReportingOverflow(by: rowsPerBand) != (permutations, false)
        {
            problems.append(
                .init(
                    field: "bands",
                    message:
                        "expected bands × rowsPerBand = permutations, got \(bands) × \(rowsPerBand) ≠ \(permutations)"))
        }
        return problems
    }

    /// The similarity at which a pair becomes more likely found than not: (1 / bands)^(1 / rowsPerBand).
    public var threshold: Double {
        guard bands > 0, rowsPerBand > 0 else { return 1 }
        return pow(1.0 / Double(bands), 1.0 / Double(rowsPerBand))
    }
}
