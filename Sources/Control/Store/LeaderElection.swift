import Foundation
import Postgres

/// One replica at a time leads scheduling: the holder of a session-level PostgreSQL advisory lock on a
/// dedicated connection. When the leader dies its session ends, the lock is released by the server, and the
/// next replica that tries takes it over. A leader that loses its connection stops leading at once.
///
/// The lock alone cannot stop a leader that has not yet noticed it lost it (its session was killed, or the
/// primary it was on died in a failover) from finishing a pass after another replica took over. So each
/// acquisition takes the next *fencing epoch* (`scheduler_state.leader_epoch`), and every pass checks, under the
/// row lock it takes anyway, that the epoch is still its own (`SchedulingStore.reservations(_:fencedBy:)`).
final class LeaderElection {
    static let lockKey = AdvisoryLockKey.schedulingLeader

    private let conninfo: String
    private let replicaName: String
    private var connection: PostgresConnection?
    private var epoch: Int64?

    init(conninfo: String, replicaName: String) {
        self.conninfo = conninfo
        self.replicaName = replicaName
    }

    /// The fencing epoch while this replica holds the lock, nil when it does not; tries to take the lock when it
    /// does not hold it.
    func holdOrAcquire() -> Int64? {
        do {
            if let connection, let epoch {
                // Still leading only if the session that holds the lock is alive.
                _ = try connection.queryOne(AdvisoryLockSQL.ping)
                return epoch
            }
            let candidate = try PostgresConnection(conninfo: conninfo, applicationName: "llm-ops-scheduler-leader")
            guard try candidate.queryOne(AdvisoryLockSQL.trySessionLock, [.int(Self.lockKey)]).bool("acquired") else {
                candidate.close()
                return nil
            }
            // Waits for a pass of the previous leader still in flight (it holds the row), so that pass either
            // committed before this epoch exists or finds the new epoch and writes nothing.
            let taken = try candidate.queryOne(SchedulerStateSQL.takeLeadership, [.text(replicaName)])
                .int64("leader_epoch")
            connection = candidate
            epoch = taken
            return taken
        } catch {
            resign()
            return nil
        }
    }

    func resign() {
        if let connection {
            _ = try? connection.query(AdvisoryLockSQL.unlockSession, [.int(Self.lockKey)])
            connection.close()
        }
        connection = nil
        epoch = nil
    }
}

/// A scheduling pass refused because another replica took the leadership over: the pass wrote nothing.
struct LeadershipFenced: Error, CustomStringConvertible, Equatable {
    /// The epoch this replica led under.
    let heldEpoch: Int64
    /// The epoch in the database: a later leader's.
    let currentEpoch: Int64

    var description: String {
        "another replica took over scheduling (leader epoch \(currentEpoch), this replica led epoch \(heldEpoch)); "
            + "this replica's pass wrote nothing and it stops leading"
    }
}
