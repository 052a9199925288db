import Foundation

// Statements of the `api_tokens` table: named operator tokens (docs/security.md). Secrets are never stored, only
// their SHA-256; every statement but `active` returns the listing's columns.

enum TokenSQL {
    /// The columns a `TokenRecord` is read from (`TokenRecord.init(row:)`).
    static let columns = """
        name, scope, array_to_json(queues)::text AS queues, secret_sha256, created_at, created_by, revoked_at, revoked_by
        """

    /// A new token: $1 name, $2 scope, $3 queues, $4 secret SHA-256, $5 who creates it, with its `token.created`
    /// event (the reason names the scope and queues, the actor column the request's token). Nothing when the name
    /// is taken (revoked names too).
    static let create = """
        WITH created AS (
            INSERT INTO api_tokens (name, scope, queues, secret_sha256, created_by) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (name) DO NOTHING RETURNING id AS token_id, \(columns)
        ), e AS (
            \(EventSQL.insertInto)
            SELECT 'token', token_id, NULL, NULL, 'created', 'token ' || name || ' created with scope ' || scope
                || CASE WHEN $3::text[] = '{}' THEN '' ELSE ' for queues ' || array_to_string($3::text[], ', ') END
            FROM created
        )
        SELECT * FROM created
        """

    /// Every token, oldest first.
    static let all = "SELECT \(columns) FROM api_tokens ORDER BY id"

    /// The unrevoked token whose secret hashes to $1: one probe of `api_tokens_secret_sha256_key`.
    static let active = "SELECT \(columns) FROM api_tokens WHERE secret_sha256 = $1 AND revoked_at IS NULL"

    /// Revokes the token named $1 by $2, with its `token.revoked` event; a revoked token keeps its first
    /// revocation and gets no second event. The row either way.
    static let revoke = """
        WITH revoked AS (
            UPDATE api_tokens SET revoked_at = now(), revoked_by = $2 WHERE name = $1 AND revoked_at IS NULL
            RETURNING id AS token_id, \(columns)
        ), e AS (
            \(EventSQL.insertInto)
            SELECT 'token', token_id, NULL, 'created', 'revoked', 'token ' || name || ' revoked' FROM revoked
        )
        SELECT * FROM revoked
        UNION ALL SELECT id, \(columns) FROM api_tokens WHERE name = $1 AND revoked_at IS NOT NULL
        """
}
