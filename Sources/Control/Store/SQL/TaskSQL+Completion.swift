// A completion as one statement (issue 15, docs/leases.md): for a batch that finishes no job, outside an
// explicit transaction. At batch 1 a completion cost 3 round trips (BEGIN, `complete`, COMMIT); this is 1.

extension TaskSQL {
    /// Completes active attempts $1 with results $2 (held by worker $3 unless NULL), tasks moved to $4
    /// (succeeded), one event per job naming its tasks — unless the batch may finish one of its jobs, in which case
    /// it changes nothing: a finished job needs its state derived under its row lock from a snapshot taken after
    /// that lock (`JobLifecycle.refresh`), which one statement cannot take, so the caller completes such a batch with
    /// `complete` in a transaction. Returns `applied` (false: nothing changed, the batch may finish a job) and,
    /// when applied, one row per completed attempt.
    ///
    /// The lease lives in the task row (issue 15, docs/leases.md), and the attempt that succeeds stays there
    /// (`succeededAttemptStays`, migration 32). The batch's tasks are locked first, in task-id order as a failure
    /// report locks them (`AttemptSQL.lockForFailure`; docs/postgres-store.md, "Lock order"), and only then is each job
    /// probed for another unfinished task nobody is changing right now (FOR SHARE SKIP LOCKED, as in `complete`): of
    /// two batches finishing a job's last tasks together, the later probe skips the task the other holds and sends its
    /// batch to `complete`, which refreshes the job. Probing before locking its own tasks, two such batches could each
    /// share-lock the other's task and then wait for each other's. The probe is ordered by state so that it walks
    /// `tasks_job_state`, where every unfinished state sorts before `succeeded`; unordered, PostgreSQL read the table
    /// from its start past every task already succeeded (`CompletionProbePlanTests`).
    static let completeUnlessFinishing = completion(committing: "")

    /// `completeUnlessFinishing` whose commit does not wait for its WAL flush (`CompletionFlush.byTheNextClaim`):
    /// `set_config(..., true)` sets `synchronous_commit` for this statement's own transaction, which commits when
    /// the statement ends, and the session's setting is back afterwards. Returns the setting it ran with
    /// (`synchronous_commit`, 'off').
    static let completeUnlessFinishingFlushedByTheNextClaim = completion(
        committing: ", (SELECT set_config('synchronous_commit', 'off', true) AS synchronous_commit) lazy")

    /// The completion with `lazy`, a one-row FROM item that sets the commit's mode ("" for the default).
    private static func completion(committing lazy: String) -> String {
        """
        WITH \(reportedAttempts), go AS (
            SELECT NOT coalesce(bool_or(p.id IS NULL), false) AS ok
            FROM (SELECT DISTINCT job_id FROM own) j
            LEFT JOIN LATERAL (
                SELECT x.id FROM tasks x
                WHERE x.job_id = j.job_id AND x.state <> 'succeeded' AND x.id NOT IN (SELECT id FROM own)
                ORDER BY x.state LIMIT 1 FOR SHARE OF x SKIP LOCKED
            ) p ON true
        ), u AS (
            UPDATE tasks t SET state = $4, result = own.reported_result::jsonb, \(succeededAttemptStays),
                finished_at = now(), updated_at = now()
            FROM own WHERE t.id = own.id AND (SELECT g.ok FROM go g)
            RETURNING t.id, t.job_id, own.active_attempt_id AS attempt_id, own.attempts AS number
        ), e AS (
            \(EventSQL.batchOfTasks(in: "u", from: "'running'", to: "$4", reason: "'completed'"))
        )
        SELECT g.ok AS applied, u.attempt_id\(lazy.isEmpty ? "" : ", lazy.synchronous_commit")
        FROM go g\(lazy) LEFT JOIN u ON true
        """
    }
}
