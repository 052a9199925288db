import APITypes
import ClusterModel
import Foundation

/// What the job page shows, read with the admin API's own queries: the job, a page of its tasks with their
/// attempts, its newest events, the tail of its log, its artifacts and every metric point (bounded).
struct JobPageData {
    /// Each list is bounded, so the page costs the same for a job of 10 tasks or 100,000.
    static let tasksMax = 200
    static let eventsMax = 50
    static let logLinesMax = 200
    static let artifactsMax = 200
    /// Metric points drawn: 5 training metrics of 2,000 steps each. A longer job's charts stop at this many
    /// points; `opsctl get metrics` reads them all.
    static let metricPointsMax = 10_000

    let job: JobView
    let tasks: ListResponse<TaskView>
    let events: [EventView]
    let logs: [LogLineView]
    let artifacts: [ArtifactView]
    let series: [MetricChartSeries]
    /// The cursors the page's script polls after (`SettledCursor`: the page holds rows after them too).
    let lastMetricID: Int64
    let lastLogID: Int64
    let progress: JobProgress
    /// Where the job's newest checkpoint (or, for an eval job, the eval) came from; nil when none is recorded.
    let lineage: LineageGraph?

    static func load(named name: String, context: RequestContext, services: ControlServices, now: Date) throws
        -> JobPageData
    {
        try JobVisibility(context, services).requireJob(named: name)
        let queries = JobQueries(services: services)
        let record = try queries.job(named: name)
        let job = JobView(record)
        let tasks = try queries.tasks(job: name, state: nil, page: PageRequest(limit: tasksMax))
        let events = try queries.events(job: name, afterID: 0, page: PageRequest(limit: eventsMax)).items
        let logs = try services.logs.tail(job: record.id, limit: logLinesMax).map(LogLineView.init)
        let artifacts = try queries.artifacts(job: name, named: nil, page: PageRequest(limit: artifactsMax)).items
        let metrics = try services.metrics.list(
            job: record.id, excluding: UnchartedMetrics.names, limit: metricPointsMax)
        let running = try runningProgress(of: record.id, services: services)
        return JobPageData(
            job: job, tasks: tasks, events: events, logs: logs, artifacts: artifacts,
            series: MetricChartSeries.group(metrics),
            lastMetricID: SettledCursor.after(metrics, previous: 0, now: now, id: \.id, at: \.at),
            lastLogID: SettledCursor.after(logs, previous: 0, now: now, id: \.id, at: \.time),
            progress: JobProgress(job: job, runningTaskProgress: running, now: now),
            lineage: try LineageSection.load(forJob: job, services: services))
    }

    /// The progress the job's running tasks report (a train task: step/steps), read by the task listing.
    static func runningProgress(of job: JobID, services: ControlServices) throws -> [Double] {
        try services.jobs.tasksPage(
            job: job, state: .running, afterJob: nil, afterTask: nil, limit: JobsPage.runningTasksMax
        ).compactMap(\.task.progress)
    }
}
