// Statements of the `tasks` table: submission, the claim (the hot path: `TaskSQL.claim`), reports,
// placements and the scheduler's reads. A statement that changes task states writes their event rows in the
// same statement (`EventSQL.insertInto` in a data-modifying CTE).

enum TaskSQL {
    /// What holds capacity on the worker whose id is the SQL expression `worker`, as a FROM item of `cpu_millis`,
    /// `memory_bytes` and `accelerators`: its running tasks, and queued tasks the scheduler placed on it (a
    /// reservation; counting only running tasks let one claim take both a placed task and an unplaced task into the
    /// same capacity).
    ///
    /// Two plain index scans, one per kind (`tasks_running_worker`, `tasks_placed_worker`). Written as one
    /// condition, `(worker_id = w AND state = 'running') OR (placed_worker_id = w AND state = 'queued')`, it was a
    /// bitmap scan, and a bitmap scan never marks an index entry dead: a claim of 64 visited the heap pages of every
    /// task the worker had finished since the last vacuum (832 entries, 35 pages, 0 rows), where the index scans
    /// read 9–16 buffers. `StoreBench --batch 64` over a 50,000-task drain ran +47, +11, +24 % in one alternating
    /// series and +6, −7, −3 % in a second (docs/leases.md, "A claim's cost and the cluster's other running tasks";
    /// `RunningTaskPlanTests`).
    ///
    /// The claim passes its parameter (`$1`) rather than joining a one-row `(SELECT $1 AS id) w`: through the join,
    /// the cached plan read every running task of the cluster and filtered by worker.
    static func capacityHolders(of worker: String) -> String {
        """
        (SELECT h.cpu_millis, h.memory_bytes, h.accelerators FROM tasks h
         WHERE h.worker_id = \(worker) AND h.state = 'running'
         UNION ALL
         SELECT h.cpu_millis, h.memory_bytes, h.accelerators FROM tasks h
         WHERE h.placed_worker_id = \(worker) AND h.state = 'queued')
        """
    }

    // MARK: Submission

    /// Inserts a job's tasks with one `submitted` event each: $1 job, $2 specs (text[], one task each, in index
    /// order), $3 cpu, $4 memory, $5 accelerators, $6 priority, $7 gang, $8 initial state, $9 node selector,
    /// $10 placed only by the scheduler (remote data, admission checks: `NewJob.placedByScheduler`), $11 kind.
    static let insert = """
        WITH t AS (
            INSERT INTO tasks (job_id, task_index, spec, cpu_millis, memory_bytes, accelerators, priority, gang, state, node_selector,
                               reads_remote, kind)
            SELECT $1, u.n - 1, u.spec::jsonb, $3, $4, $5::jsonb, $6, $7, $8, $9::jsonb, $10, $11
            FROM unnest($2::text[]) WITH ORDINALITY AS u(spec, n)
            RETURNING id
        )
        \(EventSQL.insertInto)
        SELECT 'task', id, $1, NULL, $8, 'submitted' FROM t
        """

    // MARK: Claiming (the claim itself is `TaskSQL.claim`, TaskSQL+Claim.swift)

    /// The earliest future end of a queued task's backoff (NULL when none waits on one).
    static let nextRunnableAt = "SELECT min(not_before) AS t FROM tasks WHERE state = 'queued' AND not_before > now()"

    // MARK: Reports

    /// Progress of live attempts: $1 attempt ids, $2 fractions, $3 messages ('' for none), $4 worker. Returns the
    /// attempts that were live.
    static let recordProgress = """
        UPDATE tasks t SET progress = least(1, greatest(0, r.fraction)), progress_message = nullif(r.message, '')
        FROM unnest($1::bigint[], $2::float8[], $3::text[]) AS r(attempt, fraction, message)
        WHERE t.active_attempt_id = r.attempt AND \(liveAttempts(in: "$1::bigint[]")) AND t.worker_id = $4
        RETURNING r.attempt
        """

    /// The live attempts (of task rows `t`) whose ids are in the array `ids`: a range of `tasks_active_attempt`. The
    /// state is compared through an expression, which keeps `tasks_running_worker` (partial on `state = 'running'`)
    /// out of the plan's choices. Naming the state plainly, a cached plan made when the statistics counted no
    /// running task could read every running task of the cluster and filter them: a completion of 64 read 256 rows
    /// and made 4,032 comparisons in `StoreBench`, and with 20,000 tasks running elsewhere it read 20,192 rows
    /// (`RunningTaskPlanTests`; docs/leases.md, "A claim's cost and the cluster's other running tasks").
    static func liveAttempts(in ids: String) -> String {
        "t.active_attempt_id = ANY(\(ids)) AND (t.state || '') = 'running'"
    }

    /// `liveAttempts(in:)` of the one attempt id `id`.
    static func liveAttempt(_ id: String) -> String {
        "t.active_attempt_id = \(id) AND (t.state || '') = 'running'"
    }

    /// The completion statements' first two CTEs: `r`, the reports ($1 attempt ids, $2 results), and `own`, the
    /// running task rows holding those attempts (by worker $3 unless NULL) with `reported_result`, locked in id order.
    static let reportedAttempts = """
        r AS (
            SELECT * FROM unnest($1::bigint[], $2::text[]) AS r(attempt_id, result)
        ), own AS (
            SELECT t.*, r.result AS reported_result
            FROM r JOIN tasks t ON t.active_attempt_id = r.attempt_id
            WHERE \(liveAttempts(in: "$1::bigint[]")) AND ($3::bigint IS NULL OR t.worker_id = $3)
            ORDER BY t.id
            FOR UPDATE OF t
        )
        """

    /// What a completion sets besides the task's state and result: the attempt that succeeds stays in the task row
    /// as `final_attempt_id` and `final_worker_id` (migration 32; the view `task_attempts` reads it there), and the
    /// live-lease columns that name it are cleared. Its other columns (number, lease, start, tokens) are the row's
    /// already. No `attempts_ended` row is written for it: that row, its two index entries and its foreign-key check
    /// were ~12 % of a batch-64 claim + completion in the lease model (docs/leases.md, "The attempt that succeeds,
    /// and a completion the claim flushes").
    static let succeededAttemptStays = """
        final_attempt_id = own.active_attempt_id, final_worker_id = own.worker_id,
        worker_id = NULL, active_attempt_id = NULL
        """

    /// Completes active attempts $1 with results $2 (held by worker $3 unless NULL): attempts succeed, tasks move to $4
    /// (succeeded), one event per job naming its tasks, each attempt kept in its task row (`succeededAttemptStays`).
    /// The tasks are locked in id order, so two batches holding attempts of one job lock them in one order
    /// (docs/postgres-store.md, "Lock order"). Returns the applied attempts, their jobs, and whether each job may have
    /// finished with them: no other unfinished task of the job that nobody is changing right now (FOR SHARE SKIP
    /// LOCKED). A task another in-flight report holds is skipped, so of two reports finishing the last tasks together
    /// at least the later one sees "may have finished" and refreshes the job under its row lock; a task that finished
    /// after this statement's snapshot is re-read when locked and no longer matches. One statement where a completion
    /// used two (the probe was `unfinishedUnlockedOfJob`, once per job). The probe is ordered by state to walk
    /// `tasks_job_state` (see `completeUnlessFinishing`).
    static let complete = """
        WITH \(reportedAttempts), u AS (
            UPDATE tasks t SET state = $4, result = own.reported_result::jsonb, \(succeededAttemptStays),
                finished_at = now(), updated_at = now()
            FROM own WHERE t.id = own.id
            RETURNING t.id, t.job_id, own.active_attempt_id AS attempt_id, own.attempts AS number
        ), e AS (
            \(EventSQL.batchOfTasks(in: "u", from: "'running'", to: "$4", reason: "'completed'"))
        ), f AS (
            SELECT j.job_id, p.id IS NULL AS may_have_finished
            FROM (SELECT DISTINCT job_id FROM u) j
            LEFT JOIN LATERAL (
                SELECT x.id FROM tasks x
                WHERE x.job_id = j.job_id AND x.state <> 'succeeded' AND x.id NOT IN (SELECT id FROM u)
                ORDER BY x.state LIMIT 1 FOR SHARE OF x SKIP LOCKED
            ) p ON true
        )
        SELECT u.attempt_id, u.job_id, f.may_have_finished FROM u JOIN f ON f.job_id = u.job_id
        """

    /// Ends active attempts ($1 ids, $2 attempt states, $3 task states, $4 backoff seconds, $5 errors), whose tasks
    /// the caller locked (`AttemptSQL.lockForFailure`, `lockExpired`, `lockGangSiblings`): each attempt's row is
    /// written from its task row in its final state, and the task is requeued after its backoff or fails, one event
    /// each. Returns the ended attempts, their jobs and task states.
    static let endAttempts = """
        WITH r AS (
            SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::float8[], $5::text[])
                AS r(attempt_id, attempt_state, task_state, delay, attempt_error)
        ), own AS (
            SELECT t.*, r.attempt_state, r.task_state, r.delay, r.attempt_error
            FROM r JOIN tasks t ON t.active_attempt_id = r.attempt_id
            WHERE \(liveAttempts(in: "$1::bigint[]"))
        ), a AS (
            \(AttemptSQL.insertEnded)
            \(AttemptSQL.endedFromTask(state: "t.attempt_state", error: "t.attempt_error")) FROM own t
        ), u AS (
            UPDATE tasks t SET state = own.task_state, worker_id = NULL, active_attempt_id = NULL,
                placed_worker_id = NULL, not_before = now() + make_interval(secs => own.delay),
                error = own.attempt_error, updated_at = now(),
                finished_at = CASE WHEN own.task_state = 'failed' THEN now() END
            FROM own WHERE t.id = own.id
            RETURNING t.id, t.job_id, own.active_attempt_id AS attempt_id, own.attempts AS number, own.attempt_state,
                own.task_state, own.delay, own.attempt_error AS error
        ), e AS (
            \(EventSQL.insertInto)
            SELECT 'task', id, job_id, 'running', task_state,
                   'attempt ' || number || ' ' || attempt_state || ': ' || error ||
                   CASE WHEN task_state = 'queued' THEN ' (retry in ' || delay || 's)' ELSE '' END
            FROM u
        )
        SELECT attempt_id, job_id, task_state FROM u
        """

    // MARK: State changes (TaskTransitions)

    /// Which tasks a set-based state change selects (`TaskTransitions.move`).
    enum Selection {
        /// $1: one task id.
        case task
        /// $1: one job id, all its tasks.
        case job
        /// $1: job ids, all their tasks.
        case jobs

        var condition: String {
            switch self {
            case .task: return "id = $1"
            case .job: return "job_id = $1"
            case .jobs: return "job_id = ANY($1)"
            }
        }
    }

    /// What a state change also sets besides `state` and `updated_at` (`TaskTransitions.move`).
    enum MoveAssignments: String {
        case none = ""
        case finished = "finished_at = now()"
        case runnableNow = "not_before = now()"
        case cancelled = "worker_id = NULL, active_attempt_id = NULL, finished_at = now(), error = $4"
        /// Ended without running because a dependency failed: the reason ($4) is the task's error, so the job says
        /// which dependency and why (`JobSQL.endReason`).
        case endedByDependency = "finished_at = now(), error = $4"
        case preempted = "worker_id = NULL, active_attempt_id = NULL, placed_worker_id = NULL, not_before = now()"
    }

    /// Moves the selected tasks ($1) that are in one of the states $2 to state $3, one event each with reason $4.
    /// Returns the moved tasks with their old states.
    static func move(_ selection: Selection, assignments: MoveAssignments) -> String {
        let extra = assignments == .none ? "" : ", " + assignments.rawValue
        return """
            WITH o AS (
                SELECT id, state AS old FROM tasks
                WHERE (\(selection.condition)) AND state = ANY($2::text[])
                ORDER BY id FOR UPDATE
            ), u AS (
                UPDATE tasks t SET state = $3, updated_at = now()\(extra)
                FROM o WHERE t.id = o.id
                RETURNING t.id, t.job_id, o.old
            ), e AS (
                \(EventSQL.insertInto)
                SELECT 'task', id, job_id, old, $3, $4 FROM u
            )
            SELECT id, job_id, old FROM u
            """
    }

    // MARK: Reading

    static let ofJob = "SELECT * FROM tasks WHERE job_id = $1 ORDER BY task_index"
    static let byID = "SELECT * FROM tasks WHERE id = $1"

    /// Queued tasks past their backoff with their jobs, highest priority first, then oldest: $1 limit.
    static let queued = """
        SELECT t.id, t.job_id, t.task_index, t.cpu_millis, t.memory_bytes, t.accelerators, t.node_selector,
               t.placed_worker_id, t.priority, j.name, j.queue, j.replicas, j.submitted_at
        FROM tasks t JOIN jobs j ON j.id = t.job_id
        WHERE t.state = 'queued' AND t.not_before <= now()
        ORDER BY t.priority DESC, t.id LIMIT $1
        """

    /// Which task states each job $1 has (one boolean column per state), read after the job rows are locked.
    static let statesPresent = """
        SELECT j.id,
            EXISTS (SELECT 1 FROM tasks t WHERE t.job_id = j.id AND t.state = 'blocked') AS blocked,
            EXISTS (SELECT 1 FROM tasks t WHERE t.job_id = j.id AND t.state = 'queued') AS queued,
            EXISTS (SELECT 1 FROM tasks t WHERE t.job_id = j.id AND t.state = 'running') AS running,
            EXISTS (SELECT 1 FROM tasks t WHERE t.job_id = j.id AND t.state = 'succeeded') AS succeeded,
            EXISTS (SELECT 1 FROM tasks t WHERE t.job_id = j.id AND t.state = 'failed') AS failed,
            EXISTS (SELECT 1 FROM tasks t WHERE t.job_id = j.id AND t.state = 'cancelled') AS cancelled
        FROM unnest($1::bigint[]) AS j(id)
        """

    /// A fresh plan for the claim after a large submission (see `ControlStore.refreshTaskStatistics`).
    static let analyze = "ANALYZE tasks"

    // MARK: Placement (the scheduler)

    /// Writes placements ($1 task ids, $2 worker ids as text, NULL removes one) onto tasks still queued.
    static let place = """
        UPDATE tasks t SET placed_worker_id = p.worker, updated_at = now()
        FROM unnest($1::bigint[], $2::bigint[]) AS p(task, worker)
        WHERE t.id = p.task AND t.state = 'queued'
        RETURNING t.id
        """

    /// A pass's placements ($1 task ids, $2 worker ids, as array literals) onto tasks still queued and unplaced.
    static let commitPlacements = """
        UPDATE tasks t SET placed_worker_id = p.worker, updated_at = now()
        FROM unnest($1::bigint[], $2::bigint[]) AS p(task, worker)
        WHERE t.id = p.task AND t.state = 'queued' AND t.placed_worker_id IS NULL
        RETURNING t.id
        """

    /// What the tasks $1 need, and whether they are gang members.
    static let needs = "SELECT id, cpu_millis, memory_bytes, accelerators, gang FROM tasks WHERE id = ANY($1)"

    /// Placed tasks of workers that are no longer alive go back to the pool.
    static let unplaceFromDeadWorkers = """
        UPDATE tasks t SET placed_worker_id = NULL, updated_at = now()
        FROM workers w
        WHERE t.placed_worker_id = w.id AND t.state = 'queued' AND w.state <> 'alive'
        """

    /// What holds resources now, for the snapshot: running tasks and queued tasks placed on a worker.
    static let allocations = """
        SELECT t.id, t.job_id, coalesce(t.worker_id, t.placed_worker_id) AS worker_id, t.cpu_millis, t.memory_bytes,
               t.accelerators, t.priority, t.gang, j.queue,
               extract(epoch FROM coalesce(t.started_at, t.updated_at))::float8 AS started,
               extract(epoch FROM CASE WHEN t.state = 'running' THEN t.preempt_deadline END)::float8 AS preempt_deadline,
               CASE WHEN t.state = 'running' THEN greatest(t.attempt_tokens_consumed - coalesce(t.checkpoint_tokens, 0), 0)
               END AS tokens_since_checkpoint,
               extract(epoch FROM t.checkpointed_at)::float8 AS checkpointed_at
        FROM tasks t JOIN jobs j ON j.id = t.job_id
        WHERE (t.state = 'running' AND t.worker_id IS NOT NULL)
           OR (t.state = 'queued' AND t.placed_worker_id IS NOT NULL)
        """

    /// Queued tasks no one has placed yet, for the snapshot, bounded (`SchedulingPassLimits`): the first $1 jobs
    /// (oldest first) that have such tasks, and of each its first $2 by index — all of a gang's, so a gang is
    /// never seen in part. The jobs are found by a skip scan of `tasks_unplaced` (one index probe per job), so
    /// the cost follows the limits, not the queue's depth: reading every queued task held a pass's transaction
    /// open for over 9 minutes at 1,000,000 queued.
    static let unplaced = """
        WITH RECURSIVE waiting(job_id, n) AS (
            (SELECT job_id, 1 FROM tasks
             WHERE state = 'queued' AND placed_worker_id IS NULL ORDER BY job_id LIMIT 1)
            UNION ALL
            SELECT (SELECT u.job_id FROM tasks u
                    WHERE u.state = 'queued' AND u.placed_worker_id IS NULL AND u.job_id > w.job_id
                    ORDER BY u.job_id LIMIT 1), w.n + 1
            FROM waiting w WHERE w.job_id IS NOT NULL AND w.n < $1::int
        )
        SELECT t.id, t.job_id, t.cpu_millis, t.memory_bytes, t.accelerators, t.node_selector, t.priority, t.gang,
               t.reads_remote, j.queue, j.type, extract(epoch FROM t.not_before)::float8 AS not_before
        FROM waiting w JOIN jobs j ON j.id = w.job_id
        CROSS JOIN LATERAL (
            SELECT * FROM tasks t
            WHERE t.job_id = w.job_id AND t.state = 'queued' AND t.placed_worker_id IS NULL
            ORDER BY t.task_index LIMIT greatest($2::int, j.replicas)
        ) t
        ORDER BY t.job_id, t.task_index
        """
}

// MARK: Vacuum (`TaskVacuum`)

extension TaskSQL {
    /// `tasks`' dead and live row estimates from the statistics PostgreSQL keeps in shared memory (each backend adds
    /// its counts at most once a second). Reads no table page.
    static let vacuumEstimate = """
        SELECT n_dead_tup AS dead_rows, n_live_tup AS live_rows FROM pg_stat_user_tables
        WHERE relid = 'tasks'::regclass
        """

    /// Removes the dead row versions of `tasks` and their index entries. `SKIP_LOCKED`: when another vacuum (an
    /// autovacuum worker, another replica) holds the table, this one is skipped rather than waiting. Simple protocol:
    /// VACUUM runs outside any transaction block.
    static let vacuum = "VACUUM (SKIP_LOCKED) tasks"
}
