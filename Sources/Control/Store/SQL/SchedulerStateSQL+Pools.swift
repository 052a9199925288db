// The fencing check of the pool autoscaler: like the scheduling pass, it writes only under the epoch it leads with
// (docs/failover.md). A shared row lock: it waits for a leader change in flight, and does not block other readers.

extension SchedulerStateSQL {
    static let leaderEpochForShare = "SELECT leader_epoch FROM scheduler_state WHERE id = 1 FOR SHARE"
}
