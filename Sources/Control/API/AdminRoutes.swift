import APITypes
import ClusterModel
import Foundation
import HTTPServer

// Admin handlers (admin token): manifests, jobs and their tasks, logs, metrics and events; the cluster's
// workers, datasets, shards, queues and artifacts. Each parses its parameters and calls one query or command
// of `Control/Views`, `Control/Datasets` or `Control/Submission`.

enum AdminRoutes {
    static func submit(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let outcome = try JobSubmission(services: services).submit(
            try context.decodeBody(SubmitManifestsRequest.self), visibility: JobVisibility(context, services))
        return .wire(outcome.response, status: outcome.changedSomething ? 201 : 200)
    }

    static func listJobs(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let state = try context.queryEnum("state", JobState.self)
        return .wire(
            try JobVisibility(context, services).jobs(
                state: state, queue: context.request.query("queue"), page: try context.pageRequest()))
    }

    static func getJob(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        try JobVisibility(context, services).requireJob(named: context.parameter("name"))
        return .wire(try JobQueries(services: services).detail(named: context.parameter("name")))
    }

    static func cancelJob(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        try JobVisibility(context, services).requireJob(named: context.parameter("name"))
        return .wire(try JobQueries(services: services).cancel(named: context.parameter("name")))
    }

    /// `GET /v1/jobs/{name}/tasks` names its job in the path, `GET /v1/tasks` in the query (or none: all jobs).
    static func listTasks(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let job = context.parameters["name"] ?? context.request.query("job")
        try JobVisibility(context, services).requireJobFilter(job, listing: "tasks")
        let state = try context.queryEnum("state", TaskState.self)
        return .wire(try JobQueries(services: services).tasks(job: job, state: state, page: try context.pageRequest()))
    }

    static func jobLogs(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let since = Int64(try context.queryInt("since", default: 0, range: 0...Int.max))
        let limit = try context.queryInt("limit", default: 1000, range: 1...10_000)
        let wait = try context.queryDouble("wait", default: 0, range: 0...services.configuration.maxPollSeconds)
        try JobVisibility(context, services).requireJob(named: context.parameter("name"))
        return .wire(
            try JobLogFollow(services: services).lines(
                job: context.parameter("name"), afterID: since, limit: limit,
                waitSeconds: wait))
    }

    static func jobMetrics(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let since = Int64(try context.queryInt("since", default: 0, range: 0...Int.max))
        try JobVisibility(context, services).requireJob(named: context.parameter("name"))
        return .wire(
            try JobQueries(services: services).metrics(
                job: context.parameter("name"), named: context.request.query("name"), afterID: since,
                page: try context.pageRequest()))
    }

    /// `GET /v1/jobs/{name}/events` names its job in the path, `GET /v1/events` in the query (or none: all).
    static func listEvents(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let job = context.parameters["name"] ?? context.request.query("job")
        try JobVisibility(context, services).requireJobFilter(job, listing: "events")
        let since = Int64(try context.queryInt("since", default: 0, range: 0...Int.max))
        return .wire(
            try JobQueries(services: services).events(job: job, afterID: since, page: try context.pageRequest()))
    }

    static func listArtifacts(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        try JobVisibility(context, services).requireJobFilter(context.request.query("job"), listing: "artifacts")
        return .wire(
            try JobQueries(services: services).artifacts(
                job: context.request.query("job"), named: context.request.query("name"),
                page: try context.pageRequest()))
    }

    static func listWorkers(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let state = try context.queryEnum("state", WorkerState.self)
        return .wire(try JobQueries(services: services).workers(state: state, page: try context.pageRequest()))
    }

    static func listDatasets(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        .wire(try DatasetQueries(services: services).page(try context.pageRequest()))
    }

    static func getDataset(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        .wire(try DatasetQueries(services: services).dataset(named: context.parameter("name")))
    }

    static func datasetShards(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        .wire(
            try DatasetQueries(services: services).shards(
                ofDatasetNamed: context.parameter("name"), page: try context.pageRequest()))
    }

    /// Worker scope: the files of a dataset by name (`DatasetFiles`).
    static func datasetFiles(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        .wire(try DatasetFiles(services: services).files(ofDatasetNamed: context.parameter("name")))
    }

    static func listQueues(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        .wire(ListResponse(items: try QueueViews(services: services).all()))
    }

    static func deleteQueue(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        .wire(try QueueViews(services: services).deleteConfiguration(named: context.parameter("name")))
    }
}
