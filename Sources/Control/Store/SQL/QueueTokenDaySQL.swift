// Statements of the `queue_token_days` table (migration 26): per queue and UTC day, the training tokens its
// train jobs consumed (checked against `queues.tokens_per_day`, counted in fair share) and lost to preemption
// (the `llmops_preemption_tokens_lost_total` counter). Docs: docs/queues.md, docs/scheduler.md.

enum QueueTokenDaySQL {
    /// The control plane's day: tokens per day reset at 00:00 UTC, the same on every replica.
    static let today = "(now() AT TIME ZONE 'UTC')::date"

    /// Adds $2 consumed tokens to queue $1's row of today.
    static let addConsumed = """
        INSERT INTO queue_token_days (queue, day, tokens_consumed) VALUES ($1, \(today), $2)
        ON CONFLICT (queue, day) DO UPDATE SET tokens_consumed = queue_token_days.tokens_consumed + excluded.tokens_consumed
        """

    /// Adds $2 tokens lost to a preemption to queue $1's row of today.
    static let addLost = """
        INSERT INTO queue_token_days (queue, day, tokens_lost) VALUES ($1, \(today), $2)
        ON CONFLICT (queue, day) DO UPDATE SET tokens_lost = queue_token_days.tokens_lost + excluded.tokens_lost
        """

    /// Rows (queue, tokens) of today with tokens consumed, for the scheduling snapshot.
    static let consumedToday = """
        SELECT queue, tokens_consumed FROM queue_token_days WHERE day = \(today) AND tokens_consumed > 0
        ORDER BY queue LIMIT $1
        """

    /// Rows (queue, tokens) of every queue that ever lost tokens to preemption, at most $1: the counter's series.
    static let lostByQueue = """
        SELECT queue, sum(tokens_lost)::float8 AS tokens FROM queue_token_days WHERE tokens_lost > 0
        GROUP BY queue ORDER BY queue LIMIT $1
        """
}
