import ClusterModel
import Foundation
import Postgres

extension TaskLogStore {
    /// The newest `limit` lines of a job (at most 10,000), oldest first.
    public func tail(job: JobID, limit: Int) throws -> [TaskLogRecord] {
        precondition(limit >= 1 && limit <= 10_000, "log tail of \(limit) lines")
        return try pool.retryingOnConnectionLoss {
            try pool.withConnection { c in
                try c.query(TaskLogSQL.tailOfJob, [job.sql, .int(Int64(limit))]).map(TaskLogRecord.init(row:))
            }
        }
    }
}
