// Statements about the control plane itself rather than a table of work: the database clock, the scheduler's
// saved state, schema migrations and the advisory locks of `AdvisoryLockKey`.

enum SchedulerStateSQL {
    /// The database clock in Unix seconds (the scheduler's `now`).
    static let now = "SELECT extract(epoch FROM now())::float8 AS now"

    /// The previous pass's reservations and the current leader epoch, locking the row so passes never interleave
    /// and a leader taking over (`takeLeadership`) waits for a pass in flight to end.
    static let lockReservations =
        "SELECT reservations::text AS r, leader_epoch FROM scheduler_state WHERE id = 1 FOR UPDATE"

    /// A replica that just took the leader's advisory lock claims the next fencing epoch as leader $1. Passes of
    /// an older epoch are refused from then on (`SchedulingStore.reservations(_:fencedBy:)`).
    static let takeLeadership = """
        UPDATE scheduler_state SET leader_epoch = leader_epoch + 1, leader = $1, updated_at = now() WHERE id = 1
        RETURNING leader_epoch
        """

    /// Saves reservations $1 (JSON) by leader $2.
    static let saveReservations =
        "UPDATE scheduler_state SET reservations = $1::jsonb, leader = $2, updated_at = now() WHERE id = 1"
}

enum MigrationSQL {
    /// A script (`executeScript` takes only static text: a script cannot carry parameters).
    static let createTable: StaticString = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    integer PRIMARY KEY,
            name       text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """
    static let isApplied = "SELECT 1 FROM schema_migrations WHERE version = $1"
    static let record = "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)"
    static let tableExists = "SELECT to_regclass('schema_migrations') IS NOT NULL AS present"
    static let versions = "SELECT version FROM schema_migrations ORDER BY version"
}

enum AdvisoryLockSQL {
    /// Takes transaction lock $1 if free (released at commit or rollback).
    static let tryTransactionLock = "SELECT pg_try_advisory_xact_lock($1) AS taken"
    /// Takes session lock $1 if free (held until released or the session ends).
    static let trySessionLock = "SELECT pg_try_advisory_lock($1) AS acquired"
    static let unlockSession = "SELECT pg_advisory_unlock($1)"
    /// A round trip that proves the session (and so its session locks) is alive.
    static let ping = "SELECT 1 AS alive"
}
