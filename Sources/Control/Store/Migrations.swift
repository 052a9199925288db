import Foundation
import Postgres

// Versioned schema migrations, applied at start-up. Each runs in its own transaction holding a
// transaction-scoped advisory lock (its own key, never the leader's), so two control-plane replicas starting
// together apply each migration exactly once (the second waits, then sees it recorded in schema_migrations).
// The wait polls a try-lock, so a replica told to stop while it waits (SIGTERM) stops instead of hanging.

public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let sql: String
}

public enum Migrations {
    static let advisoryLockKey = AdvisoryLockKey.schemaMigration
    /// How often a replica waiting for another's migration looks again (and checks `shouldStop`).
    static let lockPollSeconds = 0.05

    /// Applies every migration not yet recorded; returns the versions applied now (empty if up to date).
    /// Throws `CancellationError` when `shouldStop` turns true while it waits for the migration lock.
    @discardableResult
    public static func apply(
        to pool: PostgresPool, migrations: [Migration] = Migrations.all,
        shouldStop: () -> Bool = { false }
    ) throws -> [Int] {
        var applied: [Int] = []
        for migration in migrations.sorted(by: { $0.version < $1.version }) {
            // `shouldStop` here too: without it a stop request waited out this loop's own 30 s while the
            // database did not answer (a Ctrl-C of `opsctl up` was ignored that long).
            let didApply = try pool.retryingOnConnectionLoss(shouldStop: shouldStop) {
                try pool.transaction { c -> Bool in
                    try waitForLock(c, shouldStop: shouldStop)
                    try c.executeScript(MigrationSQL.createTable)
                    if try c.queryFirst(MigrationSQL.isApplied, [.int(Int64(migration.version))]) != nil {
                        return false
                    }
                    try c.executeScriptText(migration.sql)
                    try c.execute(MigrationSQL.record, [.int(Int64(migration.version)), .text(migration.name)])
                    return true
                }
            }
            if didApply { applied.append(migration.version) }
        }
        return applied
    }

    private static func waitForLock(_ c: PostgresConnection, shouldStop: () -> Bool) throws {
        while try !c.queryOne(AdvisoryLockSQL.tryTransactionLock, [.int(advisoryLockKey)]).bool("taken") {
            if shouldStop() { throw CancellationError() }
            Thread.sleep(forTimeInterval: lockPollSeconds)
        }
    }

    /// The versions recorded in the database.
    public static func appliedVersions(in pool: PostgresPool) throws -> [Int] {
        try pool.withConnection { c in
            guard try c.queryOne(MigrationSQL.tableExists).bool("present") else { return [] }
            return try c.query(MigrationSQL.versions).map { try $0.int("version") }
        }
    }
}
