import APITypes
import ClusterModel
import Foundation
import Postgres

/// The stores and shared runtime pieces the route handlers use; one per replica.
struct ControlServices: Sendable {
    let configuration: ControlPlaneConfiguration
    let pool: PostgresPool
    let jobs: JobStore
    let leases: LeaseStore
    let workers: WorkerStore
    let events: EventStore
    let logs: TaskLogStore
    let metrics: MetricStore
    let datasets: DatasetStore
    let shards: ShardStore
    let artifacts: ArtifactStore
    let wakeups: RunnableWakeups
    let jobInfo: JobInfoCache
    let workerTokens: WorkerTokenCache
    let submission: ManifestSubmission

    init(configuration: ControlPlaneConfiguration, pool: PostgresPool, planners: JobPlanners, registry: JobKindRegistry) {
        self.configuration = configuration
        self.pool = pool
        jobs = JobStore(pool: pool)
        leases = LeaseStore(pool: pool)
        workers = WorkerStore(pool: pool)
        events = EventStore(pool: pool)
        logs = TaskLogStore(pool: pool)
        metrics = MetricStore(pool: pool)
        datasets = DatasetStore(pool: pool)
        shards = ShardStore(pool: pool)
        artifacts = ArtifactStore(pool: pool)
        wakeups = RunnableWakeups()
        jobInfo = JobInfoCache(jobs: jobs)
        workerTokens = WorkerTokenCache(pool: pool)
        submission = ManifestSubmission(planners: planners, registry: registry)
    }
}

/// The immutable facts of a job that every assignment carries (retry limit, task count, gang size),
/// cached so that handing out thousands of tasks per second does not re-read the job row each time.
final class JobInfoCache: @unchecked Sendable {
    struct Info: Sendable {
        let maxAttempts: Int
        let taskCount: Int
        let replicas: Int
    }

    private let jobs: JobStore
    private let lock = NSLock()
    private var cache: [JobID: Info] = [:]

    init(jobs: JobStore) { self.jobs = jobs }

    func info(_ job: JobID) throws -> Info {
        if let hit = lock.withLock({ cache[job] }) { return hit }
        guard let record = try jobs.job(job) else { throw StoreError.unknownJob("\(job)") }
        let info = Info(maxAttempts: record.retryPolicy.maxAttempts,
                        taskCount: record.taskCounts.values.reduce(0, +), replicas: record.replicas)
        lock.withLock {
            if cache.count > 10_000 { cache.removeAll() }
            cache[job] = info
        }
        return info
    }
}

/// Resolves worker tokens (by their SHA-256) to worker ids. Entries live a short while so a registration
/// that replaces a token takes effect quickly, while steady-state calls cost no database round trip.
final class WorkerTokenCache: @unchecked Sendable {
    private let pool: PostgresPool
    private let lock = NSLock()
    private var cache: [String: (worker: WorkerID, expires: Date)] = [:]
    private let timeToLive: TimeInterval = 10

    init(pool: PostgresPool) { self.pool = pool }

    func worker(forTokenHash hash: String) throws -> WorkerID? {
        let now = Date()
        if let hit = lock.withLock({ cache[hash] }), hit.expires > now { return hit.worker }
        let row = try pool.withConnection { c in
            try c.queryFirst("SELECT id FROM workers WHERE token_hash = $1", [.text(hash)])
        }
        guard let row else {
            lock.withLock { _ = cache.removeValue(forKey: hash) }
            return nil
        }
        let worker = WorkerID(try row.int64("id"))
        lock.withLock {
            if cache.count > 100_000 { cache.removeAll() }
            cache[hash] = (worker, now.addingTimeInterval(timeToLive))
        }
        return worker
    }

    func forget(worker: WorkerID) {
        lock.withLock { cache = cache.filter { $0.value.worker != worker } }
    }
}
