import APITypes
import ClusterModel
import Foundation

/// The jobs page: every job (newest first, a page at a time) with its state, queue, progress and ETA.
enum JobsPage {
    /// Running tasks read to add their own progress to their jobs': a page of jobs rarely runs more.
    static let runningTasksMax = 2_000

    static func render(
        _ jobs: ListResponse<JobView>, runningProgress: [JobID: [Double]], session: DashboardSession, now: Date
    ) -> HTML {
        let rows = jobs.items.map { job -> HTML in
            let progress = JobProgress(job: job, runningTaskProgress: runningProgress[job.id] ?? [], now: now)
            let pending = job.pendingReason.map { reason -> HTML in "<div class=\"why\">\(reason)</div>" } ?? .empty
            return """
                <tr data-job="\(job.name)">
                <th scope="row"><a href="\(APIRoute.dashboardJob.path(job.name))">\(job.name)</a></th>
                <td>\(job.type)</td>
                <td><span class="state state-\(job.state.rawValue)">\(job.state.rawValue)</span>\(pending)</td>
                <td>\(job.queue)</td>
                <td>\(job.tasks.succeeded)/\(job.tasks.total)</td>
                <td>\(bar(progress, label: "progress of \(job.name)"))</td>
                <td>\(progress.etaText)</td>
                <td>\(DashboardLayout.time(job.submittedAt))</td>
                </tr>
                """
        }
        let next =
            jobs.nextCursor.map { cursor -> HTML in
                "<p><a href=\"\(APIRoute.withQuery(APIRoute.dashboardJobs.path(), [("cursor", cursor)]))\">Older jobs</a></p>"
            } ?? .empty
        let table: HTML =
            jobs.items.isEmpty
            ? "<p>No jobs yet: submit one with <code>opsctl apply -f job.yaml</code>.</p>"
            : """
            <table id="jobs">
            <caption>Jobs, newest first</caption>
            <thead><tr><th scope="col">Job</th><th scope="col">Type</th><th scope="col">State</th><th scope="col">Queue</th><th scope="col">Tasks done</th><th scope="col">Progress</th><th scope="col">ETA</th><th scope="col">Submitted</th></tr></thead>
            <tbody>\(rows)</tbody>
            </table>
            """
        return DashboardLayout.page(title: "Jobs", session: session, section: .jobs, body: "\(table)\(next)")
    }

    /// A progress bar with its percentage as text beside it (the bar alone says nothing to a screen reader
    /// that does not announce `<progress>`).
    static func bar(_ progress: JobProgress, label: String, id: String? = nil) -> HTML {
        let idAttribute: HTML = id.map { value -> HTML in " id=\"\(value)\"" } ?? .empty
        let percentID: HTML = id.map { value -> HTML in " id=\"\(value)-text\"" } ?? .empty
        return
            "<progress\(idAttribute) max=\"1\" value=\"\(progress.fraction)\" aria-label=\"\(label)\"></progress> <span\(percentID)>\(progress.percentText)</span>"
    }
}
