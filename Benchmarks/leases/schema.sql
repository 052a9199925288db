-- The raw anchor of scripts/bench-leases.sh: a tasks table shaped like the control plane's (Sources/Control/Store/
-- Schema.swift: the same claim-relevant columns and the same partial index on runnable tasks), filled with
-- :queued queued tasks. psql -v queued=10000 -f schema.sql
DROP TABLE IF EXISTS raw_tasks;
CREATE TABLE raw_tasks (
    id          bigserial PRIMARY KEY,
    job_id      bigint NOT NULL,
    task_index  integer NOT NULL,
    spec        jsonb NOT NULL DEFAULT '{}',
    priority    integer NOT NULL DEFAULT 0,
    state       text NOT NULL,
    attempts    integer NOT NULL DEFAULT 0,
    not_before  timestamptz NOT NULL DEFAULT now(),
    worker_id   bigint,
    result      jsonb,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    started_at  timestamptz,
    finished_at timestamptz
);
INSERT INTO raw_tasks (job_id, task_index, spec, state)
SELECT 1, i, jsonb_build_object('i', i), 'queued' FROM generate_series(0, :queued - 1) AS i;
CREATE INDEX raw_tasks_runnable ON raw_tasks (priority DESC, id) WHERE state = 'queued';
VACUUM ANALYZE raw_tasks;
