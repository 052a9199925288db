import Foundation
import Postgres

// Statements of the `events` table (the audit trail). Every state change writes its event row in the same
// statement or transaction as the change; the column list is written here once and the data-modifying CTEs of
// the other tables' statements interpolate `EventSQL.insertInto`.

enum EventSQL {
    /// The columns every event insert writes (a batch event adds `task_ids`).
    private static let columns = "entity, entity_id, job_id, old_state, new_state, reason"

    /// The head of every event insert: `INSERT INTO events (...)` followed by a VALUES list or a SELECT.
    static let insertInto = "INSERT INTO events (\(columns))"

    /// One event per job for a batch of task rows moved together (a claim, a completion), instead of one per task:
    /// entity 'tasks', entity_id and job_id the job, `task_ids` the batch's tasks in id order, the reason `reason`
    /// (an SQL text expression) followed by the count, as in "leased to worker 3 (64 tasks)". `rows` is a CTE of
    /// the moved tasks with columns `id` and `job_id`. Two per-task events into the partitioned table were ~15 % of
    /// a batch-64 claim + completion (docs/leases.md, "Events per batch"); each task's attempts keep its own record.
    static func batchOfTasks(in rows: String, from old: String, to new: String, reason: String) -> String {
        """
        INSERT INTO events (\(columns), task_ids)
            SELECT '\(EventEntity.tasks.rawValue)', job_id, job_id, \(old), \(new),
                \(reason) || ' (' || count(*) || CASE WHEN count(*) = 1 THEN ' task)' ELSE ' tasks)' END,
                array_agg(id ORDER BY id)
            FROM \(rows) GROUP BY job_id
        """
    }

    /// One event row: $1 entity, $2 entity id, $3 job id (NULL for workers, queues, shards), $4 old state, $5 new state, $6 reason.
    static let insert = "\(insertInto) VALUES ($1, $2, $3, $4, $5, $6)"

    /// Events of one job and its tasks after an id: $1 job, $2 after id, $3 limit.
    static let ofJob = "SELECT * FROM events WHERE job_id = $1 AND id > $2 ORDER BY id LIMIT $3"

    /// Events after an id, optionally at or after a time: $1 after id, $2 since (NULL: any), $3 limit.
    static let page =
        "SELECT * FROM events WHERE id > $1 AND ($2::timestamptz IS NULL OR at >= $2) ORDER BY id LIMIT $3"

    /// The list routes' pages, newest first: $1 after id (the `since` bound), $2 before id (the cursor; NULL: from
    /// the newest), $3 limit; `ofJobNewestFirst` takes the job as $4. Two statements rather than `$4 IS NULL OR`,
    /// so each plans as one backward scan of its index (`events_pkey`, `events_job`).
    static let newestFirst = """
        SELECT * FROM events WHERE id > $1 AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3
        """
    static let ofJobNewestFirst = """
        SELECT * FROM events WHERE job_id = $4 AND id > $1 AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3
        """

    /// Events of one entity: $1 entity ("task"), $2 its id, $3 limit. A task's include the batch events that name
    /// it, found through its job (`events_job`).
    static let ofEntity = """
        SELECT * FROM (
            SELECT * FROM events WHERE entity = $1 AND entity_id = $2
            UNION ALL
            SELECT * FROM events
            WHERE $1 = 'task' AND entity = 'tasks' AND job_id = (SELECT job_id FROM tasks WHERE id = $2)
              AND $2 = ANY(task_ids)
        ) e ORDER BY id LIMIT $3
        """
}

/// What an event row is about (`events.entity`).
enum EventEntity: String {
    case job, task, worker, queue, dataset, shard, artifact, token
    /// A batch of one job's tasks moved together (`EventSQL.batchOfTasks`).
    case tasks
}

enum Events {
    /// Writes one event row on the caller's connection (inside the transaction that made the change).
    static func record(
        _ c: PostgresConnection, _ entity: EventEntity, _ id: Int64, job: Int64? = nil,
        from old: String?, to new: String, reason: String
    ) throws {
        try c.execute(
            EventSQL.insert,
            [
                .text(entity.rawValue), .int(id), job.map { .int($0) }, old.map { .text($0) },
                .text(new), .text(reason),
            ])
    }
}
