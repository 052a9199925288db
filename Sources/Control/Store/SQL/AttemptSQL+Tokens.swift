// The token columns of attempts and tasks (migration 26): what a train attempt consumed, what its task had at
// its last checkpoint, and what a preemption lost. A live attempt's are in its task row (`attempt_tokens_*`,
// migration 30), where they stay when it succeeds (migration 32) and are copied into its `attempts_ended` row
// when it ends otherwise. Docs: docs/scheduler.md, "Checkpoint-aware preemption".

extension AttemptSQL {
    /// Sets live attempt $1's cumulative tokens to $2; returns its queue and the tokens consumed since its previous
    /// report (for a resumed attempt's first report: since the checkpoint it resumed from), never negative.
    static let recordTokensConsumed = """
        WITH prior AS (
            SELECT t.id, coalesce(t.attempt_tokens_consumed, t.checkpoint_tokens, 0) AS before, j.queue
            FROM tasks t JOIN jobs j ON j.id = t.job_id
            WHERE \(TaskSQL.liveAttempt("$1"))
            FOR UPDATE OF t
        )
        UPDATE tasks t SET attempt_tokens_consumed = $2 FROM prior p WHERE t.id = p.id
        RETURNING p.queue, greatest($2 - p.before, 0) AS consumed
        """

    /// Task $1 registered a checkpoint through attempt $2 holding $3 tokens (NULL: the attempt's latest report).
    static let recordCheckpoint = """
        UPDATE tasks t SET checkpoint_tokens = coalesce($3, a.tokens_consumed, t.checkpoint_tokens),
            checkpointed_at = now()
        FROM task_attempts a WHERE t.id = $1 AND a.id = $2
        """

    /// Attempt $1 is being preempted: keeps the tokens it consumed since its task's last checkpoint (what the next
    /// attempt trains again) and returns them with the queue. No row when the attempt reported no tokens.
    static let recordTokensLost = """
        UPDATE tasks t SET attempt_tokens_lost = greatest(t.attempt_tokens_consumed - coalesce(t.checkpoint_tokens, 0), 0)
        FROM jobs j
        WHERE \(TaskSQL.liveAttempt("$1")) AND j.id = t.job_id
          AND t.attempt_tokens_consumed IS NOT NULL AND t.attempt_tokens_lost IS NULL
        RETURNING t.attempt_tokens_lost AS tokens_lost, j.queue
        """
}
