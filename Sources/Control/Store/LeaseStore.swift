import ClusterModel
import Foundation
import Postgres

public struct CompletionReport: Sendable, Equatable {
    public var attempt: AttemptID
    /// Result JSON text.
    public var result: String
    /// A committed shard to record with the completion (same transaction), when the task wrote one.
    public var shard: ShardCompletion?
    public init(attempt: AttemptID, result: String = "{}", shard: ShardCompletion? = nil) {
        self.attempt = attempt
        self.result = result
        self.shard = shard
    }
}

public struct FailureReport: Sendable, Equatable {
    public var attempt: AttemptID
    public var error: String
    /// False for errors that another attempt cannot fix (bad input): the task fails at once.
    public var retryable: Bool
    public init(attempt: AttemptID, error: String, retryable: Bool = true) {
        self.attempt = attempt
        self.error = error
        self.retryable = retryable
    }
}

/// The outcome of one report in a batch.
public enum ReportOutcome: Sendable, Equatable {
    /// Applied now.
    case applied
    /// The same report was applied before; nothing changed (idempotent retry).
    case alreadyApplied
    /// Refused, nothing changed (stale attempt, not owned, unknown).
    case refused(StoreError)
}

public struct ExpiredLeases: Sendable, Equatable {
    /// Tasks requeued for another attempt (after their backoff).
    public var requeued: [TaskID]
    /// Tasks that used up their attempts and failed.
    public var failed: [TaskID]
    /// Workers whose leases expired.
    public var workers: [WorkerID]
}

/// Leases: handing tasks to workers (claim) and taking their reports (complete, fail), and expiring
/// leases whose deadline passed. Claims and reports are set-based: one transaction per batch.
public struct LeaseStore: Sendable {
    public let pool: PostgresPool
    public init(pool: PostgresPool) { self.pool = pool }

    // MARK: Claiming

    /// Leases up to `limit` runnable tasks to `worker` in one transaction: queued tasks whose backoff
    /// has passed and that are either placed on this worker by the scheduler or are unplaced tasks of
    /// single-replica jobs of unconfigured queues (no `kind: Queue`), reading no remote dataset (those wait for the
    /// scheduler's locality), of a kind the worker runs, that fit its free capacity and labels; highest priority first,
    /// then oldest. Rows are locked with FOR UPDATE SKIP LOCKED, so concurrent claims never wait for
    /// or hand out the same task. Returns the assignments (empty when nothing is runnable).
    /// What holds capacity on worker `w`: its running tasks, and queued tasks the scheduler placed on it
    /// (a reservation; counting only running tasks let one claim take both a placed task and an unplaced
    /// task into the same capacity).
    static let holdsCapacity = "(t.worker_id = w.id AND t.state = 'running') OR (t.placed_worker_id = w.id AND t.state = 'queued')"

    public func claimNext(for worker: WorkerID, limit: Int = 1, leaseDuration: TimeInterval = 60) throws -> [TaskAssignment] {
        guard limit >= 1 else { return [] }
        guard leaseDuration > 0 else { throw StoreError.invalid(field: "leaseDuration", message: "expected seconds > 0") }
        let running = try TaskTransitions.target(from: [.queued], .leased)
        return try pool.transaction { c in
            // The worker row lock serializes claims of one worker and the scheduler's placements onto it, so
            // its capacity is not double-booked; what it holds is read after the lock (WorkerCapacity).
            try WorkerCapacity.lock([worker.rawValue], c)
            guard let w = try c.queryFirst("""
                SELECT w.state, w.labels, array_to_json(w.kinds)::text AS kinds_json,
                    coalesce((SELECT jsonb_agg(q.name) FROM queues q), '[]') AS configured_queues
                FROM workers w WHERE w.id = $1
                """, [worker.sql]) else { throw StoreError.unknownWorker(worker) }
            let state = try w.string("state")
            // A draining or drained worker simply gets nothing; a lost one must register or heartbeat first.
            if state == WorkerState.draining.rawValue || state == WorkerState.drained.rawValue { return [] }
            guard state == WorkerState.alive.rawValue else { throw StoreError.workerNotAlive(worker, state: state) }
            try c.execute("UPDATE workers SET last_heartbeat = now() WHERE id = $1", [worker.sql])
            guard var free = try WorkerCapacity.free(of: [worker.rawValue], c)[worker.rawValue] else { throw StoreError.unknownWorker(worker) }
            // Reads tasks only, in index order (tasks_runnable): the filters keep the planner's estimates
            // high, so it walks the index and stops after `limit` rows instead of sorting the queue.
            let labels = try StoreJSON.labels(try w.string("labels"), column: "labels")
            // Configured queues (a weight, a quota) run only what the scheduler places: it shares the cluster
            // by their weights and counts their quotas, which a first-come claim cannot. The filter is added
            // only while such queues exist, so the common case keeps its plain index walk.
            let configuredText = try w.string("configured_queues")
            guard let configuredQueues = (try? JSONSerialization.jsonObject(with: Data(configuredText.utf8))) as? [String] else {
                throw PostgresError.decoding(column: "configured_queues", expected: "a JSON array of queue names", found: configuredText)
            }
            var parameters: [PostgresValue?] = [worker.sql, .int(free.cpuMillis), .int(free.memoryBytes), .json(StoreJSON.encode(labels)),
                                                .json(StoreJSON.encode(accelerators: free.accelerators)), .int(Int64(limit))]
            var queueFilter = ""
            if !configuredQueues.isEmpty {
                parameters.append(.textArray(configuredQueues))
                queueFilter = "AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = t.job_id AND j.queue = ANY($\(parameters.count)::text[]))"
            }
            // Only kinds this worker has an executor for (a worker that registered no kinds takes any).
            let kinds = try StoreJSON.strings(try w.string("kinds_json"), column: "kinds")
            var kindFilter = ""
            if !kinds.isEmpty {
                parameters.append(.textArray(kinds))
                kindFilter = "AND t.kind = ANY($\(parameters.count)::text[])"
            }
            let candidates = try c.query("""
                SELECT t.id, t.job_id, t.task_index, t.spec, t.cpu_millis, t.memory_bytes, t.accelerators,
                       t.node_selector, t.placed_worker_id
                FROM tasks t
                WHERE t.state = 'queued' AND t.not_before <= now()
                  AND (t.placed_worker_id = $1
                       OR (t.placed_worker_id IS NULL AND NOT t.gang AND NOT t.reads_remote
                           AND t.cpu_millis <= $2 AND t.memory_bytes <= $3
                           \(queueFilter) \(kindFilter)
                           AND (t.node_selector = '{}'::jsonb OR $4::jsonb @> t.node_selector)
                           AND (t.accelerators = '{}'::jsonb
                                OR NOT EXISTS (SELECT 1 FROM jsonb_each_text(t.accelerators) a
                                               WHERE a.value::bigint > coalesce(($5::jsonb ->> a.key)::bigint, 0)))))
                ORDER BY t.priority DESC, t.id
                LIMIT $6
                FOR UPDATE OF t SKIP LOCKED
                """, parameters)
            // The configured-queue list above was read by an earlier statement: a submission that configured a
            // queue and queued its tasks may have committed in between. Looking again now (a later statement
            // sees at least what the candidate query saw) keeps such unplaced tasks for the scheduler.
            let unplacedIDs = try candidates.filter { try $0.optionalInt64("placed_worker_id") == nil }.map { try $0.int64("id") }
            let newlyConfigured: Set<Int64> = unplacedIDs.isEmpty ? [] : Set(try c.query("""
                SELECT t.id FROM tasks t JOIN jobs j ON j.id = t.job_id JOIN queues q ON q.name = j.queue
                WHERE t.id = ANY($1)
                """, [.intArray(unplacedIDs)]).map { try $0.int64("id") })
            // Pack greedily in priority order. Tasks placed here by the scheduler were already sized and
            // their reservation is already out of `free`; unplaced ones must fit in what is left.
            var picked: [PostgresRow] = []
            for row in candidates {
                let needs = try row.resources()
                if try row.optionalInt64("placed_worker_id") == nil {
                    guard !newlyConfigured.contains(try row.int64("id")) else { continue }
                    let selector = try StoreJSON.labels(try row.string("node_selector"), column: "node_selector")
                    guard needs.fits(in: free), selector.allSatisfy({ labels[$0.key] == $0.value }) else { continue }
                    free -= needs
                }
                picked.append(row)
            }
            guard !picked.isEmpty else { return [] }
            let leased = try c.query("""
                WITH a AS (
                    INSERT INTO task_attempts (task_id, number, worker_id, state, lease_seconds, lease_deadline)
                    SELECT t.id, t.attempts + 1, $2, 'active', $3, now() + make_interval(secs => $3)
                    FROM tasks t WHERE t.id = ANY($1)
                    RETURNING id, task_id, number, lease_deadline
                ), u AS (
                    UPDATE tasks t SET state = $4, attempts = a.number, worker_id = $2, active_attempt_id = a.id,
                        progress = NULL, progress_message = NULL,
                        started_at = coalesce(t.started_at, now()), updated_at = now()
                    FROM a WHERE t.id = a.task_id AND t.state = 'queued'
                    RETURNING t.id, t.job_id, a.id AS attempt_id, a.number, a.lease_deadline
                ), e AS (
                    INSERT INTO events (entity, entity_id, job_id, old_state, new_state, reason)
                    SELECT 'task', id, job_id, 'queued', $4, 'attempt ' || number || ' leased to worker ' || $2::text FROM u
                )
                SELECT u.id, u.attempt_id, u.number, u.lease_deadline, j.name AS job_name, j.type AS job_type, j.state AS job_state
                FROM u JOIN jobs j ON j.id = u.job_id
                """, [.intArray(try picked.map { try $0.int64("id") }), worker.sql, .double(leaseDuration), .text(running.rawValue)])
            var byTask: [Int64: PostgresRow] = [:]
            for row in leased { byTask[try row.int64("id")] = row }
            var assignments: [TaskAssignment] = []
            var startingJobs: Set<Int64> = []
            for row in picked {
                let id = try row.int64("id")
                guard let lease = byTask[id] else { continue }
                if try lease.string("job_state") == JobState.pending.rawValue { startingJobs.insert(try row.int64("job_id")) }
                assignments.append(TaskAssignment(
                    task: TaskID(id), attempt: AttemptID(try lease.int64("attempt_id")), attemptNumber: try lease.int("number"),
                    leaseDeadline: try lease.date("lease_deadline"), job: JobID(try row.int64("job_id")),
                    jobName: try lease.string("job_name"), jobType: try lease.string("job_type"), taskIndex: try row.int("task_index"),
                    spec: try row.json("spec"), resources: try row.resources()))
            }
            try JobLifecycle.refresh(c, jobs: startingJobs)
            return assignments
        }
    }

    /// The earliest future time a queued task's backoff ends, nil when none is waiting on a backoff.
    /// Long-polls use it to sleep exactly until then (tasks already runnable wake them by NOTIFY).
    public func nextRunnableAt() throws -> Date? {
        try pool.withConnection {
            try $0.queryOne("SELECT min(not_before) AS t FROM tasks WHERE state = 'queued' AND not_before > now()").optionalDate("t")
        }
    }

    // MARK: Progress

    /// Records progress of live attempts (the latest report wins). Reports of attempts that are no longer
    /// the live attempt of their task change nothing; their ids are returned.
    @discardableResult
    public func recordProgress(_ reports: [(attempt: AttemptID, fraction: Double, message: String?)], by worker: WorkerID) throws -> [AttemptID] {
        guard !reports.isEmpty else { return [] }
        return try pool.withConnection { try Self.recordProgress($0, reports, by: worker) }
    }

    /// The same on the caller's connection (a report batch is stored in one transaction).
    static func recordProgress(_ c: PostgresConnection, _ reports: [(attempt: AttemptID, fraction: Double, message: String?)],
                               by worker: WorkerID) throws -> [AttemptID] {
        guard !reports.isEmpty else { return [] }
        let updated = try c.query("""
            UPDATE tasks t SET progress = least(1, greatest(0, r.fraction)), progress_message = nullif(r.message, '')
            FROM unnest($1::bigint[], $2::float8[], $3::text[]) AS r(attempt, fraction, message)
            WHERE t.active_attempt_id = r.attempt AND t.worker_id = $4 AND t.state = 'running'
            RETURNING r.attempt
            """, [.intArray(reports.map(\.attempt.rawValue)), .doubleArray(reports.map(\.fraction)),
                  .textArray(reports.map { $0.message ?? "" }), worker.sql]).map { AttemptID(try $0.int64("attempt")) }
        let live = Set(updated)
        return reports.map(\.attempt).filter { !live.contains($0) }
    }

    // MARK: Reports

    /// Completes an attempt. Repeating the same report is a no-op; a report for an attempt that is no
    /// longer active throws `StoreError.staleAttempt` and changes nothing.
    public func complete(attempt: AttemptID, by worker: WorkerID? = nil, result: String = "{}") throws {
        let outcome = try complete([CompletionReport(attempt: attempt, result: result)], by: worker)[attempt]
        if case .refused(let error) = outcome { throw error }
    }

    /// Completes several attempts in one transaction; each report gets its own outcome.
    /// `worker`, when given, must hold every attempt (a worker token may only report its own).
    public func complete(_ reports: [CompletionReport], by worker: WorkerID? = nil) throws -> [AttemptID: ReportOutcome] {
        guard !reports.isEmpty else { return [:] }
        return try pool.idempotentTransaction { try Self.complete($0, reports, by: worker) }
    }

    /// The same inside the caller's transaction (a report batch is stored in one).
    static func complete(_ c: PostgresConnection, _ reports: [CompletionReport], by worker: WorkerID?) throws -> [AttemptID: ReportOutcome] {
        guard !reports.isEmpty else { return [:] }
        for (i, report) in reports.enumerated() { try StoreJSON.validate(report.result, field: "reports[\(i)].result") }
        let succeeded = try TaskTransitions.target(from: [.running], .completed)
        let done = try c.query("""
            WITH r AS (
                SELECT * FROM unnest($1::bigint[], $2::text[]) AS r(attempt_id, result)
            ), a AS (
                UPDATE task_attempts a SET state = 'succeeded', finished_at = now()
                FROM r WHERE a.id = r.attempt_id AND a.state = 'active' AND ($3::bigint IS NULL OR a.worker_id = $3)
                RETURNING a.id, a.task_id, a.number, r.result
            ), u AS (
                UPDATE tasks t SET state = $4, result = a.result::jsonb, worker_id = NULL, active_attempt_id = NULL,
                    finished_at = now(), updated_at = now()
                FROM a WHERE t.id = a.task_id AND t.state = 'running'
                RETURNING t.id, t.job_id, a.id AS attempt_id, a.number
            ), e AS (
                INSERT INTO events (entity, entity_id, job_id, old_state, new_state, reason)
                SELECT 'task', id, job_id, 'running', $4, 'attempt ' || number || ' completed' FROM u
            )
            SELECT attempt_id, job_id FROM u
            """, [.intArray(reports.map { $0.attempt.rawValue }), .textArray(reports.map(\.result)),
                  worker?.sql, .text(succeeded.rawValue)])
        var outcomes: [AttemptID: ReportOutcome] = [:]
        var jobs: Set<Int64> = []
        let shards = Dictionary(reports.compactMap { r in r.shard.map { (r.attempt, $0) } }, uniquingKeysWith: { a, _ in a })
        for row in done {
            let attempt = AttemptID(try row.int64("attempt_id"))
            outcomes[attempt] = .applied
            jobs.insert(try row.int64("job_id"))
            // The shard becomes known exactly when its task succeeds: both or neither commit.
            try shards[attempt]?.record(c, job: JobID(try row.int64("job_id")))
        }
        let rest = reports.map(\.attempt).filter { outcomes[$0] == nil }
        for (id, outcome) in try classify(c, rest, by: worker, finishedAs: .succeeded) { outcomes[id] = outcome }
        // A completion can only finish its job. Skip the job-row lock (which serializes reporters)
        // while some other unfinished task is not being changed by anyone right now: that task's
        // own report will do the check. Tasks locked by in-flight transactions are skipped, so
        // of two reporters finishing the last tasks together, at least the later one refreshes.
        var mayHaveFinished: Set<Int64> = []
        for job in jobs where try c.queryFirst("""
            SELECT id FROM tasks WHERE job_id = $1 AND state <> 'succeeded' LIMIT 1 FOR SHARE SKIP LOCKED
            """, [.int(job)]) == nil {
            mayHaveFinished.insert(job)
        }
        try JobLifecycle.refresh(c, jobs: mayHaveFinished)
        return outcomes
    }

    /// Fails an attempt: the task is requeued with exponential backoff while attempts remain and the
    /// error is retryable, else it fails. Idempotent and stale-safe like `complete`.
    public func fail(attempt: AttemptID, by worker: WorkerID? = nil, error: String, retryable: Bool = true) throws {
        let outcome = try fail([FailureReport(attempt: attempt, error: error, retryable: retryable)], by: worker)[attempt]
        if case .refused(let error) = outcome { throw error }
    }

    public func fail(_ reports: [FailureReport], by worker: WorkerID? = nil) throws -> [AttemptID: ReportOutcome] {
        guard !reports.isEmpty else { return [:] }
        return try pool.idempotentTransaction { try Self.fail($0, reports, by: worker) }
    }

    /// The same inside the caller's transaction (a report batch is stored in one).
    static func fail(_ c: PostgresConnection, _ reports: [FailureReport], by worker: WorkerID?) throws -> [AttemptID: ReportOutcome] {
        guard !reports.isEmpty else { return [:] }
        let rows = try c.query("""
            SELECT a.id, a.task_id, a.number, a.worker_id, t.job_id, j.max_attempts, j.initial_backoff_seconds,
                   j.max_backoff_seconds, j.backoff_multiplier
            FROM task_attempts a JOIN tasks t ON t.id = a.task_id JOIN jobs j ON j.id = t.job_id
            WHERE a.id = ANY($1) AND a.state = 'active' AND t.state = 'running' AND ($2::bigint IS NULL OR a.worker_id = $2)
            ORDER BY a.id FOR UPDATE OF a, t
            """, [.intArray(reports.map { $0.attempt.rawValue }), worker?.sql])
        let byAttempt = Dictionary(reports.map { ($0.attempt, $0) }, uniquingKeysWith: { first, _ in first })
        var endings: [AttemptEnding] = []
        for row in rows {
            let id = AttemptID(try row.int64("id"))
            guard let report = byAttempt[id] else { continue }
            endings.append(try AttemptEnding(row: row, attemptState: .failed, retryable: report.retryable, error: report.error))
        }
        let applied = try end(c, endings)
        var outcomes: [AttemptID: ReportOutcome] = [:]
        for id in applied { outcomes[id] = .applied }
        let rest = reports.map(\.attempt).filter { outcomes[$0] == nil }
        for (id, outcome) in try classify(c, rest, by: worker, finishedAs: .failed) { outcomes[id] = outcome }
        return outcomes
    }

    /// Ends attempts whose lease deadline passed: each becomes `expired`; its task is requeued with
    /// backoff, or fails when it has used its attempts. Safe to run from several control-plane
    /// replicas at once (SKIP LOCKED). Handles at most `limit` leases per call.
    @discardableResult
    public func expireLeases(limit: Int = 1000) throws -> ExpiredLeases {
        try pool.idempotentTransaction { c in
            let rows = try c.query("""
                SELECT a.id, a.task_id, a.number, a.worker_id, t.job_id, j.max_attempts, j.initial_backoff_seconds,
                       j.max_backoff_seconds, j.backoff_multiplier
                FROM task_attempts a JOIN tasks t ON t.id = a.task_id JOIN jobs j ON j.id = t.job_id
                WHERE a.state = 'active' AND a.lease_deadline < now() AND t.state = 'running'
                ORDER BY a.lease_deadline LIMIT $1
                FOR UPDATE OF a, t SKIP LOCKED
                """, [.int(Int64(limit))])
            let endings = try rows.map {
                try AttemptEnding(row: $0, attemptState: .expired, retryable: true, error: "lease expired (no heartbeat before the deadline)")
            }
            _ = try Self.end(c, endings)
            return ExpiredLeases(requeued: endings.filter { $0.taskState == .queued }.map { TaskID($0.task) },
                                 failed: endings.filter { $0.taskState == .failed }.map { TaskID($0.task) },
                                 workers: Array(Set(endings.map { WorkerID($0.worker) })).sorted())
        }
    }

    // MARK: Internals

    /// How one active attempt ends and what becomes of its task.
    struct AttemptEnding {
        var attempt: Int64
        var task: Int64
        var worker: Int64
        var attemptState: AttemptState
        var taskState: TaskState
        var backoffSeconds: Double
        var error: String
        var number: Int

        init(row: PostgresRow, attemptState: AttemptState, retryable: Bool, error: String) throws {
            attempt = try row.int64("id")
            task = try row.int64("task_id")
            worker = try row.int64("worker_id")
            number = try row.int("number")
            let policy = RetryPolicy(maxAttempts: try row.int("max_attempts"),
                                     initialBackoffSeconds: try row.double("initial_backoff_seconds"),
                                     maxBackoffSeconds: try row.double("max_backoff_seconds"),
                                     multiplier: try row.double("backoff_multiplier"))
            let retriesLeft = retryable && policy.allowsRetry(afterAttempt: number)
            self.attemptState = attemptState
            taskState = try TaskState.running.after(.attemptFailed(retriesLeft: retriesLeft))
            backoffSeconds = retriesLeft ? policy.backoffSeconds(afterAttempt: number) : 0
            self.error = error
        }
    }

    /// Applies attempt endings set-based; returns the attempts ended.
    private static func end(_ c: PostgresConnection, _ endings: [AttemptEnding]) throws -> [AttemptID] {
        guard !endings.isEmpty else { return [] }
        let rows = try c.query("""
            WITH r AS (
                SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::float8[], $5::text[])
                    AS r(attempt_id, attempt_state, task_state, delay, error)
            ), a AS (
                UPDATE task_attempts a SET state = r.attempt_state, finished_at = now(), error = r.error
                FROM r WHERE a.id = r.attempt_id AND a.state = 'active'
                RETURNING a.id, a.task_id, a.number, r.attempt_state, r.task_state, r.delay, r.error
            ), u AS (
                UPDATE tasks t SET state = a.task_state, worker_id = NULL, active_attempt_id = NULL, placed_worker_id = NULL,
                    not_before = now() + make_interval(secs => a.delay), error = a.error, updated_at = now(),
                    finished_at = CASE WHEN a.task_state = 'failed' THEN now() END
                FROM a WHERE t.id = a.task_id AND t.state = 'running'
                RETURNING t.id, t.job_id, a.id AS attempt_id, a.number, a.attempt_state, a.task_state, a.delay, a.error
            ), e AS (
                INSERT INTO events (entity, entity_id, job_id, old_state, new_state, reason)
                SELECT 'task', id, job_id, 'running', task_state,
                       'attempt ' || number || ' ' || attempt_state || ': ' || error ||
                       CASE WHEN task_state = 'queued' THEN ' (retry in ' || delay || 's)' ELSE '' END
                FROM u
            )
            SELECT attempt_id, job_id, task_state FROM u
            """, [.intArray(endings.map(\.attempt)), .textArray(endings.map(\.attemptState.rawValue)),
                  .textArray(endings.map(\.taskState.rawValue)), .doubleArray(endings.map(\.backoffSeconds)),
                  .textArray(endings.map(\.error))])
        var jobs: Set<Int64> = []
        var requeued = false
        var ended: [AttemptID] = []
        for row in rows {
            ended.append(AttemptID(try row.int64("attempt_id")))
            jobs.insert(try row.int64("job_id"))
            if try row.string("task_state") == TaskState.queued.rawValue { requeued = true }
        }
        if requeued { try c.notify(channel: StoreChannel.taskRunnable) }
        try JobLifecycle.refresh(c, jobs: jobs)
        return ended
    }

    /// Why reports for `attempts` were not applied: already finished the same way (idempotent
    /// repeat), held by another worker, unknown, or no longer active (stale).
    private static func classify(_ c: PostgresConnection, _ attempts: [AttemptID], by worker: WorkerID?,
                                 finishedAs: AttemptState) throws -> [AttemptID: ReportOutcome] {
        guard !attempts.isEmpty else { return [:] }
        var found: [AttemptID: (state: String, worker: Int64)] = [:]
        for row in try c.query("SELECT id, state, worker_id FROM task_attempts WHERE id = ANY($1)",
                               [.intArray(attempts.map(\.rawValue))]) {
            found[AttemptID(try row.int64("id"))] = (try row.string("state"), try row.int64("worker_id"))
        }
        var outcomes: [AttemptID: ReportOutcome] = [:]
        for id in attempts {
            guard let attempt = found[id] else { outcomes[id] = .refused(.unknownAttempt(id)); continue }
            if let worker, attempt.worker != worker.rawValue {
                outcomes[id] = .refused(.attemptNotOwned(id, by: worker))
            } else if attempt.state == finishedAs.rawValue {
                outcomes[id] = .alreadyApplied
            } else {
                outcomes[id] = .refused(.staleAttempt(id, state: attempt.state))
            }
        }
        return outcomes
    }
}
