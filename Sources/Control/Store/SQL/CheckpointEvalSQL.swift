// Statements of the `checkpoint_evals` table (migration 25): which eval job the control plane created for a
// checkpoint artifact of a train job with `evalEvery: checkpoint`, at which step and data position, and the
// copy of the eval's results into the train job's metrics (docs/training.md, "Evals on every checkpoint").

enum CheckpointEvalSQL {
    /// Links checkpoint artifact $1 of train job $2 to eval job $3: step $4, tokens consumed $5, stream state $6
    /// (JSON or NULL). Returns the artifact id only when the link is new.
    static let insert = """
        INSERT INTO checkpoint_evals (artifact_id, train_job_id, eval_job_id, step, tokens_consumed, stream_state)
        VALUES ($1, $2, $3, $4, $5, $6::jsonb)
        ON CONFLICT (artifact_id) DO NOTHING RETURNING artifact_id
        """

    /// The eval job of checkpoint artifact $1, when one was created.
    static let evalOfCheckpoint = "SELECT eval_job_id FROM checkpoint_evals WHERE artifact_id = $1"

    /// Keeps the tasks of eval job $1 off a claim's fast path (the column that does so for remote readers,
    /// migration 8), so only the scheduler places them: it serves every other job of a pass first.
    static let placeByScheduler = "UPDATE tasks SET reads_remote = true WHERE job_id = $1"

    /// Copies points of attempt $1 ($2 names as they go into the train job, $3 values) into the train job of the
    /// checkpoint its job evaluates, at that checkpoint's step; nothing when the attempt's job is no checkpoint
    /// eval. Keyed like every metric (attempt, name, step), so a repeated report adds nothing.
    static let mirrorMetrics = """
        INSERT INTO metrics (job_id, task_id, attempt_id, attempt_started_at, name, step, value)
        SELECT e.train_job_id, t.id, a.id, a.started_at, u.name, e.step, u.value
        FROM task_attempts a
             JOIN tasks t ON t.id = a.task_id
             JOIN checkpoint_evals e ON e.eval_job_id = t.job_id,
             unnest($2::text[], $3::float8[]) AS u(name, value)
        WHERE a.id = $1
        ON CONFLICT (attempt_id, name, step, attempt_started_at) DO NOTHING
        """

    /// The checkpoint evals of train job $1 by step: the checkpoint, its data position, the eval job and its
    /// state, and the eval's results as a JSON object of metric name to value.
    static let ofTrainJob = """
        SELECT e.artifact_id, a.name AS checkpoint, e.step, e.tokens_consumed, e.stream_state::text AS stream_state,
               j.id AS eval_job_id, j.name AS eval_job, j.state AS eval_state,
               (SELECT coalesce(jsonb_object_agg(m.name, m.value), '{}'::jsonb)::text
                FROM metrics m JOIN tasks t ON t.id = m.task_id
                WHERE m.job_id = e.train_job_id AND t.job_id = e.eval_job_id) AS results
        FROM checkpoint_evals e
             JOIN artifacts a ON a.id = e.artifact_id
             JOIN jobs j ON j.id = e.eval_job_id
        WHERE e.train_job_id = $1
        ORDER BY e.step, e.artifact_id
        """
}
