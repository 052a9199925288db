import ClusterModel
import Foundation
import Postgres

/// All stores over one pool, plus the periodic maintenance the control plane runs.
public struct ControlStore: Sendable {
    public let pool: PostgresPool
    public let jobs: JobStore
    public let leases: LeaseStore
    public let workers: WorkerStore
    public let placements: PlacementStore
    public let events: EventStore
    public let logs: TaskLogStore
    public let metrics: MetricStore
    public let datasets: DatasetStore
    public let shards: ShardStore
    public let artifacts: ArtifactCatalog
    public let queues: QueueStore

    public init(pool: PostgresPool) {
        self.pool = pool
        jobs = JobStore(pool: pool)
        leases = LeaseStore(pool: pool)
        workers = WorkerStore(pool: pool)
        placements = PlacementStore(pool: pool)
        events = EventStore(pool: pool)
        logs = TaskLogStore(pool: pool)
        metrics = MetricStore(pool: pool)
        datasets = DatasetStore(pool: pool)
        shards = ShardStore(pool: pool)
        artifacts = ArtifactCatalog(pool: pool)
        queues = QueueStore(pool: pool)
    }

    /// A submission that adds many tasks to a table PostgreSQL last analyzed when it was small leaves the
    /// claim query planned for that small table (a scan and sort of every queued task per claim: the
    /// benchmark's throughput halves). ANALYZE samples a bounded number of rows, so it costs tens of ms, once
    /// per large submission; autovacuum would get there only after its nap time.
    public func refreshTaskStatistics() throws {
        try pool.withConnection { _ = try $0.execute(TaskSQL.analyze) }
    }

    /// Opens a pool and applies pending migrations (safe when several replicas start together).
    public static func open(conninfo: String, maxConnections: Int = 8) throws -> ControlStore {
        let pool = PostgresPool(conninfo: conninfo, maxConnections: maxConnections)
        try Migrations.apply(to: pool)
        return ControlStore(pool: pool)
    }

    public struct MaintenanceReport: Sendable, Equatable {
        public var lostWorkers: [WorkerID]
        public var expired: ExpiredLeases
        /// Attempts whose preemption grace period ended: their tasks were requeued.
        public var preempted: [AttemptID] = []
    }

    /// One maintenance pass, to run every second or so from every replica: workers silent for longer
    /// than `heartbeatTimeout` are marked lost (their leases end now), then expired leases are
    /// requeued with backoff or failed.
    @discardableResult
    public func runMaintenance(heartbeatTimeoutSeconds: TimeInterval) throws -> MaintenanceReport {
        let lost = try workers.markLost(heartbeatOlderThan: heartbeatTimeoutSeconds)
        var expired = ExpiredLeases(requeued: [], failed: [], workers: [])
        while true {
            let batch = try leases.expireLeases(limit: 1000)
            expired.requeued += batch.requeued
            expired.failed += batch.failed
            expired.workers = Array(Set(expired.workers + batch.workers)).sorted()
            if batch.requeued.count + batch.failed.count < 1000 { break }
        }
        let preempted = try placements.preemptOverdue()
        return MaintenanceReport(lostWorkers: lost, expired: expired, preempted: preempted)
    }
}
