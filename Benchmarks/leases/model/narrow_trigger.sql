-- Variant DDL (scripts/bench-lease-model.sh), on top of narrow_lease.sql: the same narrow tables kept exact by
-- statement-level triggers on `tasks` (transition tables), not by the lease statements themselves. Every path that
-- moves a task into or out of `queued` or `running` then keeps `task_queue` and `task_leases` right without knowing
-- of them; the cost is measured here before it is built (docs/leases.md, "The narrow lease, modelled").
CREATE FUNCTION narrow_sync_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM task_queue q USING old_rows o JOIN new_rows n ON n.id = o.id
    WHERE q.task_id = o.id AND o.state = 'queued'
      AND (n.state <> 'queued' OR (n.priority, n.not_before, n.placed_worker_id)
                                   IS DISTINCT FROM (o.priority, o.not_before, o.placed_worker_id));
    INSERT INTO task_queue (task_id, job_id, priority, not_before, placed_worker_id)
    SELECT n.id, n.job_id, n.priority, n.not_before, n.placed_worker_id
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE n.state = 'queued' AND (o.state <> 'queued' OR (n.priority, n.not_before, n.placed_worker_id)
                                                        IS DISTINCT FROM (o.priority, o.not_before, o.placed_worker_id));
    DELETE FROM task_leases l USING old_rows o JOIN new_rows n ON n.id = o.id
    WHERE l.attempt_id = o.active_attempt_id AND o.state = 'running'
      AND (n.state <> 'running' OR n.active_attempt_id IS DISTINCT FROM o.active_attempt_id);
    INSERT INTO task_leases (attempt_id, task_id, job_id, worker_id, lease_deadline)
    SELECT n.active_attempt_id, n.id, n.job_id, n.worker_id, n.lease_deadline
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE n.state = 'running' AND (o.state <> 'running' OR n.active_attempt_id IS DISTINCT FROM o.active_attempt_id);
    RETURN NULL;
END $$;
CREATE TRIGGER tasks_narrow_sync AFTER UPDATE ON tasks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION narrow_sync_update();
