// Statements of the `training_exchange` table (a job's named entries: location and checksum, never the bytes).

enum ExchangeSQL {
    /// Serializes the writes to job $2's exchange until the transaction ends (class $1: `AdvisoryLockKey`).
    static let lockJob = "SELECT pg_advisory_xact_lock($1::int4, ($2::bigint % 2147483647)::int4)"

    static let columns = "name, location, sha256, bytes, version"

    /// Entry $2 of job $1 → $3 location, $4 sha256, $5 bytes, unless the name exists (first writer wins): returns
    /// the row only when it was created.
    static let insertIfAbsent = """
        INSERT INTO training_exchange (job_id, name, location, sha256, bytes) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (job_id, name) DO NOTHING RETURNING \(columns)
        """

    /// Entry $2 of job $1 → $3 location, $4 sha256, $5 bytes, replacing an existing one with a new version;
    /// `created` says which happened.
    static let upsert = """
        INSERT INTO training_exchange AS e (job_id, name, location, sha256, bytes) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (job_id, name) DO UPDATE SET location = EXCLUDED.location, sha256 = EXCLUDED.sha256,
            bytes = EXCLUDED.bytes, version = nextval('training_exchange_version_seq'), created_at = now()
        RETURNING \(columns), (xmax = 0) AS created
        """

    /// Entries of job $1 with a version above $2 whose name starts with $3 (NULL: any), the oldest $4 of them
    /// (by version, so a reader that pages on the largest version it got skips none).
    static let changedSince = """
        SELECT \(columns) FROM training_exchange
        WHERE job_id = $1 AND version > $2 AND ($3::text IS NULL OR starts_with(name, $3))
        ORDER BY version LIMIT $4
        """

    /// The largest version of job $1's exchange (0 when it has none).
    static let latestVersion = "SELECT coalesce(max(version), 0) AS version FROM training_exchange WHERE job_id = $1"

    static let delete = "DELETE FROM training_exchange WHERE job_id = $1 AND name = $2"

    /// Whether worker $2 holds an active attempt of a task of job $1 (who may write the job's exchange).
    static let workerHoldsAttempt = """
        SELECT 1 FROM task_attempts a JOIN tasks t ON t.id = a.task_id
        WHERE t.job_id = $1 AND a.worker_id = $2 AND a.state = 'active' LIMIT 1
        """
}
