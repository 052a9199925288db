import ClusterModel
import Foundation
import Postgres

extension LeaseStore {
    /// Leases up to `limit` runnable tasks to `worker`: queued tasks whose backoff has passed and that are either
    /// placed on this worker by the scheduler or are unplaced tasks of single-replica jobs of unconfigured queues
    /// (no `kind: Queue`), reading no remote dataset (those wait for the scheduler's locality), of a kind the worker
    /// runs, that fit its free capacity and labels; highest priority first, then oldest. Rows are locked with
    /// FOR UPDATE SKIP LOCKED, so concurrent claims never wait for or hand out the same task. Returns the
    /// assignments (empty when nothing is runnable, or when the worker is draining or drained); throws when the
    /// worker is unknown or lost (it must register or heartbeat first). The claim counts as a heartbeat.
    ///
    /// One statement outside an explicit transaction (`TaskSQL.claim`): 1 round trip where the four steps
    /// (lock, candidates, pack, lease) took 7. When a claim or a scheduler commit of the same worker committed
    /// between the statement's snapshot and its lock of the worker row, the statement leases nothing and it runs
    /// again after locking the row first, in a transaction (3 more round trips; rare: only the worker's own
    /// concurrent polls and the scheduler's commits onto it take that lock).
    public func claimNext(for worker: WorkerID, limit: Int = 1, leaseDurationSeconds: TimeInterval = 60) throws
        -> [TaskLease]
    {
        guard limit >= 1 else { return [] }
        guard leaseDurationSeconds > 0 else {
            throw StoreError.invalid(field: "leaseDuration", message: "expected seconds > 0")
        }
        let running = try TaskTransitions.target(from: [.queued], .leased)
        let statement = TaskSQL.claim(limit: limit)
        let parameters: [PostgresValue?] = [
            worker.sql, .double(leaseDurationSeconds), .text(running.rawValue), .text(StoreChannel.jobChanged),
        ]
        let unlocked = try pool.retryingConflicts {
            try pool.withConnection { try Self.claim(statement, parameters, of: worker, $0) }
        }
        if let leases = unlocked { return leases }
        return try pool.transaction { c in
            try WorkerCapacity.lock([worker.rawValue], c)
            // Holding the row lock, no other taker can commit before this statement's snapshot is taken.
            guard let leases = try Self.claim(statement, parameters, of: worker, c) else {
                throw StoreError.conflict(
                    what: "claim for worker \(worker)",
                    message: "its capacity changed while the claim held its row lock; poll again")
            }
            return leases
        }
    }

    /// One run of `TaskSQL.claim`: the leases in packing order, or nil when its snapshot missed a capacity taker
    /// of this worker (nothing was leased).
    private static func claim(
        _ statement: String, _ parameters: [PostgresValue?], of worker: WorkerID, _ c: PostgresConnection
    ) throws -> [TaskLease]? {
        // Prepared: planning this statement cost more than running it (docs/leases.md).
        let rows = try c.query(prepared: statement, parameters)
        guard let first = rows.first, let state = try first.optionalString("worker_state") else {
            throw StoreError.unknownWorker(worker)
        }
        if state == WorkerState.draining.rawValue || state == WorkerState.drained.rawValue { return [] }
        guard state == WorkerState.alive.rawValue else { throw StoreError.workerNotAlive(worker, state: state) }
        guard try first.bool("fresh") else { return nil }
        return try rows.compactMap { row -> TaskLease? in
            guard let task = try row.optionalInt64("id") else { return nil }
            return TaskLease(
                task: TaskID(task), attempt: AttemptID(try row.int64("attempt_id")),
                attemptNumber: try row.int("number"), leaseDeadline: try row.date("lease_deadline"),
                job: JobID(try row.int64("job_id")), jobName: try row.string("job_name"),
                jobType: try row.string("job_type"), taskIndex: try row.int("task_index"),
                spec: try row.json("spec"), resources: try row.resources())
        }
    }
}
