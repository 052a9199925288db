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

    /// The jobs in `state` (any when nil), newest first, at most `limit`, only those of `queue` when given.
    func jobs(state: JobState?, queue: String?, limit: Int) throws -> [JobView] {
        var jobs = try services.jobs.list(state: state, limit: limit)
        if let queue { jobs = jobs.filter { $0.queue == queue } }
        return jobs.map { JobView($0) }
    }

    /// The job with the results of its succeeded tasks, its first failure, the latest point of each metric and
    /// its artifacts.
    func detail(named name: String) throws -> JobView {
        let record = try job(named: name)
        var view = JobView(record, detailed: true)
        let tasks = try services.jobs.tasks(of: record.id)
        view.results = tasks.compactMap { task in
            JSONText.parse(task.result).map { TaskResultView(taskID: task.id, index: task.index, result: $0) }
        }
        view.failureMessage = tasks.first(where: { $0.state == .failed })?.error
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

    /// The tasks (with their attempts) of the job named, or of the 100 newest jobs when nil; only those in
    /// `state` when given.
    func tasks(job name: String?, state: TaskState?) throws -> [TaskView] {
        var views: [TaskView] = []
        for job in try jobs(named: name) {
            let tasks = try services.jobs.tasks(of: job.id).filter { state == nil || $0.state == state }
            views += try tasks.map { TaskView($0, jobName: job.name, attempts: try services.jobs.attempts(of: $0.id)) }
        }
        return views
    }

    func metrics(job name: String, named metric: String?, afterID since: Int64) throws -> [MetricPointView] {
        try services.metrics.list(job: try job(named: name).id, name: metric, afterID: since).map(MetricPointView.init)
    }

    /// The events of the job named, or of the whole cluster when nil.
    func events(job name: String?, afterID since: Int64, limit: Int) throws -> [EventView] {
        guard let name else { return try services.events.list(afterID: since, limit: limit).map { EventView($0) } }
        let record = try job(named: name)
        return try services.events.list(job: record.id, afterID: since, limit: limit).map {
            EventView($0, jobName: record.name)
        }
    }

    /// The artifacts of the job named, or of the 100 newest jobs when nil; only those called `artifact` when given.
    func artifacts(job name: String?, named artifact: String?) throws -> [ArtifactView] {
        var views: [ArtifactView] = []
        for job in try jobs(named: name) {
            var artifacts = try services.artifacts.list(job: job.id)
            if let artifact { artifacts = artifacts.filter { $0.name == artifact } }
            views += artifacts.map { ArtifactView($0, jobName: job.name) }
        }
        return views
    }

    /// The job named, or the 100 newest when nil.
    private func jobs(named name: String?) throws -> [JobRecord] {
        try name.map { [try job(named: $0)] } ?? services.jobs.list(limit: 100)
    }
}
