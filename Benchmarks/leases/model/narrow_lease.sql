-- Variant DDL (scripts/bench-lease-model.sh): the narrow lease design, measured before it is built (docs/leases.md,
-- "The narrow lease, modelled"). Every index that names a column a lease changes leaves `tasks`; the task row keeps
-- only indexes of columns fixed at submission (its id, (job_id, task_index), the listing order), so the claim's and
-- the completion's updates of it are HOT (no index entry) when its page has room (fillfactor 80). What the moved
-- indexes found is kept in two narrow tables whose rows are inserted and deleted, never updated by a lease:
--   task_queue:  one row per queued task (the claim deletes it: a delete writes no index entry);
--   task_leases: one row per running attempt (the claim inserts it: 3 entries; the completion deletes it).
DROP INDEX tasks_runnable, tasks_job_state, tasks_running_worker, tasks_placed_worker, tasks_unplaced,
    tasks_active_attempt, tasks_preempting, tasks_final_attempt;
ALTER TABLE tasks SET (fillfactor = 30);
CREATE TABLE task_queue (
    task_id          bigint PRIMARY KEY,
    job_id           bigint NOT NULL,
    priority         integer NOT NULL,
    not_before       timestamptz NOT NULL,
    placed_worker_id bigint
);
CREATE INDEX task_queue_runnable ON task_queue (priority DESC, task_id);
CREATE INDEX task_queue_job ON task_queue (job_id);
CREATE TABLE task_leases (
    attempt_id     bigint PRIMARY KEY,
    task_id        bigint NOT NULL,
    job_id         bigint NOT NULL,
    worker_id      bigint NOT NULL,
    lease_deadline timestamptz NOT NULL
);
CREATE INDEX task_leases_worker ON task_leases (worker_id);
CREATE INDEX task_leases_job ON task_leases (job_id);
