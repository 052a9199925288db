// The claim as one statement (issue 15, docs/leases.md): the worker row's lock and heartbeat, its free capacity,
// the candidates, the packing, the lease, the events and the pending → running job refresh, run outside an
// explicit transaction. At batch 1 a claim cost 7 round trips (BEGIN, lock, capacity, candidates, queue check,
// lease, COMMIT); this is 1.

extension TaskSQL {
    /// Claims up to `limit` runnable tasks for worker $1, leased for $2 seconds and moved to $3 (running); $4 is the
    /// `job_changed` channel. The limit is part of the text, not a parameter: the statement is prepared once per
    /// connection (`query(prepared:)`), and PostgreSQL estimates a `LIMIT $n` at a tenth of the table, which made
    /// the cached generic plan cost 130,928 against 467 and never chosen (and its cost turned JIT on). Returns one
    /// row per lease in packing order, each carrying the claimant's state and `fresh`; with no lease, one row of
    /// those two (state NULL: the worker is unknown).
    ///
    /// `fresh` says the statement's snapshot saw every capacity taker of this worker. The snapshot is taken when
    /// the statement starts, before it waits for the worker's row lock; a claim or a scheduler commit that held
    /// that lock and committed meanwhile is invisible to the capacity sums (PostgreSQL re-checks the locked row,
    /// not the statement's view of the tasks: the note in `WorkerCapacity`). Both takers bump the row's
    /// `capacity_epoch` (`WorkerSQL.lock`, this statement), so the epoch this statement's update returns is one
    /// more than the one its snapshot read exactly when no taker committed in between. When it is not, nothing is
    /// leased and the caller runs the statement again after locking the row (`LeaseStore.claimNext`).
    ///
    /// The candidate filter is the SQL mirror of `Resources.fits(in:)` and `Labels.satisfies(selector:)` against
    /// the worker's free capacity; the packing (`p`, greedy in candidate order, as the scheduler does) is their
    /// mirror against what earlier picks of the same claim left: tasks placed on this worker are always taken (their
    /// reservation is already out of `free`), unplaced ones only if they fit. When the unplaced candidates fit
    /// together and need no accelerators, greedy packing takes them all, so `picked` takes them without running `p`
    /// (its branch is gated off by a one-time filter; the recursion and its join were ~0.5 ms of a 1.8 ms claim at
    /// batch 64, EXPLAIN ANALYZE, docs/leases.md); a claim of one has no packing at all (`packing(limit:)`).
    /// Tasks of configured queues (`kind: Queue`) run only where the scheduler places them, and the queues are read
    /// in the same snapshot as the tasks, so no queue configured in between can slip through.
    static func claim(limit: Int) -> String {
        precondition(limit >= 1, "a claim takes at least one task")
        return """
            WITH RECURSIVE seen AS (
                SELECT capacity_epoch FROM workers WHERE id = $1
            ), claimant AS (
                UPDATE workers w SET capacity_epoch = w.capacity_epoch + 1,
                    last_heartbeat = CASE WHEN w.state = 'alive' THEN now() ELSE w.last_heartbeat END
                WHERE w.id = $1
                RETURNING w.state, w.labels, w.kinds, w.cpu_millis, w.memory_bytes, w.accelerators,
                    w.capacity_epoch = (SELECT s.capacity_epoch + 1 FROM seen s) AS fresh
            ), used AS (
                SELECT coalesce(sum(t.cpu_millis), 0)::bigint AS cpu, coalesce(sum(t.memory_bytes), 0)::bigint AS memory,
                    coalesce(jsonb_agg(t.accelerators) FILTER (WHERE t.accelerators <> '{}'), '[]') AS accelerators
                FROM \(capacityHolders(of: "$1")) t
            ), free AS (
                SELECT c.state, c.fresh, c.labels, c.kinds, c.cpu_millis - u.cpu AS cpu, c.memory_bytes - u.memory AS memory,
                    coalesce((SELECT jsonb_object_agg(k.key, k.value::bigint - coalesce(
                                  (SELECT sum((x ->> k.key)::bigint) FROM jsonb_array_elements(u.accelerators) x), 0))
                              FROM jsonb_each_text(c.accelerators) k), '{}') AS accelerators,
                    EXISTS (SELECT 1 FROM queues) AS queues_configured
                FROM claimant c CROSS JOIN used u
            ), candidates AS (
                SELECT t.id, t.job_id, t.task_index, t.spec, t.cpu_millis, t.memory_bytes, t.accelerators,
                       t.placed_worker_id, t.attempts, t.priority
                FROM tasks t
                WHERE t.state = 'queued' AND t.not_before <= now() AND (SELECT f.state = 'alive' FROM free f)
                  AND (t.placed_worker_id = $1
                       OR (t.placed_worker_id IS NULL AND NOT t.gang AND NOT t.reads_remote
                           AND t.cpu_millis <= (SELECT f.cpu FROM free f)
                           AND t.memory_bytes <= (SELECT f.memory FROM free f)
                           AND ((SELECT cardinality(f.kinds) = 0 FROM free f) OR t.kind = ANY((SELECT f.kinds FROM free f)::text[]))
                           AND (NOT (SELECT f.queues_configured FROM free f)
                                OR NOT EXISTS (SELECT 1 FROM jobs j JOIN queues q ON q.name = j.queue WHERE j.id = t.job_id))
                           AND (t.node_selector = '{}'::jsonb OR (SELECT f.labels FROM free f) @> t.node_selector)
                           AND (t.accelerators = '{}'::jsonb
                                OR NOT EXISTS (SELECT 1 FROM jsonb_each_text(t.accelerators) a
                                               WHERE a.value::bigint > coalesce(
                                                   ((SELECT f.accelerators FROM free f) ->> a.key)::bigint, 0)))))
                ORDER BY t.priority DESC, t.id
                LIMIT \(limit)
                FOR UPDATE OF t SKIP LOCKED
            \(packing(limit: limit))
            ), u AS (
                UPDATE tasks t SET state = $3, attempts = t.attempts + 1, worker_id = $1,
                    active_attempt_id = nextval('task_attempts_id_seq'), lease_seconds = $2,
                    lease_deadline = now() + make_interval(secs => $2), attempt_started_at = now(),
                    preempt_deadline = NULL, preempt_reason = NULL, attempt_tokens_consumed = NULL,
                    attempt_tokens_lost = NULL, progress = NULL, progress_message = NULL,
                    started_at = coalesce(t.started_at, now()), updated_at = now()
                FROM picked WHERE t.id = picked.id AND t.state = 'queued'
                RETURNING t.id, t.job_id, t.active_attempt_id AS attempt_id, t.attempts AS number, t.lease_deadline
            ), e AS (
                \(EventSQL.batchOfTasks(in: "u", from: "'queued'", to: "$3", reason: "'leased to worker ' || $1::text"))
            ), started AS (
                UPDATE jobs j SET state = 'running', started_at = coalesce(j.started_at, now())
                WHERE j.id IN (SELECT job_id FROM u) AND j.state = 'pending' AND NOT j.cancel_requested
                RETURNING j.id
            ), se AS (
                \(EventSQL.insertInto)
                SELECT 'job', id, id, 'pending', 'running', 'derived from task states' FROM started
            ), notified AS (
                SELECT count(pg_notify($4, id::text)) AS n FROM started
            )
            SELECT f.state AS worker_state, f.fresh, l.*
            FROM (SELECT 1) one
            LEFT JOIN free f ON true
            LEFT JOIN (
                SELECT u.id, u.attempt_id, u.number, u.lease_deadline, n.job_id, n.task_index, n.spec, n.cpu_millis,
                    n.memory_bytes, n.accelerators, n.k, j.name AS job_name, j.type AS job_type
                FROM u JOIN numbered n ON n.id = u.id JOIN jobs j ON j.id = u.job_id
            ) l ON true
            CROSS JOIN notified
            ORDER BY l.k
            """
    }

    /// The claim's packing: `numbered` (the candidates with their packing order `k`) and `picked` (those this
    /// claim leases), as CTEs to splice after `candidates`. At limit 1 packing is the candidate filter itself: the
    /// one candidate is placed on this worker (always taken) or passed the filter against `free`, exactly the test
    /// greedy packing would apply to it, so `picked` is the candidate. Leaving out the recursion, its arrays and
    /// the gate keeps PostgreSQL from starting ~20 plan nodes per claim, which at batch 1 is most of a claim's
    /// cost (executor start-up; the lease model's batch-1 loop went from 0.59–0.61 to 0.72–0.76 of raw,
    /// docs/leases.md, "A claim of one task"). `LimitOneClaimTests` checks that the limit-1 plan has no recursion.
    private static func packing(limit: Int) -> String {
        if limit == 1 {
            return """
                ), numbered AS (
                    SELECT c.*, 1 AS k FROM candidates c
                ), picked AS (
                    SELECT n.* FROM numbered n WHERE (SELECT f.fresh FROM free f)
                """
        }
        return """
            ), numbered AS (
                SELECT c.*, (row_number() OVER (ORDER BY c.priority DESC, c.id))::int AS k FROM candidates c
            ), needs AS MATERIALIZED (
                SELECT count(*)::int AS total, array_agg(n.cpu_millis ORDER BY n.k) AS cpu,
                    array_agg(n.memory_bytes ORDER BY n.k) AS memory, array_agg(n.accelerators ORDER BY n.k) AS accelerators,
                    array_agg(n.placed_worker_id IS NOT NULL ORDER BY n.k) AS placed,
                    coalesce(sum(n.cpu_millis) FILTER (WHERE n.placed_worker_id IS NULL), 0) <= (SELECT f.cpu FROM free f)
                    AND coalesce(sum(n.memory_bytes) FILTER (WHERE n.placed_worker_id IS NULL), 0)
                        <= (SELECT f.memory FROM free f)
                    AND NOT coalesce(bool_or(n.accelerators <> '{}' AND n.placed_worker_id IS NULL), false) AS fits_all
                FROM numbered n
            ), p(k, cpu, memory, accelerators, take) AS (
                SELECT 0, f.cpu, f.memory, f.accelerators, false FROM free f
                UNION ALL
                SELECT p.k + 1,
                    CASE WHEN fit.ok AND NOT need.placed THEN p.cpu - need.cpu ELSE p.cpu END,
                    CASE WHEN fit.ok AND NOT need.placed THEN p.memory - need.memory ELSE p.memory END,
                    CASE WHEN fit.ok AND NOT need.placed AND need.accelerators <> '{}'
                         THEN coalesce((SELECT jsonb_object_agg(r.key, r.value::bigint
                                                - coalesce((need.accelerators ->> r.key)::bigint, 0))
                                        FROM jsonb_each_text(p.accelerators) r), '{}')
                         ELSE p.accelerators END,
                    fit.ok
                FROM p CROSS JOIN needs v
                CROSS JOIN LATERAL (
                    SELECT v.cpu[p.k + 1] AS cpu, v.memory[p.k + 1] AS memory,
                        v.accelerators[p.k + 1] AS accelerators, v.placed[p.k + 1] AS placed
                ) need
                CROSS JOIN LATERAL (
                    SELECT need.placed
                        OR (need.cpu <= p.cpu AND need.memory <= p.memory
                            AND (need.accelerators = '{}'::jsonb
                                 OR NOT EXISTS (SELECT 1 FROM jsonb_each_text(need.accelerators) a
                                                WHERE a.value::bigint > coalesce((p.accelerators ->> a.key)::bigint, 0))))
                        AS ok
                ) fit
                WHERE p.k < v.total
            ), picked AS (
                SELECT n.* FROM numbered n WHERE (SELECT v.fits_all FROM needs v) AND (SELECT f.fresh FROM free f)
                UNION ALL
                SELECT n.* FROM numbered n JOIN p ON p.k = n.k
                WHERE p.take AND NOT (SELECT v.fits_all FROM needs v) AND (SELECT f.fresh FROM free f)
            """
    }
}
