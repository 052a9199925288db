import Foundation
import Postgres

/// What one maintenance pass did, by table name.
public struct HistoryMaintenanceReport: Equatable, Sendable {
    public var created: [String] = []
    public var dropped: [String] = []
    /// Rows deleted from the default partitions (older than the retention).
    public var deletedFromDefault = 0
    /// True when another replica held the maintenance lock, so this pass left at least one table to it.
    public var skipped = false
}

/// Keeps the history tables' week partitions (docs/history.md): creates this week's and the next `aheadWeeks`,
/// drops those older than the retention, and deletes expired rows from the default partitions in bounded
/// batches. Retention is by time only: rows of a job still running are dropped with their week like any other.
/// Any replica may run it; the passes of several replicas take turns on one advisory lock.
public struct HistoryPartitions: Sendable {
    /// Weeks beyond this one that always have a partition.
    static let aheadWeeks = 1
    /// Rows deleted from one default partition per pass (it holds only rows no week partition covered).
    static let maxDefaultDeletesPerPass = 10_000

    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    /// One pass over every history table, each in its own transaction: a pass then locks one table's partitions
    /// at a time, in the order the inserts take them (parent, then partition), so it can wait on a report but never
    /// hold a lock a report waits for while it waits for another. `nowSeconds` (seconds since 1970) defaults to
    /// the database's clock; tests pass a later time. Throws on a database error or a lock not granted within
    /// `HistoryPartitionSQL.lockTimeout` (the next pass tries again).
    @discardableResult
    public func maintain(retentionDays: Int, nowSeconds: Double? = nil) throws -> HistoryMaintenanceReport {
        precondition(retentionDays >= 0, "retention is validated where it is configured")
        let now =
            try nowSeconds
            ?? pool.withConnection { try $0.queryOne(HistoryPartitionSQL.nowSeconds).double("now_seconds") }
        var report = HistoryMaintenanceReport()
        for table in HistoryTable.allCases {
            let done = try maintain(table, retentionDays: retentionDays, nowSeconds: now)
            report.created += done.created
            report.dropped += done.dropped
            report.deletedFromDefault += done.deletedFromDefault
            report.skipped = report.skipped || done.skipped
        }
        return report
    }

    /// One table's pass in one transaction; it returns its own report, so a retried transaction starts it afresh.
    private func maintain(_ table: HistoryTable, retentionDays: Int, nowSeconds: Double) throws
        -> HistoryMaintenanceReport
    {
        try pool.transaction { c in
            var done = HistoryMaintenanceReport()
            let lock = try c.queryOne(AdvisoryLockSQL.tryTransactionLock, [.int(AdvisoryLockKey.historyPartitions)])
            guard try lock.bool("taken") else {
                done.skipped = true
                return done
            }
            try c.execute(HistoryPartitionSQL.lockTimeout)
            let plan = HistoryPartitionPlan.make(
                partitions: try partitions(of: table, c), nowSeconds: nowSeconds, retentionDays: retentionDays,
                aheadWeeks: Self.aheadWeeks)
            try apply(plan, to: table, c, &done)
            return done
        }
    }

    /// The partitions of `table`, default included.
    func partitions(of table: HistoryTable) throws -> [HistoryPartition] {
        try pool.withConnection { try partitions(of: table, $0) }
    }

    private func partitions(of table: HistoryTable, _ c: PostgresConnection) throws -> [HistoryPartition] {
        try c.query(HistoryPartitionSQL.partitions, [.text(table.rawValue)]).map {
            HistoryPartition(
                name: try $0.string("name"), isDefault: try $0.bool("is_default"),
                fromSeconds: try $0.optionalDouble("from_seconds"), toSeconds: try $0.optionalDouble("to_seconds"))
        }
    }

    private func apply(
        _ plan: HistoryPartitionPlan, to table: HistoryTable, _ c: PostgresConnection,
        _ report: inout HistoryMaintenanceReport
    ) throws {
        for week in plan.create {
            let name = week.partitionName(of: table)
            try c.execute(HistoryPartitionSQL.createDetached(name, of: table))
            try c.execute(
                HistoryPartitionSQL.moveFromDefault(into: name, of: table),
                [.int(week.startSeconds), .int(week.endSeconds)])
            try c.execute(
                HistoryPartitionSQL.attach(name, to: table, fromSeconds: week.startSeconds, toSeconds: week.endSeconds))
            report.created.append(name)
        }
        for name in plan.drop {
            try c.execute(HistoryPartitionSQL.drop(name))
            report.dropped.append(name)
        }
        if let cutoffSeconds = plan.expiredBeforeSeconds {
            report.deletedFromDefault += try c.execute(
                HistoryPartitionSQL.deleteExpiredFromDefault(of: table),
                [.double(cutoffSeconds), .int(Int64(Self.maxDefaultDeletesPerPass))])
        }
    }
}
