-- The lease model's queue (scripts/bench-lease-model.sh, docs/leases.md "A model of the lease"): the control plane's
-- own tables (migrated by `opsctl serve`), 8 alive workers with room for everything, one pending job and :queued
-- queued tasks. psql -v queued=100000 -f setup.sql
SET client_min_messages = warning;
TRUNCATE events, attempts_ended, tasks, jobs, workers CASCADE;
INSERT INTO workers (id, name, cpu_millis, memory_bytes, state) SELECT i, 'w' || i, 1000000000, 1000000000000, 'alive' FROM generate_series(1, 8) i;
INSERT INTO jobs (id, name, type, state) VALUES (1, 'bench', 'shell', 'pending');
INSERT INTO tasks (job_id, task_index, spec, state) SELECT 1, i, jsonb_build_object('i', i), 'queued' FROM generate_series(0, :queued - 1) AS i;
VACUUM ANALYZE;
