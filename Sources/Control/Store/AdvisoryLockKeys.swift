/// Every PostgreSQL advisory-lock key this system takes, in one place, so that two uses never share a key again.
///
/// They once did: migrations and the scheduling leader both used `…0001`. The leader holds its lock for its
/// whole session, so a replica starting while another led waited in `pg_advisory_xact_lock` forever, and a rolling
/// restart could not bring a second replica up.
public enum AdvisoryLockKey {
    /// Session lock held by the scheduling leader for as long as it leads (`LeaderElection`). Kept at the value
    /// every earlier version used, so that during a rolling upgrade old and new replicas still agree on one leader.
    public static let schedulingLeader: Int64 = 0x6c6c_6d6f_7073_0001
    /// Transaction lock held while one migration is checked and applied (`Migrations.apply`); held for
    /// milliseconds, never by a session that stays.
    public static let schemaMigration: Int64 = 0x6c6c_6d6f_7073_0002
    /// Class of the transaction locks that serialize the writes to one job's training exchange (the second key is
    /// the job id): a version is taken and committed under the lock, so versions of one job commit in order and a
    /// reader that saw version V never misses a later-committed V - 1. Two-key locks do not share the space of the
    /// one-key locks above.
    public static let trainingExchangeClass: Int32 = 0x6c6c_0003
    /// Transaction lock of one pass of history partition maintenance (`HistoryPartitions.maintain`): replicas
    /// take turns, so two never create or drop the same partition at once.
    public static let historyPartitions: Int64 = 0x6c6c_6d6f_7073_0004
}
