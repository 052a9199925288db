import ClusterModel
import Foundation
import Postgres

/// A job that reads a dataset (`JobSQL.readersOfDataset`).
public struct DatasetReader: Sendable, Equatable {
    public var jobName: String
    public var state: JobState
}

extension JobStore {
    /// The newest `limit` jobs whose manifest reads the dataset named `dataset` (its own output excluded).
    public func readers(ofDataset dataset: String, limit: Int) throws -> [DatasetReader] {
        precondition(limit >= 1 && limit <= 10_000, "dataset readers: \(limit) rows")
        return try pool.retryingOnConnectionLoss {
            try pool.withConnection { c in
                try c.query(JobSQL.readersOfDataset, [.text(dataset), .int(Int64(limit))]).map { row in
                    DatasetReader(
                        jobName: try row.string("name"), state: JobState(rawValue: try row.string("state")) ?? .failed)
                }
            }
        }
    }
}
