// Statements of the `artifacts` table (checkpoints, tokenizers, reports: location and checksum, never the bytes).

enum ArtifactSQL {
    /// Artifact $3 of job $1 (task $2): $4 kind, $5 location, $6 sha256, $7 bytes, $8 metadata; returns its id only when new.
    static let insert = """
        INSERT INTO artifacts (job_id, task_id, name, kind, location, sha256, bytes, metadata)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)
        ON CONFLICT (job_id, name) DO NOTHING RETURNING id
        """

    static let ofJob = "SELECT * FROM artifacts WHERE job_id = $1 ORDER BY id"
    static let byName = "SELECT * FROM artifacts WHERE job_id = $1 AND name = $2 ORDER BY id"
    static let byID = "SELECT * FROM artifacts WHERE id = $1"
}
