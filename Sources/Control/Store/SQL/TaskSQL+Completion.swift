// A completion as one statement (issue 15, docs/leases.md): for a batch that finishes no job, outside an
// explicit transaction. At batch 1 a completion cost 3 round trips (BEGIN, `complete`, COMMIT); this is 1.

extension TaskSQL {
    /// Completes active attempts $1 with results $2 (held by worker $3 unless NULL), tasks moved to $4
    /// (succeeded), one event each — unless the batch may finish one of its jobs, in which case it changes
    /// nothing: a finished job needs its state derived under its row lock from a snapshot taken after that lock
    /// (`JobLifecycle.refresh`), which one statement cannot take, so the caller completes such a batch with
    /// `complete` in a transaction. Returns `applied` (false: nothing changed, the batch may finish a job) and,
    /// when applied, one row per completed attempt.
    ///
    /// The batch's attempts and tasks are locked first, in attempt-id order as a failure report locks them
    /// (`AttemptSQL.lockForFailure`; docs/postgres-store.md, "Lock order"), and only then is each job probed for
    /// another unfinished task nobody is changing right now (FOR SHARE SKIP LOCKED, as in `complete`): of two
    /// batches finishing a job's last tasks together, the later probe skips the task the other holds and sends
    /// its batch to `complete`, which refreshes the job. Probing before locking its own tasks, two such batches
    /// could each share-lock the other's task and then wait for each other's.
    static let completeUnlessFinishing = """
        WITH r AS (
            SELECT * FROM unnest($1::bigint[], $2::text[]) AS r(attempt_id, result)
        ), own AS (
            SELECT a.id AS attempt_id, a.task_id, a.number, t.job_id, r.result
            FROM r JOIN task_attempts a ON a.id = r.attempt_id JOIN tasks t ON t.id = a.task_id
            WHERE a.state = 'active' AND t.state = 'running' AND ($3::bigint IS NULL OR a.worker_id = $3)
            ORDER BY a.id
            FOR UPDATE OF a, t
        ), go AS (
            SELECT NOT coalesce(bool_or(p.id IS NULL), false) AS ok
            FROM (SELECT DISTINCT job_id FROM own) j
            LEFT JOIN LATERAL (
                SELECT x.id FROM tasks x
                WHERE x.job_id = j.job_id AND x.state <> 'succeeded' AND x.id NOT IN (SELECT task_id FROM own)
                LIMIT 1 FOR SHARE OF x SKIP LOCKED
            ) p ON true
        ), a AS (
            UPDATE task_attempts a SET state = 'succeeded', finished_at = now()
            FROM own WHERE a.id = own.attempt_id AND a.state = 'active' AND (SELECT g.ok FROM go g)
            RETURNING a.id, own.task_id, own.number, own.result
        ), u AS (
            UPDATE tasks t SET state = $4, result = a.result::jsonb, worker_id = NULL, active_attempt_id = NULL,
                finished_at = now(), updated_at = now()
            FROM a WHERE t.id = a.task_id AND t.state = 'running'
            RETURNING t.id, t.job_id, a.id AS attempt_id, a.number
        ), e AS (
            \(EventSQL.insertInto)
            SELECT 'task', id, job_id, 'running', $4, 'attempt ' || number || ' completed' FROM u
        )
        SELECT g.ok AS applied, u.attempt_id FROM go g LEFT JOIN u ON true
        """
}
