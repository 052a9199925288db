import ClusterModel
import Foundation
import Postgres

/// The audit trail, read-only: every state change of jobs, tasks and workers, oldest first.
/// Page with `afterID` (the last id seen).
public struct EventStore: Sendable {
    public let pool: PostgresPool
    public init(pool: PostgresPool) { self.pool = pool }

    /// Events of one job and its tasks.
    public func list(job: JobID, afterID: Int64 = 0, limit: Int = 1000) throws -> [EventRecord] {
        try query(EventSQL.ofJob, [job.sql, .int(afterID)], limit: limit)
    }

    /// All events after `afterID`, optionally only those at or after `since`.
    public func list(afterID: Int64 = 0, since: Date? = nil, limit: Int = 1000) throws -> [EventRecord] {
        try query(EventSQL.page, [.int(afterID), since.map { .timestamp($0) }], limit: limit)
    }

    /// Events of one entity ("task", 42).
    public func list(entity: String, id: Int64, limit: Int = 1000) throws -> [EventRecord] {
        try query(EventSQL.ofEntity, [.text(entity), .int(id)], limit: limit)
    }

    /// Runs one of the `EventSQL` reads; `limit` is its last parameter.
    private func query(_ statement: String, _ params: [PostgresValue?], limit: Int) throws -> [EventRecord] {
        try pool.retryingOnConnectionLoss {
            try pool.withConnection { c in
                try c.query(statement, params + [.int(Int64(max(1, min(limit, 100_000))))]).map(EventRecord.init(row:))
            }
        }
    }
}
