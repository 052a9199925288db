-- Variant DDL (scripts/bench-lease-model.sh): a task's state change is not a HOT update, so every index of `tasks`
-- gets an entry per change. This drops the listing index and turns (job_id, state) into a partial index of the
-- unfinished tasks, which a completion (running -> succeeded) no longer touches.
DROP INDEX tasks_listing;
DROP INDEX tasks_job_state;
CREATE INDEX tasks_job_unfinished ON tasks (job_id) WHERE state IN ('blocked', 'queued', 'running');
