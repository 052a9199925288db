// Statements of the `worker_pool_slurm_jobs` table: each Slurm job a pool submitted (or found under its job name),
// until it is seen to end.

enum WorkerPoolSlurmJobSQL {
    /// Jobs of pool $1 not yet seen to end, oldest first.
    static let live = """
        SELECT * FROM worker_pool_slurm_jobs WHERE pool = $1 AND state IN ('pending', 'running')
        ORDER BY submitted_at, slurm_job_id
        """

    /// Records Slurm job $2 of pool $1 with $3 nodes in state $4 (`pending`/`running`), or its new state. A job
    /// already ended stays ended.
    static let observe = """
        INSERT INTO worker_pool_slurm_jobs (pool, slurm_job_id, nodes, state) VALUES ($1, $2, $3, $4)
        ON CONFLICT (pool, slurm_job_id) DO UPDATE SET state = excluded.state, nodes = excluded.nodes
            WHERE worker_pool_slurm_jobs.state IN ('pending', 'running')
        """

    /// Ends Slurm job $2 of pool $1 as $3 (`cancelled` by the autoscaler, or `ended` outside it).
    static let end = """
        UPDATE worker_pool_slurm_jobs SET state = $3, ended_at = now()
        WHERE pool = $1 AND slurm_job_id = $2 AND state IN ('pending', 'running')
        """
}
