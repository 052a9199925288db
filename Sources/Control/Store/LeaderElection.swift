import Foundation
import Postgres

/// One replica at a time leads scheduling: the holder of a session-level PostgreSQL advisory lock on a
/// dedicated connection. When the leader dies its session ends, the lock is released by the server, and the
/// next replica that tries takes it over. A leader that loses its connection stops leading at once.
final class LeaderElection {
    static let lockKey = AdvisoryLockKey.schedulingLeader

    private let conninfo: String
    private var connection: PostgresConnection?

    init(conninfo: String) { self.conninfo = conninfo }

    /// True while this replica holds the lock; tries to take it when it does not.
    func holdOrAcquire() -> Bool {
        do {
            if let connection {
                // Still leading only if the session that holds the lock is alive.
                _ = try connection.queryOne(AdvisoryLockSQL.ping)
                return true
            }
            let candidate = try PostgresConnection(conninfo: conninfo, applicationName: "llm-ops-scheduler-leader")
            if try candidate.queryOne(AdvisoryLockSQL.trySessionLock, [.int(Self.lockKey)]).bool("acquired") {
                connection = candidate
                return true
            }
            candidate.close()
            return false
        } catch {
            connection?.close()
            connection = nil
            return false
        }
    }

    func resign() {
        if let connection {
            _ = try? connection.query(AdvisoryLockSQL.unlockSession, [.int(Self.lockKey)])
            connection.close()
        }
        connection = nil
    }
}
