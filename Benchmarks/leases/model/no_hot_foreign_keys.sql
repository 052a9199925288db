-- Variant DDL (scripts/bench-lease-model.sh): without the foreign keys a claim and a completion check per task
-- (three `FOR KEY SHARE` probes of workers and tasks per leased task). Who would keep them true instead: the claim
-- writes ids it read from locked rows, and job deletion would delete a job's attempts itself.
SET client_min_messages = warning;
ALTER TABLE tasks DROP CONSTRAINT tasks_worker_id_fkey;
ALTER TABLE task_attempts DROP CONSTRAINT task_attempts_worker_id_fkey;
ALTER TABLE task_attempts DROP CONSTRAINT task_attempts_task_id_fkey;
