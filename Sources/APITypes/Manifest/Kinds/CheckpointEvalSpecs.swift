// `spec.train.evalEvery: checkpoint` with `spec.train.evals`: the control plane creates a backfill eval job for
// each checkpoint the run registers (docs/training.md, "Evals on every checkpoint"). Shared by the validator,
// the planner (which fills `location`) and the control plane's `CheckpointEvals`, which turns each source into
// one eval task.

import Foundation

/// When a train job's checkpoints are evaluated by the control plane.
public enum EvalEvery: String, Codable, Sendable, CaseIterable {
    /// One eval job per registered checkpoint.
    case checkpoint
}

/// One held-out dataset evaluated at every checkpoint: a registered dataset or a dataset directory, and how many
/// batches of the run's `batchSize` x `sequenceLength` tokens to measure (the same batches every time).
public struct CheckpointEvalSource: Codable, Sendable, Equatable {
    public static let defaultBatches = 8
    public static let maxBatches = 100_000

    public var dataset: String?
    public var path: String?
    public var batches: Int?
    /// Filled by the planner: the directory (or URL) of `dataset`.
    public var location: String?

    public init(dataset: String? = nil, path: String? = nil, batches: Int? = nil, location: String? = nil) {
        self.dataset = dataset
        self.path = path
        self.batches = batches
        self.location = location
    }

    public var effectiveBatches: Int { batches ?? Self.defaultBatches }

    /// The same source as a mixture entry (what the planner resolves and the eval executor reads).
    public var dataSource: TrainDataSource {
        TrainDataSource(dataset: dataset, path: path, weight: nil, location: location)
    }
}
