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
        try query("job_id = $1 AND id > $2", [job.sql, .int(afterID)], limit: limit)
    }

    /// All events after `afterID`, optionally only those at or after `since`.
    public func list(afterID: Int64 = 0, since: Date? = nil, limit: Int = 1000) throws -> [EventRecord] {
        try query("id > $1 AND ($2::timestamptz IS NULL OR at >= $2)", [.int(afterID), since.map { .timestamp($0) }], limit: limit)
    }

    /// Events of one entity ("task", 42).
    public func list(entity: String, id: Int64, limit: Int = 1000) throws -> [EventRecord] {
        try query("entity = $1 AND entity_id = $2", [.text(entity), .int(id)], limit: limit)
    }

    private func query(_ condition: String, _ params: [PostgresValue?], limit: Int) throws -> [EventRecord] {
        try pool.retryingOnConnectionLoss {
            try pool.withConnection { c in
                try c.query("SELECT * FROM events WHERE \(condition) ORDER BY id LIMIT $\(params.count + 1)",
                            params + [.int(Int64(max(1, min(limit, 100_000))))]).map { row in
                    EventRecord(id: try row.int64("id"), at: try row.date("at"), entity: try row.string("entity"),
                                entityID: try row.int64("entity_id"), job: try row.optionalInt64("job_id").map(JobID.init),
                                oldState: try row.optionalString("old_state"), newState: try row.string("new_state"),
                                reason: try row.string("reason"))
                }
            }
        }
    }
}
