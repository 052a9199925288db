// The two statements behind `/metrics`' gauges of the cluster's state (docs/observability.md), read at scrape
// time and cached for a second (`ClusterGauges`), so a scrape storm costs at most two statements a second.
// Each is bounded by its LIMIT and walks only what is live, except the job counts (one row per state and queue,
// from a scan of `jobs`, which retention keeps small: docs/history.md).

enum ClusterGaugeSQL {
    /// Rows (family, state, queue, resource, value), at most $1: jobs by state and queue; unfinished tasks of
    /// unfinished jobs by state and queue; running tasks' resources by queue; configured quotas and weights; workers
    /// and their capacity by state. A resource is `cpu_millis`, `memory_bytes` or an accelerator's name; a quota
    /// amount of 0 means "not limited" and is left out.
    static let clusterState = """
        WITH live_tasks AS (
            SELECT t.state, j.queue, t.cpu_millis, t.memory_bytes, t.accelerators
            FROM jobs j JOIN tasks t ON t.job_id = j.id
            WHERE j.state IN ('pending', 'running') AND t.state IN ('blocked', 'queued', 'running')
        ), live_workers AS (
            SELECT state, cpu_millis, memory_bytes, accelerators FROM workers WHERE retired_at IS NULL
        )
        SELECT * FROM (
            SELECT 'jobs' AS family, state, queue, '' AS resource, count(*)::float8 AS value
            FROM jobs GROUP BY state, queue
            UNION ALL
            SELECT 'tasks', state, queue, '', count(*)::float8 FROM live_tasks GROUP BY state, queue
            UNION ALL
            SELECT 'queue_usage', '', t.queue, r.resource, sum(r.amount)::float8
            FROM live_tasks t CROSS JOIN LATERAL (
                SELECT 'cpu_millis', t.cpu_millis UNION ALL SELECT 'memory_bytes', t.memory_bytes
                UNION ALL SELECT key, value::bigint FROM jsonb_each_text(t.accelerators)
            ) r (resource, amount)
            WHERE t.state = 'running' GROUP BY t.queue, r.resource
            UNION ALL
            SELECT 'queue_quota', '', q.name, r.resource, r.amount::float8
            FROM queues q CROSS JOIN LATERAL (
                SELECT 'cpu_millis', q.quota_cpu_millis UNION ALL SELECT 'memory_bytes', q.quota_memory_bytes
                UNION ALL SELECT key, value::bigint FROM jsonb_each_text(q.quota_accelerators)
            ) r (resource, amount)
            WHERE r.amount > 0
            UNION ALL
            SELECT 'queue_weight', '', name, '', weight FROM queues
            UNION ALL
            SELECT 'workers', state, '', '', count(*)::float8 FROM live_workers GROUP BY state
            UNION ALL
            SELECT 'worker_capacity', w.state, '', r.resource, sum(r.amount)::float8
            FROM live_workers w CROSS JOIN LATERAL (
                SELECT 'cpu_millis', w.cpu_millis UNION ALL SELECT 'memory_bytes', w.memory_bytes
                UNION ALL SELECT key, value::bigint FROM jsonb_each_text(w.accelerators)
            ) r (resource, amount)
            GROUP BY w.state, r.resource
        ) gauges
        ORDER BY family, state, queue, resource LIMIT $1
        """

    /// The latest loss, tokens/s and step of the running jobs (at most $1, oldest first): rows (job, queue, name,
    /// step, value), one per job and metric at most, each found by the `metrics_job` index (job, name, step).
    static let trainingLatest = """
        SELECT j.name AS job, j.queue, m.name, m.step, m.value
        FROM (SELECT id, name, queue FROM jobs WHERE state = 'running' ORDER BY id LIMIT $1) j
        CROSS JOIN unnest(ARRAY['loss', 'tokens_per_second']) AS wanted (name)
        CROSS JOIN LATERAL (
            SELECT name, step, value FROM metrics WHERE job_id = j.id AND name = wanted.name
            ORDER BY step DESC LIMIT 1
        ) m
        ORDER BY j.id, m.name
        """
}
