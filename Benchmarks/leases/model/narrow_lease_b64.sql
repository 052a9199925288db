-- One worker's loop at batch 64 in the narrow lease design (narrow_lease.sql), shaped like the floor
-- (lease_in_task_b64.sql) so the two differ in the rows only: the claim deletes 64 queue rows, updates the tasks
-- (HOT) and inserts 64 lease rows; the completion deletes the leases and updates the tasks (HOT). With -D probe=1
-- the completion also asks, as today's does, whether its job has an unfinished task besides these (a queued one,
-- share-locked, or another live lease). One event per job per batch unless -D events=0.
\set wid :client_id + 1
WITH picked AS (
    SELECT q.task_id FROM task_queue q
    WHERE q.not_before <= now() AND (q.placed_worker_id = :wid OR q.placed_worker_id IS NULL)
    ORDER BY q.priority DESC, q.task_id LIMIT 64 FOR UPDATE SKIP LOCKED
), d AS (
    DELETE FROM task_queue q USING picked WHERE q.task_id = picked.task_id RETURNING q.task_id
), u AS (
    UPDATE tasks t SET state = 'running', attempts = t.attempts + 1, worker_id = :wid,
        active_attempt_id = nextval('task_attempts_id_seq'), lease_seconds = 15,
        lease_deadline = now() + interval '15 seconds', attempt_started_at = now(),
        started_at = coalesce(t.started_at, now()), updated_at = now()
    FROM d WHERE t.id = d.task_id AND t.state = 'queued'
    RETURNING t.id, t.job_id, t.attempts, t.active_attempt_id, t.lease_deadline
), l AS (
    INSERT INTO task_leases (attempt_id, task_id, job_id, worker_id, lease_deadline)
    SELECT active_attempt_id, id, job_id, :wid, lease_deadline FROM u
), e AS (
    INSERT INTO events (entity, entity_id, job_id, old_state, new_state, reason, task_ids)
    SELECT 'tasks', job_id, job_id, 'queued', 'running', 'leased to worker ' || :wid::text, array_agg(id ORDER BY id)
    FROM u WHERE :events = 1 GROUP BY job_id
) SELECT coalesce(string_agg(u.active_attempt_id::text, ','), '0') AS aids FROM u \gset
WITH d AS (
    DELETE FROM task_leases l
    WHERE l.attempt_id = ANY(string_to_array(:aids, ',')::bigint[]) AND l.worker_id = :wid
    RETURNING l.attempt_id, l.task_id, l.job_id
), go AS (
    SELECT NOT coalesce(bool_or(p.x IS NULL), false) AS ok
    FROM (SELECT DISTINCT job_id FROM d) j
    LEFT JOIN LATERAL (
        SELECT coalesce(
            (SELECT q.task_id FROM task_queue q WHERE q.job_id = j.job_id LIMIT 1 FOR SHARE SKIP LOCKED),
            (SELECT l.attempt_id FROM task_leases l
             WHERE l.job_id = j.job_id AND l.attempt_id NOT IN (SELECT attempt_id FROM d) LIMIT 1)) AS x
    ) p ON true
    WHERE :probe = 1
), u AS (
    UPDATE tasks t SET state = 'succeeded', result = '{"ok": true}', final_attempt_id = d.attempt_id,
        final_worker_id = :wid, worker_id = NULL, active_attempt_id = NULL, finished_at = now(), updated_at = now()
    FROM d WHERE t.id = d.task_id AND t.state = 'running' AND coalesce((SELECT g.ok FROM go g), true)
    RETURNING t.id, t.job_id
), e AS (
    INSERT INTO events (entity, entity_id, job_id, old_state, new_state, reason, task_ids)
    SELECT 'tasks', job_id, job_id, 'running', 'succeeded', 'completed', array_agg(id ORDER BY id)
    FROM u WHERE :events = 1 GROUP BY job_id
) SELECT count(*) FROM u;
