// Statements of the `task_attempts` table (leases). An attempt is created by the claim (`TaskSQL.claim`) and
// ended with its task (`TaskSQL.complete`, `TaskSQL.endAttempts`); these read, extend and mark them.

enum AttemptSQL {
    /// The columns `LeaseStore.AttemptEnding(row:)` decodes: the attempt, its task's job and the job's retry policy.
    static let endingColumns = """
        SELECT a.id, a.task_id, a.number, a.worker_id, t.job_id, j.max_attempts, j.initial_backoff_seconds,
               j.max_backoff_seconds, j.backoff_multiplier
        FROM task_attempts a JOIN tasks t ON t.id = a.task_id JOIN jobs j ON j.id = t.job_id
        """

    /// Active attempts $1 of running tasks (held by worker $2 unless NULL), locked with their tasks, for failing.
    static let lockForFailure = """
        \(endingColumns)
        WHERE a.id = ANY($1) AND a.state = 'active' AND t.state = 'running' AND ($2::bigint IS NULL OR a.worker_id = $2)
        ORDER BY a.id FOR UPDATE OF a, t
        """

    /// Active attempts whose lease deadline passed, oldest deadline first, at most $1, locked (SKIP LOCKED: replicas
    /// expiring together take disjoint sets).
    static let lockExpired = """
        \(endingColumns)
        WHERE a.state = 'active' AND a.lease_deadline < now() AND t.state = 'running'
        ORDER BY a.lease_deadline LIMIT $1
        FOR UPDATE OF a, t SKIP LOCKED
        """

    /// State and worker of the attempts $1 (why a report was not applied).
    static let statesAndWorkers = "SELECT id, state, worker_id FROM task_attempts WHERE id = ANY($1)"

    /// The attempts of task $1 with their workers' names, oldest first.
    static let ofTask = """
        SELECT a.*, w.name AS worker_name FROM task_attempts a LEFT JOIN workers w ON w.id = a.worker_id
        WHERE a.task_id = $1 ORDER BY a.number
        """

    /// Attempt $1's worker and job (ownership of appended logs and metrics).
    static let workerAndJob = """
        SELECT a.worker_id, t.job_id FROM task_attempts a JOIN tasks t ON t.id = a.task_id WHERE a.id = $1
        """

    /// Extends the active leases of worker $1 by their lease duration (only the attempts $2 unless NULL).
    static let extendLeases = """
        UPDATE task_attempts SET lease_deadline = now() + make_interval(secs => lease_seconds)
        WHERE worker_id = $1 AND state = 'active' AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[])) RETURNING id
        """

    /// The leases of the lost workers $1 end now (the next expiry requeues their tasks).
    static let endLeasesOfWorkers = """
        UPDATE task_attempts SET lease_deadline = least(lease_deadline, now()) WHERE state = 'active' AND worker_id = ANY($1)
        """

    /// Cancels the active attempts of job $1's tasks with error $2, locking them in id order first (a plain
    /// `UPDATE` locks in scan order, which after updates is not id order; a failure report locks by id too).
    static let cancelOfJob = """
        WITH l AS (
            SELECT a.id FROM task_attempts a JOIN tasks t ON t.id = a.task_id
            WHERE t.job_id = $1 AND a.state = 'active'
            ORDER BY a.id FOR UPDATE OF a
        )
        UPDATE task_attempts a SET state = 'cancelled', finished_at = now(), error = $2
        FROM l WHERE a.id = l.id AND a.state = 'active'
        """

    // MARK: Preemption

    static let lockState = "SELECT a.state, a.task_id FROM task_attempts a WHERE a.id = $1 FOR UPDATE"

    /// Attempt $1 is preempted with error $2.
    static let markPreempted =
        "UPDATE task_attempts SET state = 'preempted', finished_at = now(), error = $2 WHERE id = $1"

    /// Asks the live attempt of task $1 to stop by $2 (epoch seconds) for reason $3, once (a victim already being
    /// preempted keeps its first deadline), with a `preempting` event.
    static let markPreempting = """
        WITH marked AS (
            UPDATE task_attempts a SET preempt_deadline = to_timestamp($2), preempt_reason = $3
            FROM tasks t
            WHERE t.id = $1 AND a.id = t.active_attempt_id AND a.state = 'active' AND a.preempt_deadline IS NULL
            RETURNING t.id, t.job_id
        )
        \(EventSQL.insertInto)
        SELECT 'task', id, job_id, 'running', 'preempting', $3 FROM marked
        """

    /// Worker $1's attempts asked to stop for preemption, with their deadlines.
    static let pendingPreemptions = """
        SELECT id, task_id, preempt_deadline, coalesce(preempt_reason, '') AS reason FROM task_attempts
        WHERE worker_id = $1 AND state = 'active' AND preempt_deadline IS NOT NULL ORDER BY id
        """

    /// Attempts whose preemption grace period is over.
    static let overduePreemptions = """
        SELECT id, coalesce(preempt_reason, '') AS reason FROM task_attempts
        WHERE state = 'active' AND preempt_deadline IS NOT NULL AND preempt_deadline < now()
        """
}
