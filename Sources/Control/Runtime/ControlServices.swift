import APITypes
import ClusterModel
import Foundation
import Postgres
import Primitives

/// The stores and shared runtime pieces the route handlers use; one per replica.
struct ControlServices: Sendable {
    let configuration: ControlPlaneConfiguration
    let store: ControlStore
    /// LISTEN/NOTIFY wake-ups for long-polls and the scheduling loop.
    let signals: StoreSignals
    let jobInfo: JobInfoCache
    let workerTokens: WorkerTokenCache
    let submission: ManifestSubmission
    /// This replica's counters and histograms, and the cluster's gauges read at scrape time (`GET /metrics`).
    let telemetry = ControlTelemetry()
    let clusterGauges: ClusterGauges

    init(
        configuration: ControlPlaneConfiguration, store: ControlStore, signals: StoreSignals, planners: JobPlanners,
        registry: JobKindRegistry
    ) {
        self.configuration = configuration
        self.store = store
        self.signals = signals
        jobInfo = JobInfoCache(jobs: store.jobs)
        workerTokens = WorkerTokenCache(workers: store.workers)
        clusterGauges = ClusterGauges(pool: store.pool)
        // Stream and verify jobs resolve dataset names at submission, so their planner needs the stores.
        let streamPlanner = StreamPlanner(datasets: store.datasets, shards: store.shards)
        planners.register(streamPlanner, forKind: StreamJobKinds.streamName)
        planners.register(streamPlanner, forKind: StreamJobKinds.verifyName)
        submission = ManifestSubmission(planners: planners, registry: registry)
    }

    var pool: PostgresPool { store.pool }
    var jobs: JobStore { store.jobs }
    var leases: LeaseStore { store.leases }
    var workers: WorkerStore { store.workers }
    var events: EventStore { store.events }
    var logs: TaskLogStore { store.logs }
    var metrics: MetricStore { store.metrics }
    var datasets: DatasetStore { store.datasets }
    var shards: ShardStore { store.shards }
    var artifacts: ArtifactCatalog { store.artifacts }
    var queues: QueueStore { store.queues }
}

/// Resolves worker tokens (by their SHA-256) to worker ids. Entries live a short while so a registration
/// that replaces a token takes effect quickly, while steady-state calls cost no database round trip.
final class WorkerTokenCache: Sendable {
    private let workers: WorkerStore
    private let cache = Locked<[String: (worker: WorkerID, expires: Date)]>([:])
    private let timeToLiveSeconds: TimeInterval = 10

    init(workers: WorkerStore) { self.workers = workers }

    func worker(forTokenHash hash: String) throws -> WorkerID? {
        let now = Date()
        if let hit = cache.withLock({ $0[hash] }), hit.expires > now { return hit.worker }
        guard let worker = try workers.worker(forTokenHash: hash) else {
            cache.withLock { _ = $0.removeValue(forKey: hash) }
            return nil
        }
        cache.withLock { cache in
            if cache.count > 100_000 { cache.removeAll() }
            cache[hash] = (worker, now.addingTimeInterval(timeToLiveSeconds))
        }
        return worker
    }

    func forget(worker: WorkerID) {
        cache.withLock { cache in cache = cache.filter { $0.value.worker != worker } }
    }
}
