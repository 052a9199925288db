-- One worker's loop, the way a queue built on PostgreSQL alone does it (River, Oban, pgqueuer): claim up to 64
-- runnable tasks in one statement (FOR UPDATE SKIP LOCKED, highest priority then oldest), commit; complete them
-- in one statement, commit. Two transactions, fsync on. pgbench -f claim_complete_b64.sql (scripts/bench-leases.sh).
BEGIN;
WITH claimed AS (
    UPDATE raw_tasks SET state = 'running', worker_id = :client_id, attempts = attempts + 1,
        started_at = now(), updated_at = now()
    WHERE id IN (SELECT id FROM raw_tasks WHERE state = 'queued' AND not_before <= now()
                 ORDER BY priority DESC, id LIMIT 64 FOR UPDATE SKIP LOCKED)
    RETURNING id
) SELECT coalesce(string_agg(id::text, ','), '0') AS ids FROM claimed \gset
COMMIT;
BEGIN;
UPDATE raw_tasks SET state = 'succeeded', result = '{"ok": true}', worker_id = NULL, finished_at = now(), updated_at = now()
WHERE id IN (:ids) AND state = 'running';
COMMIT;
