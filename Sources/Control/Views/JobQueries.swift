// What the admin API reads about jobs: one job with its details, tasks with their attempts, events and
// artifacts, as wire views. A job named that does not exist is a 404 that says how to list them.

import APITypes
import ClusterModel
import Foundation

struct JobQueries {
    let services: ControlServices

    func job(named name: String) throws -> JobRecord {
        guard let job = try services.jobs.job(named: name) else {
            throw APIErrorBody(code: .notFound, message: "no job named \(name); `opsctl get jobs` lists them")
        }
        return job
    }

    /// A page of the jobs in `state` and `queue` (any when nil), newest first.
    func jobs(state: JobState?, queue: String?, page: PageRequest) throws -> ListResponse<JobView> {
        let rows = try services.jobs.list(
            state: state, queue: queue, limit: page.rowsToRead, beforeID: page.after.map { JobID($0.id) })
        return page.page(rows, cursor: { PageCursor(key: $0.id.rawValue, id: $0.id.rawValue) }, view: { JobView($0) })
    }

    /// The job with the results of its succeeded tasks, why it failed or was cancelled (`JobRecord.endReason`), the
    /// latest point of each metric and its artifacts.
    func detail(named name: String) throws -> JobView {
        let record = try job(named: name)
        var view = JobView(record, detailed: true)
        let tasks = try services.jobs.tasks(of: record.id)
        view.results = tasks.compactMap { task in
            JSONText.parse(task.result).map { TaskResultView(taskID: task.id, index: task.index, result: $0) }
        }
        let metrics = try services.metrics.list(job: record.id)
        var latest: [String: MetricRecord] = [:]
        for metric in metrics where (latest[metric.name]?.step ?? .min) <= metric.step { latest[metric.name] = metric }
        view.latestMetrics = latest.values.sorted { $0.name < $1.name }.map(MetricPointView.init)
        view.artifacts = try services.artifacts.list(job: record.id).map { ArtifactView($0, jobName: record.name) }
        return view
    }

    func cancel(named name: String) throws -> JobView {
        JobView(try services.jobs.cancel(try job(named: name).id))
    }

    /// A page of the tasks (with their attempts) of the job named, or of every job when nil, newest job first;
    /// only those in `state` when given. Two statements whatever the page size: the tasks, then their attempts.
    func tasks(job name: String?, state: TaskState?, page: PageRequest) throws -> ListResponse<TaskView> {
        let job = try name.map { try self.job(named: $0).id }
        let rows = try services.jobs.tasksPage(
            job: job, state: state, afterJob: page.after?.key, afterTask: page.after?.id, limit: page.rowsToRead)
        let attempts = try services.jobs.attempts(ofTasks: rows.prefix(page.limit).map(\.task.id))
        return page.page(
            rows, cursor: { PageCursor(key: $0.task.jobID.rawValue, id: $0.task.id.rawValue) },
            view: { TaskView($0.task, jobName: $0.jobName, attempts: attempts[$0.task.id] ?? []) })
    }

    /// A page of the points of the job named (of one metric when given), oldest first, after point `since`.
    func metrics(job name: String, named metric: String?, afterID since: Int64, page: PageRequest) throws
        -> ListResponse<MetricPointView>
    {
        let rows = try services.metrics.list(
            job: try job(named: name).id, name: metric, afterID: max(since, page.after?.id ?? 0),
            limit: page.rowsToRead)
        return page.page(rows, cursor: { PageCursor(key: $0.id, id: $0.id) }, view: MetricPointView.init)
    }

    /// A page of the events of the job named, or of the whole cluster when nil, newest first; only those after
    /// event `since`.
    func events(job name: String?, afterID since: Int64, page: PageRequest) throws -> ListResponse<EventView> {
        let record = try name.map { try job(named: $0) }
        let rows = try services.events.newestFirst(
            job: record?.id, afterID: since, beforeID: page.after?.id, limit: page.rowsToRead)
        return page.page(
            rows, cursor: { PageCursor(key: $0.id, id: $0.id) }, view: { EventView($0, jobName: record?.name) })
    }

    /// A page of the workers (in `state` when given), by id.
    func workers(state: WorkerState?, page: PageRequest) throws -> ListResponse<WorkerView> {
        let rows = try services.workers.page(state: state, afterID: page.after?.id, limit: page.rowsToRead)
        return page.page(rows, cursor: { PageCursor(key: $0.id.rawValue, id: $0.id.rawValue) }, view: WorkerView.init)
    }

    /// A page of the artifacts of the job named, or of every job when nil, newest first; only those called
    /// `artifact` when given.
    func artifacts(job name: String?, named artifact: String?, page: PageRequest) throws -> ListResponse<ArtifactView> {
        let job = try name.map { try self.job(named: $0).id }
        let rows = try services.artifacts.page(
            job: job, name: artifact, beforeID: page.after?.id, limit: page.rowsToRead)
        return page.page(
            rows, cursor: { PageCursor(key: $0.artifact.id.rawValue, id: $0.artifact.id.rawValue) },
            view: { ArtifactView($0.artifact, jobName: $0.jobName) })
    }
}
