-- The narrow lease design's queue (narrow_lease.sql), filled after setup.sql from its queued tasks.
TRUNCATE task_queue, task_leases;
INSERT INTO task_queue (task_id, job_id, priority, not_before, placed_worker_id)
SELECT id, job_id, priority, not_before, placed_worker_id FROM tasks WHERE state = 'queued';
VACUUM ANALYZE task_queue, task_leases;
