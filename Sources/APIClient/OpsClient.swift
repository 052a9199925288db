// The admin API as a Swift client: what `opsctl` (and integration tests) use to submit manifests and look
// at jobs, tasks, workers, logs and metrics.

import APITypes
import ClusterModel
import Foundation

public struct OpsClient: Sendable {
    public let requester: APIRequester

    public init(baseURL: String, token: String?, transport: any HTTPTransport, timeoutSeconds: Double = 30) {
        requester = APIRequester(
            baseURL: baseURL, token: BearerToken(token), transport: transport, defaultTimeoutSeconds: timeoutSeconds)
    }

    // MARK: Probes
    public func health() async throws(ControlPlaneError) -> HealthResponse {
        try await requester.call(APIRoute.healthz.request())
    }
    public func readiness() async throws(ControlPlaneError) -> ReadinessResponse {
        try await requester.call(APIRoute.readyz.request())
    }

    // MARK: Jobs
    public func submit(_ documents: [AnyJSON], dryRun: Bool = false, source: String? = nil)
        async throws(ControlPlaneError) -> SubmitManifestsResponse
    {
        try await requester.call(
            APIRoute.manifests.request(),
            body: SubmitManifestsRequest(documents: documents, dryRun: dryRun, source: source))
    }

    /// Every job (newest first; all pages).
    public func jobs(state: JobState? = nil, queue: String? = nil) async throws(ControlPlaneError) -> [JobView] {
        try await jobs(state: state, queue: queue, scope: .all).items
    }

    public func job(_ name: String) async throws(ControlPlaneError) -> JobView {
        try await requester.call(APIRoute.job.request(name))
    }

    public func cancelJob(_ name: String) async throws(ControlPlaneError) -> JobView {
        try await requester.call(APIRoute.cancelJob.request(name), body: Empty())
    }

    /// Every task (newest job first, each job's in index order; all pages).
    public func tasks(job: String? = nil, state: TaskState? = nil) async throws(ControlPlaneError) -> [TaskView] {
        try await tasks(job: job, state: state, scope: .all).items
    }

    public func logs(job: String, since: Int64 = 0, limit: Int? = nil, waitSeconds: Double? = nil)
        async throws(ControlPlaneError) -> LogsResponse
    {
        let line = APIRoute.jobLogs.request(
            job,
            query: [
                ("since", String(since)), ("limit", limit.map(String.init)),
                ("wait", waitSeconds.map { String(Int($0)) }),
            ])
        return try await requester.call(line, timeoutSeconds: (waitSeconds ?? 0) + 30)
    }

    public func metrics(job: String, name: String? = nil, since: Int64? = nil) async throws(ControlPlaneError)
        -> [MetricPointView]
    {
        try await allPages { cursor throws(ControlPlaneError) in
            try await requester.call(
                APIRoute.jobMetrics.request(
                    job, query: [("name", name), ("since", since.map(String.init)), ("cursor", cursor)]))
        }
    }

    /// Every event (of `job` when given), newest first.
    public func events(job: String? = nil) async throws(ControlPlaneError) -> [EventView] {
        try await events(job: job, scope: .all).items
    }

    // MARK: Cluster
    public func workers(state: WorkerState? = nil) async throws(ControlPlaneError) -> [WorkerView] {
        try await workers(state: state, scope: .all).items
    }

    /// Configured queues and the queues jobs use, with their running and pending task counts.
    public func queues() async throws(ControlPlaneError) -> [QueueView] {
        let response: ListResponse<QueueView> = try await requester.call(APIRoute.queues.request())
        return response.items
    }

    /// Removes a queue's configuration; returns the queue as it is afterwards (unconfigured).
    public func deleteQueue(_ name: String) async throws(ControlPlaneError) -> QueueView {
        try await requester.call(APIRoute.deleteQueue.request(name))
    }

    /// Which of these blobs the control plane's store lacks.
    public func missingBlobs(_ sha256: [String]) async throws(ControlPlaneError) -> [String] {
        let response: MissingBlobsResponse = try await requester.call(
            APIRoute.missingBlobs.request(), body: MissingBlobsRequest(sha256: sha256))
        return response.missing
    }

    public func datasets() async throws(ControlPlaneError) -> [DatasetView] {
        try await allPages { cursor throws(ControlPlaneError) in
            try await requester.call(APIRoute.datasets.request(query: [("cursor", cursor)]))
        }
    }

    public func shards(dataset: String) async throws(ControlPlaneError) -> [ShardView] {
        try await allPages { cursor throws(ControlPlaneError) in
            try await requester.call(APIRoute.datasetShards.request(dataset, query: [("cursor", cursor)]))
        }
    }

    public func artifacts(job: String? = nil) async throws(ControlPlaneError) -> [ArtifactView] {
        try await allPages { cursor throws(ControlPlaneError) in
            try await requester.call(APIRoute.artifacts.request(query: [("job", job), ("cursor", cursor)]))
        }
    }

    /// Follows `nextCursor` until the last page (bounded, in case a server repeats a cursor).
    private func allPages<Item>(_ page: (String?) async throws(ControlPlaneError) -> ListResponse<Item>)
        async throws(ControlPlaneError) -> [Item]
    {
        var items: [Item] = []
        var cursor: String?
        for _ in 0..<10_000 {
            let response = try await page(cursor)
            items += response.items
            guard let next = response.nextCursor, !next.isEmpty, next != cursor else { break }
            cursor = next
        }
        return items
    }
}
