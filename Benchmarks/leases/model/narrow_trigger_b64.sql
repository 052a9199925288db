-- One worker's loop at batch 64 in the narrow lease design kept by triggers (narrow_trigger.sql): the statements
-- update `tasks` only, as the floor (lease_in_task_b64.sql) does, and find their rows through the narrow tables;
-- the triggers delete the queue rows and insert and delete the leases. The claim locks task rows (FOR UPDATE OF t
-- SKIP LOCKED), so every path locks a task before its narrow rows. Job probe and batch events as in
-- narrow_lease_b64.sql (-D probe, -D events).
\set wid :client_id + 1
WITH picked AS (
    SELECT t.id FROM task_queue q JOIN tasks t ON t.id = q.task_id
    WHERE q.not_before <= now() AND (q.placed_worker_id = :wid OR q.placed_worker_id IS NULL) AND t.state = 'queued'
    ORDER BY q.priority DESC, q.task_id LIMIT 64 FOR UPDATE OF t SKIP LOCKED
), u AS (
    UPDATE tasks t SET state = 'running', attempts = t.attempts + 1, worker_id = :wid,
        active_attempt_id = nextval('task_attempts_id_seq'), lease_seconds = 15,
        lease_deadline = now() + interval '15 seconds', attempt_started_at = now(),
        started_at = coalesce(t.started_at, now()), updated_at = now()
    FROM picked WHERE t.id = picked.id AND t.state = 'queued'
    RETURNING t.id, t.job_id, t.attempts, t.active_attempt_id
), e AS (
    INSERT INTO events (entity, entity_id, job_id, old_state, new_state, reason, task_ids)
    SELECT 'tasks', job_id, job_id, 'queued', 'running', 'leased to worker ' || :wid::text, array_agg(id ORDER BY id)
    FROM u WHERE :events = 1 GROUP BY job_id
) SELECT coalesce(string_agg(u.active_attempt_id::text, ','), '0') AS aids FROM u \gset
WITH own AS (
    SELECT t.id, t.job_id, t.active_attempt_id FROM task_leases l JOIN tasks t ON t.id = l.task_id
    WHERE l.attempt_id = ANY(string_to_array(:aids, ',')::bigint[]) AND l.worker_id = :wid
      AND t.state = 'running' AND t.active_attempt_id = l.attempt_id
    ORDER BY t.id FOR UPDATE OF t
), go AS (
    SELECT NOT coalesce(bool_or(p.x IS NULL), false) AS ok
    FROM (SELECT DISTINCT job_id FROM own) j
    LEFT JOIN LATERAL (
        SELECT coalesce(
            (SELECT x.id FROM task_queue q JOIN tasks x ON x.id = q.task_id WHERE q.job_id = j.job_id
             LIMIT 1 FOR SHARE OF x SKIP LOCKED),
            (SELECT l.attempt_id FROM task_leases l
             WHERE l.job_id = j.job_id AND l.task_id NOT IN (SELECT id FROM own) LIMIT 1)) AS x
    ) p ON true
    WHERE :probe = 1
), u AS (
    UPDATE tasks t SET state = 'succeeded', result = '{"ok": true}', final_attempt_id = own.active_attempt_id,
        final_worker_id = :wid, worker_id = NULL, active_attempt_id = NULL, finished_at = now(), updated_at = now()
    FROM own WHERE t.id = own.id AND coalesce((SELECT g.ok FROM go g), true)
    RETURNING t.id, t.job_id
), e AS (
    INSERT INTO events (entity, entity_id, job_id, old_state, new_state, reason, task_ids)
    SELECT 'tasks', job_id, job_id, 'running', 'succeeded', 'completed', array_agg(id ORDER BY id)
    FROM u WHERE :events = 1 GROUP BY job_id
) SELECT count(*) FROM u;
