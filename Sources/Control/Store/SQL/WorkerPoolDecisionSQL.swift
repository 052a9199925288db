// Statements of the `worker_pool_decisions` table: every scale decision with its reason (`opsctl describe pool`).

enum WorkerPoolDecisionSQL {
    /// Decisions kept per pool: enough for a day of a busy pool; older ones are deleted as new ones arrive.
    static let keptPerPool = 1000

    /// Pool $1's decision: $2 action, $3 Slurm job id (NULL: none), $4 nodes, $5 reason.
    static let insert = """
        INSERT INTO worker_pool_decisions (pool, action, slurm_job_id, nodes, reason) VALUES ($1, $2, $3, $4, $5)
        """

    /// Deletes pool $1's decisions beyond the newest $2.
    static let prune = """
        DELETE FROM worker_pool_decisions WHERE pool = $1 AND id <= (
            SELECT id FROM worker_pool_decisions WHERE pool = $1 ORDER BY id DESC OFFSET $2 LIMIT 1)
        """

    /// Pool $1's newest $2 decisions, newest first.
    static let latest = """
        SELECT * FROM worker_pool_decisions WHERE pool = $1 ORDER BY id DESC LIMIT $2
        """

    /// The newest decision of pool $1 (to record a repeated failure once).
    static let newest = "SELECT * FROM worker_pool_decisions WHERE pool = $1 ORDER BY id DESC LIMIT 1"
}
