// Statements of attempts (leases). The lease lives in its task row while it runs (issue 15, docs/leases.md: the
// holder, the attempt's id and number, its deadline, preemption and token columns), set by the claim
// (`TaskSQL.claim`). An attempt that succeeds stays in its task row (`final_attempt_id`, migration 32:
// `TaskSQL.succeededAttemptStays`); any other attempt's row is written once, in its final state, into
// `attempts_ended` when it ends (`TaskSQL.endAttempts`, and the cancel and preemption statements here). The view
// `task_attempts` reads all three as one table for everything that only reads attempts.

enum AttemptSQL {
    /// The head of every insert of an ended attempt; `endedFromTask` gives the SELECT list.
    static let insertEnded = """
        INSERT INTO attempts_ended (id, task_id, number, worker_id, state, lease_seconds, lease_deadline, started_at,
            finished_at, error, preempt_deadline, preempt_reason, tokens_consumed, tokens_lost)
        """

    /// The SELECT list of `insertEnded` from task row `t` (its running attempt), ended in `state` with `error`
    /// (SQL expressions); the caller adds the FROM clause naming the task rows `t`.
    static func endedFromTask(state: String, error: String) -> String {
        """
        SELECT t.active_attempt_id, t.id, t.attempts, t.worker_id, \(state), t.lease_seconds, t.lease_deadline,
            t.attempt_started_at, now(), \(error), t.preempt_deadline, t.preempt_reason, t.attempt_tokens_consumed,
            t.attempt_tokens_lost
        """
    }

    /// The columns `LeaseStore.AttemptEnding(row:)` decodes: the running attempt of task row `t`, its job and the
    /// job's retry policy.
    static let endingColumns = """
        SELECT t.active_attempt_id AS id, t.id AS task_id, t.attempts AS number, t.worker_id, t.job_id, j.max_attempts,
               j.initial_backoff_seconds, j.max_backoff_seconds, j.backoff_multiplier
        FROM tasks t JOIN jobs j ON j.id = t.job_id
        """

    /// Active attempts $1 (held by worker $2 unless NULL), their tasks locked in id order, for failing.
    static let lockForFailure = """
        \(endingColumns)
        WHERE \(TaskSQL.liveAttempts(in: "$1")) AND ($2::bigint IS NULL OR t.worker_id = $2)
        ORDER BY t.id FOR UPDATE OF t
        """

    /// Active attempts whose lease deadline passed, oldest deadline first, at most $1, their tasks locked (SKIP
    /// LOCKED: replicas expiring together take disjoint sets). The running tasks are read through
    /// `tasks_running_worker` (a partial index of running tasks): the deadline itself is not indexed, so a
    /// heartbeat's extension writes no index entry, and a sweep reads the running tasks, which the cluster's
    /// capacity bounds.
    static let lockExpired = """
        \(endingColumns)
        WHERE t.state = 'running' AND t.active_attempt_id IS NOT NULL AND t.lease_deadline < now()
        ORDER BY t.lease_deadline LIMIT $1
        FOR UPDATE OF t SKIP LOCKED
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
        UPDATE tasks SET lease_deadline = now() + make_interval(secs => lease_seconds)
        WHERE worker_id = $1 AND state = 'running' AND active_attempt_id IS NOT NULL
          AND ($2::bigint[] IS NULL OR active_attempt_id = ANY($2::bigint[]))
        RETURNING active_attempt_id AS id
        """

    /// The leases of the lost workers $1 end now (the next expiry requeues their tasks).
    static let endLeasesOfWorkers = """
        UPDATE tasks SET lease_deadline = least(lease_deadline, now())
        WHERE state = 'running' AND active_attempt_id IS NOT NULL AND worker_id = ANY($1)
        """

    /// Cancels the active attempts of job $1's tasks with error $2, locking the tasks in id order first (a plain
    /// `UPDATE` locks in scan order, which after updates is not id order; a failure report locks by id too). The
    /// caller then moves the tasks (`TaskTransitions.move`, which clears `active_attempt_id`).
    static let cancelOfJob = """
        WITH l AS (
            SELECT t.* FROM tasks t
            WHERE t.job_id = $1 AND t.state = 'running' AND t.active_attempt_id IS NOT NULL
            ORDER BY t.id FOR UPDATE OF t
        )
        \(insertEnded)
        \(endedFromTask(state: "'cancelled'", error: "$2")) FROM l t
        """

    // MARK: Preemption

    /// The task of live attempt $1, locked; no row when the attempt is not live (then `endedState` says why).
    static let lockLive = """
        SELECT t.id AS task_id FROM tasks t WHERE \(TaskSQL.liveAttempt("$1")) FOR UPDATE OF t
        """

    /// The state and task of ended attempt $1 (its own row, or its task's when it succeeded).
    static let endedState = "SELECT state, task_id FROM task_attempts WHERE id = $1 AND state <> 'active'"

    /// Live attempt $1 is preempted with error $2 (its task row locked by `lockLive`; the caller then requeues the
    /// task, which clears `active_attempt_id`).
    static let markPreempted = """
        \(insertEnded)
        \(endedFromTask(state: "'preempted'", error: "$2"))
        FROM tasks t WHERE \(TaskSQL.liveAttempt("$1"))
        """

    /// Asks the live attempt of task $1 to stop by $2 (epoch seconds) for reason $3, once (a victim already being
    /// preempted keeps its first deadline), with a `preempting` event.
    static let markPreempting = """
        WITH marked AS (
            UPDATE tasks t SET preempt_deadline = to_timestamp($2), preempt_reason = $3
            WHERE t.id = $1 AND t.state = 'running' AND t.active_attempt_id IS NOT NULL AND t.preempt_deadline IS NULL
            RETURNING t.id, t.job_id
        )
        \(EventSQL.insertInto)
        SELECT 'task', id, job_id, 'running', 'preempting', $3 FROM marked
        """

    /// Worker $1's attempts asked to stop for preemption, with their deadlines. A running task always holds an
    /// attempt (only the claim moves a task to running, and it sets one), so `active_attempt_id IS NOT NULL` is not
    /// written: named, it let a plan made when no task ran read every running task through `tasks_active_attempt`
    /// for its order (`RunningTaskPlanTests`).
    static let pendingPreemptions = """
        SELECT active_attempt_id AS id, id AS task_id, preempt_deadline, coalesce(preempt_reason, '') AS reason
        FROM tasks
        WHERE worker_id = $1 AND state = 'running' AND preempt_deadline IS NOT NULL
        ORDER BY active_attempt_id
        """

    /// Attempts whose preemption grace period is over (`tasks_preempting`, a partial index of the few asked).
    static let overduePreemptions = """
        SELECT active_attempt_id AS id, coalesce(preempt_reason, '') AS reason FROM tasks
        WHERE state = 'running' AND active_attempt_id IS NOT NULL AND preempt_deadline IS NOT NULL
          AND preempt_deadline < now()
        """
}
