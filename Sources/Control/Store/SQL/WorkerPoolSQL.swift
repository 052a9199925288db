// Statements of the `worker_pools` table (`kind: WorkerPool` definitions and the autoscaler's last look at each).

enum WorkerPoolSQL {
    static let all = "SELECT * FROM worker_pools ORDER BY name"
    static let byName = "SELECT * FROM worker_pools WHERE name = $1"

    /// Creates or replaces pool $1 with spec $2 (JSON). The autoscaler's sizes are kept: they describe Slurm jobs
    /// that exist whatever the new definition says.
    static let upsert = """
        INSERT INTO worker_pools (name, spec) VALUES ($1, $2::jsonb)
        ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, updated_at = now()
        RETURNING *
        """

    /// The autoscaler's last look at pool $1: $2 current nodes, $3 desired nodes, $4 why it cannot grow (NULL: it can).
    static let recordScale = """
        UPDATE worker_pools SET current_nodes = $2, desired_nodes = $3, blocked_reason = $4, scaled_at = now()
        WHERE name = $1
        """

    /// Alive workers per pool, by the pool label every worker a pool starts registers with ($1: the label key).
    static let aliveWorkers = """
        SELECT labels ->> $1 AS pool, count(*) AS n FROM workers
        WHERE state = 'alive' AND labels ? $1 GROUP BY 1
        """
}
