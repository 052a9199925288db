import APITypes
import ClusterModel
import Foundation

/// The job page: what the job is doing and why, its charts, tasks and attempts, events, log tail and artifacts.
/// `dashboard.js` polls `dashboardJobLive` to update the state, progress, charts and log while it runs.
enum JobPage {
    static func render(_ data: JobPageData, session: DashboardSession) -> HTML {
        let job = data.job
        let live = APIRoute.dashboardJobLive.path(job.name)
        let body: HTML = """
            <div id="job" data-live="\(live)" data-metrics-after="\(data.lastMetricID)" data-logs-after="\(data.lastLogID)" data-finished="\(job.state.isTerminal)" data-series="\(data.series.map(\.name).joined(separator: ","))">
            \(summary(data, session: session))
            <section aria-labelledby="charts-heading">
            <h2 id="charts-heading">Metrics over steps</h2>
            \(data.series.isEmpty ? "<p id=\"no-metrics\">No metrics reported yet.</p>" : HTML.joined(data.series.map(MetricChart.render)))
            </section>
            <section aria-labelledby="logs-heading">
            <h2 id="logs-heading">Log (last \(JobPageData.logLinesMax) lines)</h2>
            <pre id="logs" tabindex="0" aria-labelledby="logs-heading">\(data.logs.map { line -> HTML in "<span data-id=\"\(line.id)\">\(logLineText(line))\n</span>" })</pre>
            </section>
            \(tasks(data.tasks))
            \(events(data.events))
            \(artifacts(data.artifacts))
            \(LineageSection.render(data.lineage))
            </div>
            """
        return DashboardLayout.page(title: "Job \(job.name)", session: session, section: .jobs, body: body)
    }

    /// `[task 0 #1] step 5/300 loss 5.41`: the task, the attempt and the line.
    static func logLineText(_ line: LogLineView) -> String {
        "[task \(line.taskID) #\(line.attemptNumber)\(line.stream == .stderr ? " stderr" : "")] \(line.message)"
    }

    private static func summary(_ data: JobPageData, session: DashboardSession) -> HTML {
        let job = data.job
        let cancel: HTML =
            job.state.isTerminal || job.cancelRequested
            ? .empty
            : """
            <form id="cancel" method="post" action="\(APIRoute.dashboardCancelJob.path(job.name))">
            \(DashboardLayout.csrfField(session))
            <button type="submit" class="danger">Cancel job \(job.name)</button>
            </form>
            """
        return """
            <section aria-labelledby="summary-heading">
            <h2 id="summary-heading">Summary</h2>
            <dl class="facts">
            <dt>State</dt><dd><span id="job-state" class="state state-\(job.state.rawValue)">\(job.state.rawValue)</span>\(job.cancelRequested && !job.state.isTerminal ? " (cancel requested)" : "")</dd>
            <dt>Why pending</dt><dd id="job-pending">\(job.pendingReason ?? "—")</dd>
            <dt>Type</dt><dd>\(job.type)</dd>
            <dt>Queue</dt><dd>\(job.queue) (priority \(job.priority))</dd>
            <dt>Tasks</dt><dd>\(job.tasks.succeeded) succeeded, \(job.tasks.running) running, \(job.tasks.queued) queued, \(job.tasks.blocked) blocked, \(job.tasks.failed) failed, \(job.tasks.cancelled) cancelled</dd>
            <dt>Progress</dt><dd>\(JobsPage.bar(data.progress, label: "progress of \(job.name)", id: "job-progress"))</dd>
            <dt>ETA</dt><dd id="job-eta">\(data.progress.etaText)</dd>
            <dt>Submitted</dt><dd>\(DashboardLayout.time(job.submittedAt))</dd>
            <dt>Started</dt><dd>\(DashboardLayout.time(job.startedAt))</dd>
            <dt>Finished</dt><dd>\(DashboardLayout.time(job.finishedAt))</dd>
            \(job.after.isEmpty ? HTML.empty : "<dt>After</dt><dd>\(job.after.joined(separator: ", "))</dd>")
            \(job.failureMessage.map { message -> HTML in "<dt>Why it ended</dt><dd class=\"error\">\(message)</dd>" } ?? .empty)
            </dl>
            \(cancel)
            </section>
            """
    }

    private static func tasks(_ tasks: ListResponse<TaskView>) -> HTML {
        let rows = tasks.items.map { task -> HTML in
            let progress = task.progress.map { "\(Int(($0 * 100).rounded(.down)))%" } ?? "—"
            return """
                <tr><th scope="row">\(task.index)</th><td><span class="state state-\(task.state.rawValue)">\(task.state.rawValue)</span></td><td>\(progress)\(task.progressMessage.map { message -> HTML in " <span class=\"why\">\(message)</span>" } ?? .empty)</td><td>\(task.attempts.count)</td><td>\(task.lastError ?? "—")</td></tr>
                """
        }
        let attempts = tasks.items.flatMap { task in
            task.attempts.map { attempt -> HTML in
                """
                <tr><th scope="row">task \(task.index) #\(attempt.number)</th><td>\(attempt.workerName ?? "\(attempt.workerID)")</td><td>\(attempt.state.rawValue)</td><td>\(DashboardLayout.time(attempt.startedAt))</td><td>\(DashboardLayout.time(attempt.finishedAt))</td><td>\(attempt.message ?? "—")</td></tr>
                """
            }
        }
        let more: HTML =
            tasks.nextCursor == nil
            ? .empty : "<p>The first \(JobPageData.tasksMax) tasks; <code>opsctl get tasks</code> lists all.</p>"
        return """
            <section aria-labelledby="tasks-heading">
            <h2 id="tasks-heading">Tasks</h2>
            <table id="tasks"><caption>Tasks by index</caption>
            <thead><tr><th scope="col">Task</th><th scope="col">State</th><th scope="col">Progress</th><th scope="col">Attempts</th><th scope="col">Last error</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            \(more)
            <table id="attempts"><caption>Attempts</caption>
            <thead><tr><th scope="col">Attempt</th><th scope="col">Worker</th><th scope="col">State</th><th scope="col">Started</th><th scope="col">Finished</th><th scope="col">Message</th></tr></thead>
            <tbody>\(attempts)</tbody></table>
            </section>
            """
    }

    private static func events(_ events: [EventView]) -> HTML {
        let rows = events.map { event -> HTML in
            """
            <tr><td>\(DashboardLayout.time(event.time))</td><td>\(event.type)</td><td>\(event.fromState ?? "—") → \(event.toState ?? "—")</td><td>\(event.message)</td><td>\(event.actor ?? "—")</td></tr>
            """
        }
        return """
            <section aria-labelledby="events-heading">
            <h2 id="events-heading">Events (newest \(JobPageData.eventsMax))</h2>
            <table id="events"><caption>Events, newest first</caption>
            <thead><tr><th scope="col">Time</th><th scope="col">Event</th><th scope="col">Change</th><th scope="col">Message</th><th scope="col">By</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            </section>
            """
    }

    private static func artifacts(_ artifacts: [ArtifactView]) -> HTML {
        let rows = artifacts.map { artifact -> HTML in
            """
            <tr><th scope="row">\(artifact.name)</th><td>\(artifact.kind ?? "—")</td><td>\(DashboardLayout.bytes(artifact.bytes))</td><td><code>\(artifact.sha256)</code></td><td><code>\(artifact.location)</code></td><td>\(DashboardLayout.time(artifact.createdAt))</td></tr>
            """
        }
        let table: HTML =
            artifacts.isEmpty
            ? "<p>None yet.</p>"
            : """
            <table id="artifacts"><caption>Artifacts, newest first</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Size</th><th scope="col">SHA-256</th><th scope="col">Location</th><th scope="col">Created</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            """
        return """
            <section aria-labelledby="artifacts-heading">
            <h2 id="artifacts-heading">Artifacts</h2>
            \(table)
            </section>
            """
    }
}
