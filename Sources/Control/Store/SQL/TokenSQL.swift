import Foundation

// Statements of the `api_tokens` table: named operator tokens (docs/security.md). Secrets are never stored, only
// their SHA-256; every statement but `active` returns the listing's columns.

enum TokenSQL {
    /// The columns a `TokenRecord` is read from (`TokenRecord.init(row:)`).
    static let columns = """
        name, scope, array_to_json(queues)::text AS queues, secret_sha256, created_at, created_by, revoked_at, revoked_by
        """

    /// A new token: $1 name, $2 scope, $3 queues, $4 secret SHA-256, $5 who creates it. Nothing when the name is
    /// taken (revoked names too).
    static let create = """
        INSERT INTO api_tokens (name, scope, queues, secret_sha256, created_by) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (name) DO NOTHING RETURNING \(columns)
        """

    /// Every token, oldest first.
    static let all = "SELECT \(columns) FROM api_tokens ORDER BY id"

    /// The unrevoked token whose secret hashes to $1: one probe of `api_tokens_secret_sha256_key`.
    static let active = "SELECT \(columns) FROM api_tokens WHERE secret_sha256 = $1 AND revoked_at IS NULL"

    /// Revokes the token named $1 by $2; a revoked token keeps its first revocation. The row either way.
    static let revoke = """
        WITH revoked AS (
            UPDATE api_tokens SET revoked_at = now(), revoked_by = $2 WHERE name = $1 AND revoked_at IS NULL
            RETURNING \(columns)
        )
        SELECT * FROM revoked UNION ALL SELECT \(columns) FROM api_tokens WHERE name = $1 AND revoked_at IS NOT NULL
        """
}
