import Foundation
import Postgres
import Primitives

// The gauges of the cluster's state (jobs, tasks, queues, workers, training, training tokens), read from the
// database when a scrape asks and kept for `maxAgeSeconds` (1 s): any number of scrapers cost at most the two
// statements of `ClusterGaugeSQL` and the two small reads of `TokenFamilies` a second, and a scrape that arrives while another reads waits for that read instead of
// starting its own. Every replica reads the same rows, so scraping several replicas shows the same values
// (aggregate them with `max`, not `sum`).

final class ClusterGauges: Sendable {
    /// Rows of the state statement: at most so many series (queues x states x resources grows with the cluster).
    static let stateRowsMax = 5_000
    /// Running jobs whose training gauges are shown (a cluster of thousands of trainings is not this one).
    static let trainingJobsMax = 500
    let maxAgeSeconds: Double

    private let pool: PostgresPool
    private let state = Guarded(Cache())
    private struct Cache {
        var families: [MetricFamilySnapshot] = []
        var readAt: Date?
        var reading = false
        /// Reads of the database so far (`llmops_cluster_state_reads_total`).
        var reads = 0
    }

    init(pool: PostgresPool, maxAgeSeconds: Double = 1) {
        precondition(maxAgeSeconds > 0, "a cache of the cluster's gauges must live a while")
        self.pool = pool
        self.maxAgeSeconds = maxAgeSeconds
    }

    /// The families as of at most `maxAgeSeconds` ago, reading them when older; `llmops_cluster_state_up` is 0
    /// (and the other families absent) when the database could not be read.
    func families(now: Date = Date()) -> [MetricFamilySnapshot] {
        let fresh = { (cache: Cache) in cache.readAt.map { now.timeIntervalSince($0) < self.maxAgeSeconds } ?? false }
        // nil: this caller reads. A reader that fails leaves the cache as it was and wakes the waiters, who
        // read in turn (the next one finds `reading` false).
        let cached = state.wait(until: nil) { cache -> [MetricFamilySnapshot]?? in
            if fresh(cache) { return .some(cache.families) }
            if cache.reading { return nil }
            cache.reading = true
            return .some(nil)
        }
        if let cached = cached ?? nil { return cached + [readsFamily] }
        let families = read()
        state.update { cache in
            cache.reading = false
            cache.families = families
            cache.readAt = Date()
            cache.reads += 1
        }
        return families + [readsFamily]
    }

    /// How many times scrapes read the database: at most one a second, whatever the number of scrapers.
    var reads: Int { state.withLock { $0.reads } }

    private var readsFamily: MetricFamilySnapshot {
        MetricFamilySnapshot(
            name: "llmops_cluster_state_reads",
            help: "Times this replica's scrapes read the cluster's gauges from the database (at most one a second)",
            labelNames: [], points: .counter([MetricSeries(labels: [], value: Double(reads))]))
    }

    private func read() -> [MetricFamilySnapshot] {
        do {
            let (stateRows, trainingRows, tokenFamilies) = try pool.withConnection { c in
                (
                    try c.query(ClusterGaugeSQL.clusterState, [.int(Int64(Self.stateRowsMax))]),
                    try c.query(ClusterGaugeSQL.trainingLatest, [.int(Int64(Self.trainingJobsMax))]),
                    try Self.tokenFamilies(c)
                )
            }
            return [Self.up(true)] + (try Self.stateFamilies(stateRows)) + (try Self.trainingFamilies(trainingRows))
                + tokenFamilies
        } catch {
            return [Self.up(false)]
        }
    }

    private static func up(_ isUp: Bool) -> MetricFamilySnapshot {
        .gauge(
            "llmops_cluster_state_up",
            "1 when the gauges of jobs, tasks, queues, workers and training below were read from the database, 0 when it could not be read",
            [MetricSeries(labels: [], value: isUp ? 1 : 0)])
    }

    /// Each family of `ClusterGaugeSQL.clusterState`: its name, help and which of the row's columns are labels.
    private struct StateFamily {
        let key: String
        let name: String
        let help: String
        let labels: [String]
    }

    private static let stateFamilyTable: [StateFamily] = [
        StateFamily(key: "jobs", name: "llmops_jobs", help: "Jobs by state and queue", labels: ["state", "queue"]),
        StateFamily(
            key: "tasks", name: "llmops_tasks", help: "Unfinished tasks (blocked, queued, running) by state and queue",
            labels: ["state", "queue"]),
        StateFamily(
            key: "queue_usage", name: "llmops_queue_usage",
            help: "Resources held by a queue's running tasks (cpu_millis, memory_bytes, accelerators by name)",
            labels: ["queue", "resource"]),
        StateFamily(
            key: "queue_quota", name: "llmops_queue_quota",
            help: "A configured queue's quota by resource (resources it does not limit are absent)",
            labels: ["queue", "resource"]),
        StateFamily(
            key: "queue_weight", name: "llmops_queue_weight", help: "A configured queue's fair-share weight",
            labels: ["queue"]),
        StateFamily(key: "workers", name: "llmops_workers", help: "Workers by state", labels: ["state"]),
        StateFamily(
            key: "worker_capacity", name: "llmops_worker_capacity",
            help: "The summed resources workers registered, by worker state and resource",
            labels: ["state", "resource"]),
    ]

    static func stateFamilies(_ rows: PostgresRows) throws -> [MetricFamilySnapshot] {
        var series: [String: [MetricSeries]] = [:]
        for row in rows {
            let columns = [
                "state": try row.string("state"), "queue": try row.string("queue"),
                "resource": try row.string("resource"),
            ]
            let key = try row.string("family")
            guard let family = stateFamilyTable.first(where: { $0.key == key }) else { continue }
            series[key, default: []].append(
                MetricSeries(labels: family.labels.map { columns[$0] ?? "" }, value: try row.double("value")))
        }
        return stateFamilyTable.map { family in
            .gauge(family.name, family.help, labels: family.labels, series[family.key] ?? [])
        }
    }

    static func trainingFamilies(_ rows: PostgresRows) throws -> [MetricFamilySnapshot] {
        var loss: [MetricSeries] = []
        var tokensPerSecond: [MetricSeries] = []
        var step: [MetricSeries] = []
        for row in rows {
            let labels = [try row.string("job"), try row.string("queue")]
            let value = try row.double("value")
            switch try row.string("name") {
            case "loss":
                loss.append(MetricSeries(labels: labels, value: value))
                step.append(MetricSeries(labels: labels, value: Double(try row.int64("step"))))
            default:
                tokensPerSecond.append(MetricSeries(labels: labels, value: value))
            }
        }
        let labels = ["job", "queue"]
        return [
            .gauge(
                "llmops_training_loss", "The latest training loss a running job's workers reported", labels: labels,
                loss),
            .gauge(
                "llmops_training_step", "The step of that latest loss (steps done so far)", labels: labels, step),
            .gauge(
                "llmops_training_tokens_per_second", "The latest training throughput a running job's workers reported",
                labels: labels, tokensPerSecond),
        ]
    }
}
