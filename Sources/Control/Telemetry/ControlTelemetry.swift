import APITypes
import ClusterModel
import Foundation
import Postgres
import Scheduler

// The instruments of one control-plane replica, kept in memory and counted at the edges where things happen: the
// router's dispatch (request durations), the worker protocol (claims, reports), the background sweep (lease
// expiries), the scheduling loop (pass durations, pending reasons). Each edge adds a line or two; the names,
// types and labels are listed in docs/observability.md. Counters are per replica: sum them across replicas in
// PromQL (`sum(rate(llmops_task_claims_total[1m]))`).

final class ControlTelemetry: Sendable {
    /// Request and pass durations, in seconds: 1 ms to 30 s (a worker's long-poll waits up to 30 s; it lands in
    /// the last finite buckets, which is why the bound is there).
    static let durationBucketsSeconds: [Double] = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
    ]

    let httpRequestDuration = HistogramFamily(
        "llmops_http_request_duration_seconds",
        "Time from a request's arrival at the router to its response, by route pattern and status class",
        labels: ["method", "route", "status_class"], upperBounds: durationBucketsSeconds,
        // 50-odd routes (and "unmatched") x 5 status classes.
        seriesMax: 512)
    let taskClaims = CounterFamily(
        "llmops_task_claims",
        "Tasks leased to workers (one attempt each) by this replica's worker polls and claiming reports")
    let taskClaimsByReport = CounterFamily(
        "llmops_task_claims_by_report",
        "Of llmops_task_claims, the tasks leased by report batches that claim (next): no poll exchange of their own")
    let reportItems = CounterFamily(
        "llmops_report_items", "Items of worker report batches applied by this replica, by kind",
        labels: ["kind"], seriesMax: 8)
    let reportBatches = CounterFamily(
        "llmops_report_batches", "Worker report batches by outcome (applied, or stale: every attempt named had ended)",
        labels: ["outcome"], seriesMax: 4)
    let leaseExpiries = CounterFamily(
        "llmops_lease_expiries",
        "Attempts whose lease passed its deadline without a heartbeat, expired by this replica's sweep, by what became of the task",
        labels: ["outcome"], seriesMax: 4)
    let schedulingPassDuration = HistogramFamily(
        "llmops_scheduling_pass_duration_seconds",
        "Duration of the scheduling leader's passes (snapshot, placement, commit in one transaction), by result",
        labels: ["result"], upperBounds: durationBucketsSeconds, seriesMax: 4)
    let pendingJobs = GaugeFamily(
        "llmops_scheduler_pending_jobs",
        "Jobs the last scheduling pass left waiting, by their first pending reason (leader only)",
        labels: ["reason"], seriesMax: 16)
    let pendingTasks = GaugeFamily(
        "llmops_scheduler_pending_tasks",
        "Tasks of the jobs the last scheduling pass left waiting, by the job's first pending reason (leader only)",
        labels: ["reason"], seriesMax: 16)

    // MARK: Edges

    /// The router's dispatch: `endpoint` nil for a path no route matches (404/405), so raw paths never become
    /// labels.
    func observeRequest(_ endpoint: APIEndpoint?, method: String, status: Int, seconds: Double) {
        let methodLabel =
            endpoint?.method.rawValue ?? (HTTPMethodName(rawValue: method)?.rawValue ?? "other")
        httpRequestDuration.observe(
            seconds, [methodLabel, endpoint?.pattern ?? "unmatched", "\(min(max(status / 100, 1), 5))xx"])
    }

    func observeReports(_ batch: ReportBatch, everyAttemptStale: Bool) {
        guard !everyAttemptStale else { return reportBatches.increment(["stale"]) }
        reportBatches.increment(["applied"])
        let items: [(String, Int)] = [
            ("completion", batch.completions.count), ("failure", batch.failures.count),
            ("progress", batch.progress.count), ("log", batch.logs.count), ("metric", batch.metrics.count),
            ("artifact", batch.artifacts.count),
        ]
        for (kind, count) in items where count > 0 { reportItems.increment([kind], by: Double(count)) }
    }

    func observeExpiries(_ expired: ExpiredLeases) {
        if !expired.requeued.isEmpty { leaseExpiries.increment(["requeued"], by: Double(expired.requeued.count)) }
        if !expired.failed.isEmpty { leaseExpiries.increment(["failed"], by: Double(expired.failed.count)) }
    }

    /// After a committed pass: its pending reasons, counted by each job's first cause.
    func observePending(_ decisions: SchedulingDecisions, of snapshot: ClusterSnapshot) {
        var waitingTasks: [JobID: Int] = [:]
        for job in snapshot.pendingJobs { waitingTasks[job.id] = job.tasks.count }
        var jobs: [[String]: Double] = [:]
        var tasks: [[String]: Double] = [:]
        for reason in decisions.pending {
            let label = [reason.causes.first?.metricLabel ?? "unknown"]
            jobs[label, default: 0] += 1
            tasks[label, default: 0] += Double(waitingTasks[reason.job] ?? 0)
        }
        pendingJobs.replaceAll(jobs)
        pendingTasks.replaceAll(tasks)
    }

    /// A replica that stops leading has no pass to speak for.
    func forgetPending() {
        pendingJobs.replaceAll([:])
        pendingTasks.replaceAll([:])
    }

    // MARK: Scrape

    /// The in-process families, with the pool's usage read now.
    func snapshot(pool: PostgresPool) -> [MetricFamilySnapshot] {
        [
            httpRequestDuration.snapshot(), taskClaims.snapshot(), taskClaimsByReport.snapshot(),
            reportBatches.snapshot(), reportItems.snapshot(),
            leaseExpiries.snapshot(), schedulingPassDuration.snapshot(), pendingJobs.snapshot(),
            pendingTasks.snapshot(),
        ] + Self.poolFamilies(pool.usage)
    }

    static func poolFamilies(_ usage: PostgresPoolUsage) -> [MetricFamilySnapshot] {
        [
            .gauge(
                "llmops_db_pool_connections", "Database connections of this replica's pool, by state",
                labels: ["state"],
                [
                    MetricSeries(labels: ["idle"], value: Double(usage.idle)),
                    MetricSeries(labels: ["in_use"], value: Double(usage.inUse)),
                ]),
            .gauge(
                "llmops_db_pool_max_connections", "The pool's bound (opsctl serve --database-connections)",
                [MetricSeries(labels: [], value: Double(usage.maxConnections))]),
            .gauge(
                "llmops_db_pool_waiting", "Checkouts waiting now for a free connection",
                [MetricSeries(labels: [], value: Double(usage.waiting))]),
            MetricFamilySnapshot(
                name: "llmops_db_pool_waits", help: "Checkouts that had to wait for a free connection",
                labelNames: [], points: .counter([MetricSeries(labels: [], value: Double(usage.waitsTotal))])),
        ]
    }
}

extension PendingCause {
    /// The cause's kind, a closed set of label values (the text has numbers and names in it).
    var metricLabel: String {
        switch self {
        case .backoff: "backoff"
        case .unknownQueue: "unknown_queue"
        case .quotaExceeded: "quota_exceeded"
        case .neverFits: "never_fits"
        case .insufficientCapacity: "insufficient_capacity"
        case .waitingForPreemptedTasks: "waiting_for_preemption"
        case .holdingReservation: "holding_reservation"
        case .queueOverShare: "queue_over_share"
        case .tokenQuotaExceeded: "token_quota_exceeded"
        case .notDecontaminated: "not_decontaminated"
        }
    }
}
