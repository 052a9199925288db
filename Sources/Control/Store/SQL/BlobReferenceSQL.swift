// The one statement that says which blobs are in use: the garbage collector deletes a blob only when no row
// of any table below names its checksum (and the blob is older than the grace period).

enum BlobReferenceSQL {
    /// The checksums among $1 (text[] of lower-case hex SHA-256) that some row references. Every table that
    /// holds a blob's location and sha256 adds one `UNION` arm here; a table missing from this list would have
    /// its blobs deleted under it.
    ///
    /// - `artifacts`: checkpoints, weights, tokenizers (a tokenize job's trained tokenizer with no location too),
    ///   shard artifacts.
    /// - `shards`: a dataset's `.bin` and (uploaded datasets, migration 14) its `.idx`.
    /// - `training_exchange`: the rounds and resumable checkpoints of training jobs, and the hash files of
    ///   tokenize de-duplication scans with no location.
    /// - uploaded inputs live only in task specs (`opsctl apply` rewrites them as `{location, sha256}`), so the
    ///   specs of tasks not yet finished count: a queued tokenize job keeps its inputs however long it waits.
    ///   The scan is bounded by the unfinished tasks and runs once per collection pass (every 10 minutes).
    static let referencedAmong = """
        SELECT sha256 FROM artifacts WHERE sha256 = ANY($1::text[])
        UNION SELECT sha256 FROM shards WHERE sha256 = ANY($1::text[])
        UNION SELECT idx_sha256 FROM shards WHERE idx_sha256 = ANY($1::text[])
        UNION SELECT sha256 FROM training_exchange WHERE sha256 = ANY($1::text[])
        UNION SELECT c.sha256 FROM unnest($1::text[]) AS c (sha256)
            WHERE EXISTS (
                SELECT 1 FROM tasks t
                WHERE t.state IN ('blocked', 'queued', 'running') AND strpos(t.spec::text, c.sha256) > 0)
        """
}
