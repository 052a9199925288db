-- The floor of the control plane's lease design (migration 30, the lease in the task row): one worker's loop at
-- batch 64 with nothing but the lease — the claim updates 64 tasks (holder, attempt id from the attempts' sequence,
-- deadline) without the capacity check, packing, job start or notify of `TaskSQL.claim`; the completion updates
-- them and writes each ended attempt once, without the job probe of `completeUnlessFinishing`. Per task: 2 task
-- updates, 1 `attempts_ended` insert, and 2 events unless pgbench -D events=0.
\set wid :client_id + 1
WITH picked AS (
    SELECT t.id FROM tasks t
    WHERE t.state = 'queued' AND t.not_before <= now() AND (t.placed_worker_id = :wid OR t.placed_worker_id IS NULL)
    ORDER BY t.priority DESC, t.id LIMIT 64 FOR UPDATE OF t SKIP LOCKED
), u AS (
    UPDATE tasks t SET state = 'running', attempts = t.attempts + 1, worker_id = :wid,
        active_attempt_id = nextval('task_attempts_id_seq'), lease_seconds = 15,
        lease_deadline = now() + interval '15 seconds', attempt_started_at = now(),
        started_at = coalesce(t.started_at, now()), updated_at = now()
    FROM picked WHERE t.id = picked.id
    RETURNING t.id, t.job_id, t.attempts, t.active_attempt_id
), e AS (
    INSERT INTO events (entity, entity_id, job_id, old_state, new_state, reason)
    SELECT 'task', id, job_id, 'queued', 'running', 'attempt ' || attempts || ' leased to worker ' || :wid::text
    FROM u WHERE :events = 1
) SELECT coalesce(string_agg(u.active_attempt_id::text, ','), '0') AS aids FROM u \gset
WITH u AS (
    UPDATE tasks t SET state = 'succeeded', result = '{"ok": true}', worker_id = NULL, lease_deadline = NULL,
        finished_at = now(), updated_at = now()
    WHERE t.active_attempt_id = ANY(string_to_array(:aids, ',')::bigint[]) AND t.state = 'running'
      AND t.worker_id = :wid
    RETURNING t.id, t.job_id, t.attempts, t.attempt_started_at AS started_at, t.active_attempt_id
), i AS (
    INSERT INTO attempts_ended (id, task_id, number, worker_id, state, lease_seconds, lease_deadline, started_at,
        finished_at)
    SELECT active_attempt_id, id, attempts, :wid, 'succeeded', 15, now(), started_at, now() FROM u
), e AS (
    INSERT INTO events (entity, entity_id, job_id, old_state, new_state, reason)
    SELECT 'task', id, job_id, 'running', 'succeeded', 'attempt ' || attempts || ' completed' FROM u WHERE :events = 1
) SELECT count(*) FROM u;
