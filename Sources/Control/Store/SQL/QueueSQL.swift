// Statements of the `queues` table (`kind: Queue` configurations: weight and quota).

enum QueueSQL {
    static let all = "SELECT * FROM queues ORDER BY name"
    static let byName = "SELECT * FROM queues WHERE name = $1 ORDER BY name"
    static let lockByName = "SELECT * FROM queues WHERE name = $1 FOR UPDATE"
    static let delete = "DELETE FROM queues WHERE name = $1 RETURNING *"

    /// Creates or replaces queue $1: $2 weight, $3 quota cpu, $4 quota memory, $5 quota accelerators (all NULL: no quota),
    /// $6 training tokens per day (NULL: none).
    static let upsert = """
        INSERT INTO queues (name, weight, quota_cpu_millis, quota_memory_bytes, quota_accelerators, tokens_per_day)
        VALUES ($1, $2, $3, $4, $5::jsonb, $6)
        ON CONFLICT (name) DO UPDATE SET weight = excluded.weight, quota_cpu_millis = excluded.quota_cpu_millis,
            quota_memory_bytes = excluded.quota_memory_bytes, quota_accelerators = excluded.quota_accelerators,
            tokens_per_day = excluded.tokens_per_day, updated_at = now()
        RETURNING *
        """

    /// Running and queued task counts per queue name that has any.
    static let usage = """
        SELECT j.queue, count(*) FILTER (WHERE t.state = 'running') AS running,
               count(*) FILTER (WHERE t.state = 'queued') AS pending
        FROM tasks t JOIN jobs j ON j.id = t.job_id
        WHERE t.state IN ('running', 'queued')
        GROUP BY j.queue ORDER BY j.queue
        """
}
