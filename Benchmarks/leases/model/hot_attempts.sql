-- Variant DDL (scripts/bench-lease-model.sh): the attempt row stays, but no index of `task_attempts` mentions its
-- state, so ending an attempt (and a heartbeat extending its deadline) is a HOT update that writes no index entry.
-- Readers of active attempts would go through the running tasks (`tasks_running_worker`, `active_attempt_id`).
DROP INDEX task_attempts_one_active;
DROP INDEX task_attempts_active_deadline;
DROP INDEX task_attempts_active_worker;
DROP INDEX task_attempts_preempting;
ALTER TABLE task_attempts SET (fillfactor = 70);
