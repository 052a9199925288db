// Statements of the `datasets` and `shards` tables. Both are recorded once: a repeated insert does nothing
// (ON CONFLICT DO NOTHING) and the store compares what is stored with what was asked.

enum DatasetSQL {
    /// Dataset $1 at $2 in format $3 with metadata $4, made by job $5; returns its id only when new.
    static let insert = """
        INSERT INTO datasets (name, location, format, metadata, job_id) VALUES ($1, $2, $3, $4::jsonb, $5)
        ON CONFLICT (name) DO NOTHING RETURNING id
        """

    static let exists = "SELECT 1 FROM datasets WHERE id = $1"
    static let all = "SELECT * FROM datasets ORDER BY id"
    static let byName = "SELECT * FROM datasets WHERE name = $1 ORDER BY id"
    static let byID = "SELECT * FROM datasets WHERE id = $1 ORDER BY id"
}

enum ShardSQL {
    /// Shard $2 of dataset $1: $3 location, $4 sha256, $5 bytes, $6 tokens, $7 documents, and its `.idx` blob
    /// $8 location, $9 sha256, $10 bytes (NULL beside the `.bin` on a host directory); returns its id only when new.
    static let insert = """
        INSERT INTO shards (dataset_id, shard_index, location, sha256, bytes, tokens, documents, idx_location, idx_sha256, idx_bytes)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        ON CONFLICT (dataset_id, shard_index) DO NOTHING RETURNING id
        """

    /// Marks shard $2 of dataset $1 bad for reason $3; returns its id and its state before.
    static let markBad = """
        UPDATE shards SET state = 'bad', bad_reason = $3 WHERE dataset_id = $1 AND shard_index = $2
        RETURNING id, (SELECT state FROM shards s WHERE s.dataset_id = $1 AND s.shard_index = $2) AS old
        """

    static let byIndex =
        "SELECT * FROM shards WHERE dataset_id = $1 AND shard_index = $2 ORDER BY dataset_id, shard_index"

    /// Shards of dataset $1 by index, only those in state $2 unless NULL.
    static let ofDataset = """
        SELECT * FROM shards WHERE dataset_id = $1 AND ($2::text IS NULL OR state = $2) ORDER BY dataset_id, shard_index
        """
}
