// Statements of the `jobs` and `job_dependencies` tables: submission, reads, cancel, and the lifecycle that
// derives a job's state from its tasks' (`JobLifecycle`).

enum JobSQL {
    // MARK: Submission

    /// Job $1 if it exists, and whether its type ($2) and spec ($3) are the same (resubmission is a no-op).
    static let sameDefinition = "SELECT id, type = $2 AND spec = $3::jsonb AS same FROM jobs WHERE name = $1"

    static let idsByName = "SELECT id, name FROM jobs WHERE name = ANY($1)"

    /// A new pending job: $1 name, $2 type, $3 spec, $4 queue, $5 priority, $6 replicas, $7 cpu, $8 memory,
    /// $9 accelerators, $10 node selector, $11 max attempts, $12 initial backoff, $13 max backoff, $14 multiplier,
    /// $15 pending reason, $16 remote locations read.
    static let insert = """
        INSERT INTO jobs (name, type, spec, queue, priority, replicas, cpu_millis, memory_bytes, accelerators,
            node_selector, max_attempts, initial_backoff_seconds, max_backoff_seconds, backoff_multiplier,
            state, pending_reason, reads_locations)
        VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11, $12, $13, $14, 'pending', $15, $16)
        RETURNING id
        """

    static let insertDependency = "INSERT INTO job_dependencies (job_id, after_job_id, on_failure) VALUES ($1, $2, $3)"

    static let exists = "SELECT 1 FROM jobs WHERE id = $1"

    // MARK: Reading

    /// Jobs as `JobRecord(row:)` decodes them: with their `after:` names, task counts by state and, for a job that
    /// failed or was cancelled, why (`endReason` below).
    static func records(where condition: String, limit: String) -> String {
        """
        SELECT j.*,
            \(endReason(of: "j")) AS end_reason,
            coalesce((SELECT string_agg(a.name, E'\\n' ORDER BY a.name) FROM job_dependencies d JOIN jobs a ON a.id = d.after_job_id
                      WHERE d.job_id = j.id), '') AS after_names,
            coalesce((SELECT string_agg(s.state || '=' || s.n, ',') FROM
                      (SELECT state, count(*) AS n FROM tasks WHERE job_id = j.id GROUP BY state) s), '') AS counts
        FROM jobs j WHERE \(condition)
        ORDER BY j.id DESC LIMIT \(limit)
        """
    }

    /// Why the job aliased `job` ended without succeeding: the error of its first failed task, else of its first
    /// cancelled one (a cancel writes its reason there: "cancelled by user", "dependency prep failed: ..."). One
    /// index probe, only for failed or cancelled jobs.
    private static func endReason(of job: String) -> String {
        """
        CASE WHEN \(job).state IN ('failed', 'cancelled') THEN
            (SELECT t.error FROM tasks t WHERE t.job_id = \(job).id AND t.state IN ('failed', 'cancelled') AND t.error IS NOT NULL
             ORDER BY t.state = 'failed' DESC, t.id LIMIT 1) END
        """
    }

    /// The three facts every assignment of job $1 carries (`JobInfoCache`): retry limit, gang size and task count.
    /// The count is the highest task index + 1 (indexes are 0..<n, `TaskSQL.insert`): one probe of the
    /// `(job_id, task_index)` unique index. The full record (`byID`) counts the job's tasks by state, which took
    /// 2.1 s per call at 1,000,000 tasks and was the p99 poll of the first polls (docs/leases.md).
    static let assignmentFacts = """
        SELECT j.max_attempts, j.replicas,
            coalesce((SELECT t.task_index + 1 FROM tasks t WHERE t.job_id = j.id ORDER BY t.task_index DESC LIMIT 1), 0)
                AS task_count
        FROM jobs j WHERE j.id = $1
        """

    static let byID = records(where: "j.id = $1", limit: "1")
    static let byName = records(where: "j.name = $1", limit: "1")
    /// Newest first: $1 state (NULL: any), $2 before id (NULL: from the newest), $3 limit, $4 queue (NULL: any).
    /// Both filters are in the WHERE, before the LIMIT: a page of one queue is full even when other queues hold
    /// more recent jobs.
    static let page = records(
        where:
            "($1::text IS NULL OR j.state = $1) AND ($2::bigint IS NULL OR j.id < $2) AND ($4::text IS NULL OR j.queue = $4)",
        limit: "$3")

    /// The remote locations the jobs $1 read (only jobs that read any).
    static let readsLocations = """
        SELECT id, array_to_json(reads_locations)::text AS reads FROM jobs WHERE id = ANY($1) AND reads_locations <> '{}'
        """

    // MARK: Cancel and lifecycle

    static let state = "SELECT state FROM jobs WHERE id = $1"

    static let requestCancel = "UPDATE jobs SET cancel_requested = true, pending_reason = NULL WHERE id = $1"

    /// Locks the unfinished jobs among $1 in id order; their task states are read in a later statement (a fresh
    /// snapshot after the lock).
    static let lockUnfinished = """
        SELECT id, state, cancel_requested FROM jobs
        WHERE id = ANY($1) AND state NOT IN ('succeeded', 'failed', 'cancelled')
        ORDER BY id FOR UPDATE
        """

    /// Sets derived states ($1 ids, $2 old states, $3 new states) with one event each.
    static let setDerivedStates = """
        WITH ch AS (
            SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[]) AS ch(id, old, new)
        ), u AS (
            UPDATE jobs j SET state = ch.new,
                started_at = CASE WHEN ch.new <> 'pending' THEN coalesce(j.started_at, now()) ELSE j.started_at END,
                finished_at = CASE WHEN ch.new IN ('succeeded', 'failed', 'cancelled') THEN now() END
            FROM ch WHERE j.id = ch.id
            RETURNING j.id, ch.old, ch.new
        )
        \(EventSQL.insertInto)
        SELECT 'job', id, id, old, new, 'derived from task states' FROM u
        """

    /// NOTIFY $1 (`job_changed`) once per job id in $2.
    static let notifyChanged = "SELECT pg_notify($1, id::text) FROM unnest($2::bigint[]) AS id"

    /// Locks the tasks of the pending dependents of the finished jobs $1, in id order, before their job rows
    /// (`lockPendingDependents`): tasks before their job, the global lock order (docs/postgres-store.md). Locking
    /// the dependents' job rows first deadlocked with a cancel of one of them, which holds its tasks and then
    /// updates its job row.
    static let lockTasksOfPendingDependents = """
        SELECT t.id FROM tasks t
        WHERE t.job_id IN (SELECT d.job_id FROM job_dependencies d JOIN jobs j ON j.id = d.job_id
                           WHERE d.after_job_id = ANY($1) AND j.state = 'pending')
        ORDER BY t.id FOR UPDATE OF t
        """

    /// Locks the pending dependents of the finished jobs $1 in id order (after their tasks).
    static let lockPendingDependents = """
        SELECT j.id FROM jobs j
        WHERE j.id IN (SELECT job_id FROM job_dependencies WHERE after_job_id = ANY($1)) AND j.state = 'pending'
        ORDER BY j.id FOR UPDATE
        """

    /// Per job of $1, what its `after:` jobs say: all done (satisfied), one failed under `cancel`/`fail` (doomed,
    /// fails), which failed and why ("dependency prep failed: <its end reason>", one per failed dependency) and
    /// which are still running.
    static let dependencyVerdicts = """
        SELECT d.job_id,
            bool_and(a.state = 'succeeded' OR (a.state IN ('failed', 'cancelled') AND d.on_failure = 'proceed')) AS satisfied,
            bool_or(a.state IN ('failed', 'cancelled') AND d.on_failure IN ('cancel', 'fail')) AS doomed,
            bool_or(a.state IN ('failed', 'cancelled') AND d.on_failure = 'fail') AS fails,
            string_agg(CASE WHEN a.state IN ('failed', 'cancelled') AND d.on_failure IN ('cancel', 'fail')
                            THEN 'dependency ' || a.name || ' ' || a.state || coalesce(': ' || \(endReason(of: "a")), '')
                            END, '; ' ORDER BY a.name) AS failure_reasons,
            string_agg(CASE WHEN a.state NOT IN ('succeeded', 'failed', 'cancelled') THEN a.name END, ', ' ORDER BY a.name) AS waiting_for
        FROM job_dependencies d JOIN jobs a ON a.id = d.after_job_id
        WHERE d.job_id = ANY($1)
        GROUP BY d.job_id
        """

    // MARK: Pending reasons

    static let setPendingReason = "UPDATE jobs SET pending_reason = $2 WHERE id = $1"
    static let clearPendingReasons = "UPDATE jobs SET pending_reason = NULL WHERE id = ANY($1)"

    /// Clears the reasons of jobs $1 (an array literal) that got placements.
    static let clearPendingReasonsOfPlaced =
        "UPDATE jobs SET pending_reason = NULL WHERE id = ANY($1::bigint[]) AND pending_reason IS NOT NULL"

    /// The scheduler's reasons ($1 job ids, $2 texts, as array literals), written only where they changed.
    static let setPendingReasons = """
        UPDATE jobs j SET pending_reason = r.reason
        FROM unnest($1::bigint[], $2::text[]) AS r(job, reason)
        WHERE j.id = r.job AND j.pending_reason IS DISTINCT FROM r.reason
        """
}
