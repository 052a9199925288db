import Foundation
import Postgres

/// One unexpired row of `dashboard_sessions`.
struct StoredDashboardSession: Sendable, Equatable {
    var tokenSHA256: String
    var csrfToken: String
    var expiresAt: Date
}

extension StoredDashboardSession {
    init(row: PostgresRow) throws {
        self.init(
            tokenSHA256: try row.string("token_sha256"), csrfToken: try row.string("csrf_token"),
            expiresAt: try row.date("expires_at"))
    }
}

/// The dashboard's sessions (`dashboard_sessions`), keyed by the SHA-256 of the id the browser's cookie holds.
struct DashboardSessionStore: Sendable {
    let pool: PostgresPool

    /// Stores a new session and, in the same transaction, deletes expired ones and all but the newest
    /// `sessionsPerTokenMax` of the token's.
    func create(
        sessionSHA256: String, tokenSHA256: String, csrfToken: String, lifetimeSeconds: Int,
        sessionsPerTokenMax: Int
    ) throws {
        precondition(lifetimeSeconds > 0 && sessionsPerTokenMax > 0, "session limits must be positive")
        try pool.transaction { c in
            _ = try c.execute(DashboardSessionSQL.deleteExpired)
            _ = try c.execute(
                DashboardSessionSQL.create,
                [.text(sessionSHA256), .text(tokenSHA256), .text(csrfToken), .int(Int64(lifetimeSeconds))])
            _ = try c.execute(
                DashboardSessionSQL.keepNewestOfToken, [.text(tokenSHA256), .int(Int64(sessionsPerTokenMax))])
        }
    }

    func active(sessionSHA256: String) throws -> StoredDashboardSession? {
        try pool.retryingOnConnectionLoss {
            try pool.withConnection { c in
                try c.queryFirst(DashboardSessionSQL.active, [.text(sessionSHA256)])
                    .map(StoredDashboardSession.init(row:))
            }
        }
    }

    func delete(sessionSHA256: String) throws {
        try pool.withConnection { c in _ = try c.execute(DashboardSessionSQL.delete, [.text(sessionSHA256)]) }
    }
}
