// Statements of the `task_logs` and `metrics` tables: what attempts append, idempotent by their own keys
// ((attempt, seq) and (attempt, name, step)), read by job with an id cursor. Both tables are partitioned by the
// attempt's start (migration 17), which every append copies: the conflict targets hold it because a partitioned
// table's unique index must, and it adds nothing to the key (one attempt, one start).

enum TaskLogSQL {
    /// Lines of attempt $1: $2 sequence numbers, $3 lines, $4 their streams. Returns how many were new (by its
    /// row count).
    static let append = """
        INSERT INTO task_logs (job_id, task_id, attempt_id, attempt_number, attempt_started_at, seq, stream, line)
        SELECT t.job_id, t.id, a.id, a.number, a.started_at, u.seq, u.stream, u.line
        FROM task_attempts a JOIN tasks t ON t.id = a.task_id,
             unnest($2::bigint[], $3::text[], $4::text[]) AS u(seq, line, stream)
        WHERE a.id = $1
        ON CONFLICT (attempt_id, seq, attempt_started_at) DO NOTHING
        """

    /// Lines of job $1 after id $2, at most $3.
    static let ofJob = "SELECT * FROM task_logs WHERE job_id = $1 AND id > $2 ORDER BY id LIMIT $3"
}

enum MetricSQL {
    /// Points of attempt $1: $2 names, $3 steps, $4 values.
    static let append = """
        INSERT INTO metrics (job_id, task_id, attempt_id, attempt_started_at, name, step, value)
        SELECT t.job_id, t.id, a.id, a.started_at, u.name, u.step, u.value
        FROM task_attempts a JOIN tasks t ON t.id = a.task_id,
             unnest($2::text[], $3::bigint[], $4::float8[]) AS u(name, step, value)
        WHERE a.id = $1
        ON CONFLICT (attempt_id, name, step, attempt_started_at) DO NOTHING
        """

    /// Points of job $1 (metric $2 unless NULL) after id $3, at most $4.
    static let ofJob = """
        SELECT * FROM metrics WHERE job_id = $1 AND ($2::text IS NULL OR name = $2) AND id > $3 ORDER BY id LIMIT $4
        """

    /// Points of job $1 after id $2, at most $3, leaving out the metrics named in $4 (what charts do not draw).
    static let ofJobExcept = """
        SELECT * FROM metrics WHERE job_id = $1 AND id > $2 AND NOT (name = ANY($4::text[])) ORDER BY id LIMIT $3
        """
}
