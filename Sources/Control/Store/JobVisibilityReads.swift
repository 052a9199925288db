import ClusterModel
import Foundation
import Postgres

extension JobStore {
    /// A page of the jobs in `queues`, newest first (`JobSQL.pageInQueues`; `list` for one queue or all).
    public func list(state: JobState?, inQueues queues: [String], limit: Int, beforeID: JobID?) throws -> [JobRecord] {
        try pool.retryingOnConnectionLoss {
            try pool.withConnection {
                try $0.query(
                    JobSQL.pageInQueues,
                    [
                        state.map { .text($0.rawValue) }, beforeID?.sql, .int(Int64(max(1, min(limit, 10_001)))),
                        .textArray(queues),
                    ]
                )
                .map(JobRecord.init(row:))
            }
        }
    }
}
