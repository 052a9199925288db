-- One worker's loop at batch 64 as the control plane runs it today: `TaskSQL.claim(limit: 64)` and
-- `TaskSQL.completeUnlessFinishing` (Sources/Control/Store/SQL/TaskSQL+Claim.swift, TaskSQL+Completion.swift) as of
-- commit 7f81a36, parameters as pgbench variables, the claim's job-start notify left out (it fires once per job),
-- the event inserts behind `:events = 1` (pgbench -D events=0 measures them away).
-- Each is one statement outside an explicit transaction, as in LeaseStore. Per task: an attempt inserted, the task
-- updated twice, the attempt updated, two events; with the foreign-key checks of worker_id and task_id.
\set wid :client_id + 1
WITH RECURSIVE seen AS (
    SELECT capacity_epoch FROM workers WHERE id = :wid
), claimant AS (
    UPDATE workers w SET capacity_epoch = w.capacity_epoch + 1,
        last_heartbeat = CASE WHEN w.state = 'alive' THEN now() ELSE w.last_heartbeat END
    WHERE w.id = :wid
    RETURNING w.state, w.labels, w.kinds, w.cpu_millis, w.memory_bytes, w.accelerators,
        w.capacity_epoch = (SELECT s.capacity_epoch + 1 FROM seen s) AS fresh
), used AS (
    SELECT coalesce(sum(t.cpu_millis), 0)::bigint AS cpu, coalesce(sum(t.memory_bytes), 0)::bigint AS memory,
        coalesce(jsonb_agg(t.accelerators) FILTER (WHERE t.accelerators <> '{}'), '[]') AS accelerators
    FROM tasks t, (SELECT :wid::bigint AS id) w WHERE (t.worker_id = w.id AND t.state = 'running') OR (t.placed_worker_id = w.id AND t.state = 'queued')
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
      AND (t.placed_worker_id = :wid
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
    LIMIT 64
    FOR UPDATE OF t SKIP LOCKED
), numbered AS (
    SELECT c.*, (row_number() OVER (ORDER BY c.priority DESC, c.id))::int AS k FROM candidates c
), needs AS MATERIALIZED (
    SELECT count(*)::int AS total, array_agg(n.cpu_millis ORDER BY n.k) AS cpu,
        array_agg(n.memory_bytes ORDER BY n.k) AS memory, array_agg(n.accelerators ORDER BY n.k) AS accelerators,
        array_agg(n.placed_worker_id IS NOT NULL ORDER BY n.k) AS placed
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
    SELECT n.* FROM numbered n JOIN p ON p.k = n.k WHERE p.take AND (SELECT f.fresh FROM free f)
), a AS (
    INSERT INTO task_attempts (task_id, number, worker_id, state, lease_seconds, lease_deadline)
    SELECT id, attempts + 1, :wid, 'active', 15, now() + make_interval(secs => 15) FROM picked
    RETURNING id, task_id, number, lease_deadline
), u AS (
    UPDATE tasks t SET state = 'running', attempts = a.number, worker_id = :wid, active_attempt_id = a.id,
        progress = NULL, progress_message = NULL,
        started_at = coalesce(t.started_at, now()), updated_at = now()
    FROM a WHERE t.id = a.task_id AND t.state = 'queued'
    RETURNING t.id, t.job_id, a.id AS attempt_id, a.number, a.lease_deadline
), e AS (
    INSERT INTO events (entity, entity_id, job_id, old_state, new_state, reason)
    SELECT 'task', id, job_id, 'queued', 'running', 'attempt ' || number || ' leased to worker ' || :wid::text FROM u WHERE :events = 1
), started AS (
    UPDATE jobs j SET state = 'running', started_at = coalesce(j.started_at, now())
    WHERE j.id IN (SELECT job_id FROM u) AND j.state = 'pending' AND NOT j.cancel_requested
    RETURNING j.id
)
SELECT coalesce(string_agg(u.attempt_id::text, ','), '0') AS aids FROM u \gset
WITH r AS (
    SELECT x AS attempt_id, '{"ok": true}'::text AS result FROM unnest(string_to_array(:aids, ',')::bigint[]) x
), own AS (
    SELECT a.id AS attempt_id, a.task_id, a.number, t.job_id, r.result
    FROM r JOIN task_attempts a ON a.id = r.attempt_id JOIN tasks t ON t.id = a.task_id
    WHERE a.state = 'active' AND t.state = 'running' AND (:wid::bigint IS NULL OR a.worker_id = :wid)
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
    UPDATE tasks t SET state = 'succeeded', result = a.result::jsonb, worker_id = NULL, active_attempt_id = NULL,
        finished_at = now(), updated_at = now()
    FROM a WHERE t.id = a.task_id AND t.state = 'running'
    RETURNING t.id, t.job_id, a.id AS attempt_id, a.number
), e AS (
    INSERT INTO events (entity, entity_id, job_id, old_state, new_state, reason)
    SELECT 'task', id, job_id, 'running', 'succeeded', 'attempt ' || number || ' completed' FROM u WHERE :events = 1
)
SELECT g.ok AS applied, count(u.attempt_id) FROM go g LEFT JOIN u ON true GROUP BY g.ok;
