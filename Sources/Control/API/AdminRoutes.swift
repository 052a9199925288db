import APITypes
import ClusterModel
import Foundation
import HTTPServer

// Admin routes (admin token): manifests, jobs and their tasks, logs, metrics and events; the cluster's
// workers, datasets, shards and artifacts.

enum AdminRoutes {
    static func routes(_ services: ControlServices) -> [Route] {
        [
            Route("POST", APIRoute.manifests, .admin) { try submit($0, services) },
            Route("GET", APIRoute.jobs, .admin) { try listJobs($0, services) },
            Route("GET", "/v1/jobs/{name}", .admin) { try getJob($0, services) },
            Route("POST", "/v1/jobs/{name}/cancel", .admin) { try cancelJob($0, services) },
            Route("GET", "/v1/jobs/{name}/tasks", .admin) { try jobTasks($0, services) },
            Route("GET", "/v1/jobs/{name}/logs", .admin) { try jobLogs($0, services) },
            Route("GET", "/v1/jobs/{name}/metrics", .admin) { try jobMetrics($0, services) },
            Route("GET", "/v1/jobs/{name}/events", .admin) { try jobEvents($0, services) },
            Route("GET", APIRoute.tasks, .admin) { try listTasks($0, services) },
            Route("GET", APIRoute.workers, .admin) { _ in .wire(ListResponse(items: try services.workers.list().map(WorkerView.init))) },
            Route("GET", APIRoute.events, .admin) { try listEvents($0, services) },
            Route("GET", APIRoute.datasets, .admin) { _ in .wire(ListResponse(items: try services.datasets.list().map { try datasetView($0, services) })) },
            Route("GET", "/v1/datasets/{name}", .admin) { try getDataset($0, services) },
            Route("GET", "/v1/datasets/{name}/shards", .admin) { try datasetShards($0, services) },
            Route("GET", APIRoute.artifacts, .admin) { try listArtifacts($0, services) },
            Route("GET", APIRoute.queues, .admin) { _ in .wire(ListResponse(items: try QueueRoutes.views(services))) },
            Route("DELETE", "/v1/queues/{name}", .admin) { try QueueRoutes.delete($0, services) },
        ]
    }

    static func job(named name: String, _ services: ControlServices) throws -> JobRecord {
        guard let job = try services.jobs.job(named: name) else {
            throw APIErrorBody(code: .notFound, message: "no job named \(name); `opsctl get jobs` lists them")
        }
        return job
    }

    static func submit(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let request = try context.decodeBody(SubmitManifestsRequest.self)
        let (planned, queues) = try services.submission.plan(request)
        if request.dryRun {
            let views = planned.map { manifest, job in
                APITypes.SubmittedJob(outcome: .validated,
                             job: JobView(id: JobID(0), name: job.name, type: job.type, state: .pending, queue: job.queue,
                                          priority: job.priority, replicas: job.replicas, after: manifest.spec.after,
                                          tasks: TaskCounts(queued: job.tasks.count), cancelRequested: false, submittedAt: Date()))
            }
            return .wire(SubmitManifestsResponse(jobs: views, queues: queues.isEmpty ? nil : queues.map(QueueRoutes.view)), status: 200)
        }
        let submitted = try services.jobs.submit(planned.map(\.job), configuring: queues)
        refreshPlannerStatistics(afterCreating: zip(planned, submitted).filter { $0.1.created }.reduce(0) { $0 + $1.0.job.tasks.count },
                                 services)
        let views = try submitted.map { result in
            APITypes.SubmittedJob(outcome: result.created ? .created : .unchanged, job: JobView(try job(named: result.name, services)))
        }
        let queueViews = queues.isEmpty ? nil : try QueueRoutes.views(named: queues.map(\.name), services)
        let status = submitted.contains(where: \.created) || !queues.isEmpty ? 201 : 200
        return .wire(SubmitManifestsResponse(jobs: views, queues: queueViews), status: status)
    }

    /// After 1,000 new tasks or more the claim query's plan needs fresh statistics (`refreshTaskStatistics`).
    /// Failure is harmless: autovacuum gets there later.
    static func refreshPlannerStatistics(afterCreating tasks: Int, _ services: ControlServices) {
        guard tasks >= 1000 else { return }
        try? services.store.refreshTaskStatistics()
    }

    static func listJobs(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        var state: JobState?
        if let text = context.request.query("state") {
            guard let parsed = JobState(rawValue: text) else {
                throw APIErrorBody(code: .badRequest, message: "query parameter state: expected one of \(JobState.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(text)\"")
            }
            state = parsed
        }
        let limit = try context.queryInt("limit", default: 500, range: 1...10_000)
        var jobs = try services.jobs.list(state: state, limit: limit)
        if let queue = context.request.query("queue") { jobs = jobs.filter { $0.queue == queue } }
        return .wire(ListResponse(items: jobs.map { JobView($0) }))
    }

    static func getJob(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let record = try job(named: context.parameter("name"), services)
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
        return .wire(view)
    }

    static func cancelJob(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let record = try job(named: context.parameter("name"), services)
        return .wire(JobView(try services.jobs.cancel(record.id)))
    }

    static func taskViews(_ tasks: [TaskRecord], jobName: String, _ services: ControlServices) throws -> [TaskView] {
        try tasks.map { TaskView($0, jobName: jobName, attempts: try services.jobs.attempts(of: $0.id)) }
    }

    static func taskState(_ context: RequestContext) throws -> TaskState? {
        guard let text = context.request.query("state") else { return nil }
        guard let state = TaskState(rawValue: text) else {
            throw APIErrorBody(code: .badRequest, message: "query parameter state: expected one of \(TaskState.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(text)\"")
        }
        return state
    }

    static func jobTasks(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let record = try job(named: context.parameter("name"), services)
        let state = try taskState(context)
        let tasks = try services.jobs.tasks(of: record.id).filter { state == nil || $0.state == state }
        return .wire(ListResponse(items: try taskViews(tasks, jobName: record.name, services)))
    }

    static func listTasks(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let state = try taskState(context)
        let jobs = try context.request.query("job").map { [try job(named: $0, services)] } ?? services.jobs.list(limit: 100)
        var views: [TaskView] = []
        for job in jobs {
            let tasks = try services.jobs.tasks(of: job.id).filter { state == nil || $0.state == state }
            views += try taskViews(tasks, jobName: job.name, services)
        }
        return .wire(ListResponse(items: views))
    }

    /// Log lines after `since` (a line id); with `wait`, holds the request until lines arrive or the job ends.
    static func jobLogs(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let record = try job(named: context.parameter("name"), services)
        let since = Int64(try context.queryInt("since", default: 0, range: 0...Int.max))
        let limit = try context.queryInt("limit", default: 1000, range: 1...10_000)
        let wait = try context.queryDouble("wait", default: 0, range: 0...services.configuration.maxPollSeconds)
        let deadline = Date().addingTimeInterval(wait)
        while true {
            let seen = services.signals.generation(StoreChannel.taskLogs)
            let lines = try services.logs.list(job: record.id, afterID: since, limit: limit)
            let finished = try services.jobs.job(record.id)?.state.isTerminal ?? true
            if !lines.isEmpty || finished || Date() >= deadline {
                return .wire(LogsResponse(lines: lines.map(LogLineView.init), nextSince: lines.last?.id ?? since,
                                          complete: finished && lines.count < limit))
            }
            // Woken by NOTIFY task_logs (any job's lines) or the job finishing; bounded so a finished job is seen.
            services.signals.wait(StoreChannel.taskLogs, after: seen, timeout: min(1, deadline.timeIntervalSinceNow))
        }
    }

    static func jobMetrics(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let record = try job(named: context.parameter("name"), services)
        let since = Int64(try context.queryInt("since", default: 0, range: 0...Int.max))
        let metrics = try services.metrics.list(job: record.id, name: context.request.query("name"), afterID: since)
        return .wire(ListResponse(items: metrics.map(MetricPointView.init)))
    }

    static func jobEvents(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let record = try job(named: context.parameter("name"), services)
        let since = Int64(try context.queryInt("since", default: 0, range: 0...Int.max))
        let limit = try context.queryInt("limit", default: 1000, range: 1...10_000)
        let events = try services.events.list(job: record.id, afterID: since, limit: limit)
        return .wire(ListResponse(items: events.map { EventView($0, jobName: record.name) }))
    }

    static func listEvents(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        if let name = context.request.query("job") {
            return try jobEvents(RequestContext(request: context.request, parameters: ["name": name], principal: context.principal), services)
        }
        let since = Int64(try context.queryInt("since", default: 0, range: 0...Int.max))
        let limit = try context.queryInt("limit", default: 1000, range: 1...10_000)
        return .wire(ListResponse(items: try services.events.list(afterID: since, limit: limit).map { EventView($0) }))
    }

    static func datasetView(_ dataset: DatasetRecord, _ services: ControlServices) throws -> DatasetView {
        let shards = try services.shards.list(dataset: dataset.id)
        let metadata = JSONText.parse(dataset.metadata)?.objectValue
        let job = try dataset.job.flatMap { try services.jobs.job($0) }
        let jobName = job?.name
        // While the producing job runs the dataset is incomplete; a failed or cancelled job leaves it so.
        var state = shards.contains { $0.state == .bad } ? "degraded" : "ready"
        switch job?.state {
        case .pending?, .running?: state = "building"
        case .failed?, .cancelled?: state = "incomplete"
        default: break
        }
        return DatasetView(id: dataset.id, name: dataset.name, state: state,
                           jobName: jobName, shardCount: shards.count, tokenCount: shards.reduce(0) { $0 + $1.tokens },
                           bytes: shards.reduce(0) { $0 + $1.bytes }, tokenizer: metadata?["tokenizer"]?.stringValue,
                           createdAt: dataset.createdAt)
    }

    static func dataset(named name: String, _ services: ControlServices) throws -> DatasetRecord {
        guard let dataset = try services.datasets.dataset(named: name) else {
            throw APIErrorBody(code: .notFound, message: "no dataset named \(name); `opsctl get datasets` lists them")
        }
        return dataset
    }

    static func getDataset(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        .wire(try datasetView(try dataset(named: context.parameter("name"), services), services))
    }

    static func datasetShards(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let record = try dataset(named: context.parameter("name"), services)
        return .wire(ListResponse(items: try services.shards.list(dataset: record.id).map { ShardView($0, datasetName: record.name) }))
    }

    static func listArtifacts(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let jobs = try context.request.query("job").map { [try job(named: $0, services)] } ?? services.jobs.list(limit: 100)
        var views: [ArtifactView] = []
        for job in jobs {
            var artifacts = try services.artifacts.list(job: job.id)
            if let name = context.request.query("name") { artifacts = artifacts.filter { $0.name == name } }
            views += artifacts.map { ArtifactView($0, jobName: job.name) }
        }
        return .wire(ListResponse(items: views))
    }
}

enum ProbeRoutes {
    static func routes(_ services: ControlServices, version: String, isLeader: @escaping @Sendable () -> Bool) -> [Route] {
        [
            Route("GET", APIRoute.healthz, .open) { _ in .wire(HealthResponse(status: "ok", version: version)) },
            Route("GET", APIRoute.readyz, .open) { _ in
                do {
                    let versions = try Migrations.appliedVersions(in: services.pool)
                    let expected = Migrations.all.map(\.version).max() ?? 0
                    guard versions.contains(expected) else {
                        return .wire(ReadinessResponse(ready: false, checks: ["database": "ok", "migrations": "missing \(expected)"],
                                                       message: "database migrations are not applied yet"), status: 503)
                    }
                    return .wire(ReadinessResponse(ready: true, checks: ["database": "ok", "migrations": "\(expected)",
                                                                         "scheduling": isLeader() ? "leader" : "standby"]))
                } catch {
                    return .wire(ReadinessResponse(ready: false, checks: ["database": "unreachable"],
                                                   message: "the database is unreachable: \(error)"), status: 503)
                }
            },
        ]
    }
}
