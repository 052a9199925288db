// The one statement that says which blobs are in use: the garbage collector deletes a blob only when no row
// of any table below names its checksum (and the blob is older than the grace period).

enum BlobReferenceSQL {
    /// The checksums among $1 (text[] of lower-case hex SHA-256) that some row references. Every table that
    /// holds a blob's location and sha256 adds one `UNION` arm here; a table missing from this list would have
    /// its blobs deleted under it.
    static let referencedAmong = """
        SELECT sha256 FROM artifacts WHERE sha256 = ANY($1::text[])
        UNION SELECT sha256 FROM shards WHERE sha256 = ANY($1::text[])
        -- Engineer A (issue 14, training exchange): UNION SELECT sha256 FROM <exchange table> WHERE sha256 = ANY($1::text[])
        -- Engineer B (issue 14, uploaded inputs): UNION SELECT sha256 FROM <uploaded inputs> WHERE sha256 = ANY($1::text[])
        """
}
