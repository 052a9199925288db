-- Variant DDL for lease_in_task_b64.sql (scripts/bench-lease-model.sh): the lease lives in the task row (holder,
-- attempt id, deadline, with a partial index for the expiry sweep); the attempt row is written once, when the attempt
-- ends. On top of no_hot_foreign_keys.sql and trim_task_indexes.sql.
ALTER TABLE tasks ADD COLUMN lease_deadline timestamptz;
CREATE INDEX tasks_lease_deadline ON tasks (lease_deadline) WHERE state = 'running';
CREATE INDEX tasks_active_attempt ON tasks (active_attempt_id) WHERE state = 'running';
