// The token columns of attempts and tasks (migration 26): what a train attempt consumed, what its task had at
// its last checkpoint, and what a preemption lost. Docs: docs/scheduler.md, "Checkpoint-aware preemption".

extension AttemptSQL {
    /// Sets live attempt $1's cumulative tokens to $2; returns its queue and the tokens consumed since its previous
    /// report (for a resumed attempt's first report: since the checkpoint it resumed from), never negative.
    static let recordTokensConsumed = """
        WITH prior AS (
            SELECT a.id, coalesce(a.tokens_consumed, t.checkpoint_tokens, 0) AS before, j.queue
            FROM task_attempts a JOIN tasks t ON t.id = a.task_id JOIN jobs j ON j.id = t.job_id
            WHERE a.id = $1 AND a.state = 'active'
            FOR UPDATE OF a
        )
        UPDATE task_attempts a SET tokens_consumed = $2 FROM prior p WHERE a.id = p.id
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
        UPDATE task_attempts a SET tokens_lost = greatest(a.tokens_consumed - coalesce(t.checkpoint_tokens, 0), 0)
        FROM tasks t JOIN jobs j ON j.id = t.job_id
        WHERE a.id = $1 AND t.id = a.task_id AND a.tokens_consumed IS NOT NULL AND a.tokens_lost IS NULL
        RETURNING a.tokens_lost, j.queue
        """
}
