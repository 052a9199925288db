-- Variant DDL (scripts/bench-lease-model.sh): a task's state change is not a HOT update, so every index of `tasks`
-- gets an entry per change. This drops the listing index and turns (job_id, state) into a partial index of the
-- unfinished tasks, which a completion (running -> succeeded) no longer touches. Its predicate is the completion
-- probe's own (`state <> 'succeeded'`, ordered by state): with `state IN ('blocked', 'queued', 'running')` the probe
-- could not use it and read the table, and the variant ran at 0.07-0.08 of raw (2026-12-07).
DROP INDEX tasks_listing;
DROP INDEX tasks_job_state;
CREATE INDEX tasks_job_unfinished ON tasks (job_id, state) WHERE state <> 'succeeded';
