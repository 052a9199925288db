import Foundation

// Statements of the `dashboard_sessions` table: the dashboard's signed-in browsers (docs/dashboard.md). Only
// hashes are stored: the session id's SHA-256 (the cookie holds the id) and the signing-in token's SHA-256.

enum DashboardSessionSQL {
    /// A new session: $1 session SHA-256, $2 token SHA-256, $3 CSRF token, $4 lifetime in seconds.
    static let create = """
        INSERT INTO dashboard_sessions (session_sha256, token_sha256, csrf_token, expires_at)
        VALUES ($1, $2, $3, now() + $4::bigint * interval '1 second')
        """

    /// The unexpired session whose id hashes to $1: one probe of the primary key.
    static let active = """
        SELECT token_sha256, csrf_token, expires_at FROM dashboard_sessions
        WHERE session_sha256 = $1 AND expires_at > now()
        """

    /// Signs one session out.
    static let delete = "DELETE FROM dashboard_sessions WHERE session_sha256 = $1"

    /// Every expired session (run at each sign-in, so the table holds live sessions and a day's leftovers).
    static let deleteExpired = "DELETE FROM dashboard_sessions WHERE expires_at <= now()"

    /// Keeps the newest $2 sessions of token $1 and deletes the rest: a token signing in again and again (a
    /// script, a leaked token) cannot grow the table without bound.
    static let keepNewestOfToken = """
        DELETE FROM dashboard_sessions WHERE token_sha256 = $1 AND session_sha256 NOT IN (
            SELECT session_sha256 FROM dashboard_sessions WHERE token_sha256 = $1 ORDER BY created_at DESC LIMIT $2
        )
        """
}
