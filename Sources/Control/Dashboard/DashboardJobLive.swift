import APITypes
import ClusterModel
import Foundation

/// What the job page polls (`GET /jobs/{name}/live?metricsAfter=&logsAfter=`): the job's state and progress,
/// and the metric points and log lines after the page's cursors (`SettledCursor`: the newest are sent again until
/// they settle). The page's script appends those it does not have; it stops polling once `finished` and a poll
/// brought nothing new.
struct DashboardJobLive: Encodable {
    struct Point: Encodable {
        let id: Int64
        let name: String
        let step: Int64
        let value: Double
    }

    struct Line: Encodable {
        let id: Int64
        let text: String
    }

    /// Rows one poll returns at most; a page behind by more catches up over the next polls.
    static let pointsMax = 5_000
    static let linesMax = 500

    let state: String
    let finished: Bool
    let fraction: Double
    let percent: String
    let eta: String
    let pendingReason: String?
    let points: [Point]
    let metricsAfter: Int64
    let lines: [Line]
    let logsAfter: Int64

    static func load(
        named name: String, metricsAfter: Int64, logsAfter: Int64, context: RequestContext,
        services: ControlServices, now: Date
    ) throws -> DashboardJobLive {
        try JobVisibility(context, services).requireJob(named: name)
        let record = try JobQueries(services: services).job(named: name)
        let job = JobView(record)
        let progress = JobProgress(
            job: job, runningTaskProgress: try JobPageData.runningProgress(of: record.id, services: services),
            now: now)
        let metrics = try services.metrics.list(
            job: record.id, excluding: UnchartedMetrics.names, afterID: metricsAfter, limit: pointsMax)
        let logs = try services.logs.list(job: record.id, afterID: logsAfter, limit: linesMax)
        return DashboardJobLive(
            state: job.state.rawValue, finished: job.state.isTerminal, fraction: progress.fraction,
            percent: progress.percentText, eta: progress.etaText, pendingReason: job.pendingReason,
            points: metrics.map { Point(id: $0.id, name: $0.name, step: $0.step, value: $0.value) },
            metricsAfter: SettledCursor.after(metrics, previous: metricsAfter, now: now, id: \.id, at: \.at),
            lines: logs.map { Line(id: $0.id, text: JobPage.logLineText(LogLineView($0))) },
            logsAfter: SettledCursor.after(logs, previous: logsAfter, now: now, id: \.id, at: \.at))
    }
}
