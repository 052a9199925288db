// The documentation row of every route, keyed by its `APIRoute` value (see RouteDocumentation.swift). The
// statuses and parameters here are the ones the handlers in Sources/Control/API check; a route added to
// `APIRoute.all` adds its row at the end, in the same order.

import ClusterModel

extension APIRoute {
    /// What each route takes and answers. `maxPollSeconds` is the server's bound on long-polls (`?wait=`).
    public static func documentation(maxPollSeconds: Double) -> [APIEndpoint: RouteDocumentation] {
        let jobRows = jobDocumentation(maxPollSeconds: maxPollSeconds)
        return jobRows.merging(storageDocumentation()) { first, _ in first }.merging(workerDocumentation()) {
            first, _ in first
        }.merging(poolDocumentation()) { first, _ in first }
    }

    private static func jobDocumentation(maxPollSeconds: Double) -> [APIEndpoint: RouteDocumentation] {
        let sincePaged = [RouteParameter.since] + RouteParameter.paging
        let unfinished = (409, "the job is unfinished (or unfinished jobs wait for it)")
        return [
            healthz: RouteDocumentation("liveness: 200 while the process runs", responses: [.ok(HealthResponse.self)]),
            readyz: RouteDocumentation(
                "readiness: the database is reachable and migrated",
                responses: [
                    .ok(ReadinessResponse.self),
                    RouteResponse(503, .json(ReadinessResponse.self), "not ready; `message` says why"),
                ]),
            manifests: RouteDocumentation(
                "submit manifest documents, all or nothing", request: .json(SubmitManifestsRequest.self),
                responses: [
                    .created(SubmitManifestsResponse.self), .ok(SubmitManifestsResponse.self, "nothing was created"),
                ],
                errors: [(409, "a job of that name exists with another spec"), (422, "a document is invalid")]),
            jobs: RouteDocumentation(
                "list jobs, newest first",
                query: [
                    .oneOf("state", JobState.self, "only jobs in this state"),
                    .string("queue", "only jobs of this queue"),
                ] + RouteParameter.paging,
                responses: [.ok(ListResponse<JobView>.self)]),
            job: RouteDocumentation(
                "a job with results, latest metrics and artifacts", responses: [.ok(JobView.self)]),
            cancelJob: RouteDocumentation("cancel a job (idempotent)", responses: [.ok(JobView.self)]),
            jobTasks: RouteDocumentation(
                "a job's tasks",
                query: [.oneOf("state", TaskState.self, "only tasks in this state")] + RouteParameter.paging,
                responses: [.ok(ListResponse<TaskView>.self)]),
            jobLogs: RouteDocumentation(
                "a job's log lines after `since`",
                query: [
                    .since, .integer("limit", 1...10_000, "lines per response (default 1000)"),
                    .number("wait", maximum: maxPollSeconds, "seconds to wait for a new line"),
                ],
                responses: [.ok(LogsResponse.self)]),
            jobMetrics: RouteDocumentation(
                "a job's metric points", query: [.string("name", "only this metric"), .since] + RouteParameter.paging,
                responses: [.ok(ListResponse<MetricPointView>.self)]),
            jobEvents: RouteDocumentation(
                "a job's events", query: sincePaged, responses: [.ok(ListResponse<EventView>.self)]),
            tasks: RouteDocumentation(
                "tasks of every job",
                query: [
                    .string("job", "only tasks of this job"),
                    .oneOf("state", TaskState.self, "only tasks in this state"),
                ] + RouteParameter.paging,
                responses: [.ok(ListResponse<TaskView>.self)],
                errors: [(404, "no job has the name given as `job`")]),
            workers: RouteDocumentation(
                "workers",
                query: [.oneOf("state", WorkerState.self, "only workers in this state")] + RouteParameter.paging,
                responses: [.ok(ListResponse<WorkerView>.self)]),
            events: RouteDocumentation(
                "the events trail", query: [.string("job", "only events of this job")] + sincePaged,
                responses: [.ok(ListResponse<EventView>.self)], errors: [(404, "no job has the name given as `job`")]),
            datasets: RouteDocumentation(
                "datasets", query: RouteParameter.paging, responses: [.ok(ListResponse<DatasetView>.self)]),
            dataset: RouteDocumentation("one dataset", responses: [.ok(DatasetView.self)]),
            datasetShards: RouteDocumentation(
                "a dataset's shards", query: RouteParameter.paging, responses: [.ok(ListResponse<ShardView>.self)]),
            queues: RouteDocumentation(
                "queues with weights, quotas and task counts", responses: [.ok(ListResponse<QueueView>.self)]),
            deleteQueue: RouteDocumentation(
                "remove a queue's configuration", responses: [.ok(QueueView.self, "the queue afterwards")]),
            artifacts: RouteDocumentation(
                "artifacts",
                query: [.string("job", "only artifacts of this job"), .string("name", "only artifacts of this name")]
                    + RouteParameter.paging,
                responses: [.ok(ListResponse<ArtifactView>.self)], errors: [(404, "no job has the name given as `job`")]
            ),
            artifact: RouteDocumentation(
                "one artifact", path: [.integer("id", 1...Int64.max, "the artifact's id")],
                responses: [.ok(ArtifactView.self)]),
            artifactContent: RouteDocumentation(
                "an artifact's bytes, when the control plane holds them",
                path: [.integer("id", 1...Int64.max, "the artifact's id")],
                responses: [RouteResponse(200, .bytes, "the bytes")],
                errors: [(409, "the bytes are elsewhere (the message names where)")]),
            deleteJob: RouteDocumentation(
                "delete a finished job with its tasks, logs, metrics and events",
                query: [
                    .flag("withArtifacts", "delete its artifacts' rows too"),
                    .flag("force", "cancel an unfinished job first"),
                ],
                responses: [.ok(JobDeletionResponse.self)], errors: [unfinished]),
            rerunJob: RouteDocumentation(
                "a new job from a finished job's manifest", request: .json(RerunJobRequest.self),
                requestOptional: true,
                responses: [.created(SubmittedJob.self), .ok(SubmittedJob.self, "the same rerun existed")],
                errors: [unfinished, (422, "`newName` is not a valid job name (the message names the field)")]),
            createToken: RouteDocumentation(
                "create a named token (its secret is shown once)", request: .json(CreateTokenRequest.self),
                responses: [.created(CreatedTokenResponse.self)], errors: [(409, "the name is taken")]),
            tokens: RouteDocumentation("named tokens, never secrets", responses: [.ok(ListResponse<TokenView>.self)]),
            revokeToken: RouteDocumentation("revoke a named token", responses: [.ok(TokenView.self)]),
        ]
    }

    private static func storageDocumentation() -> [APIEndpoint: RouteDocumentation] {
        let sha256 = RouteParameter(
            "sha256", ["type": "string", "pattern": "^[0-9a-f]{64}$"], "lower-case hex SHA-256 of the bytes")
        let jobID = RouteParameter.integer("jobID", 1...Int64.max, "the job's id")
        return [
            putBlob: RouteDocumentation(
                "store bytes under their checksum", request: .bytes, path: [sha256],
                responses: [.ok(BlobUploadResponse.self), .created(BlobUploadResponse.self)]),
            getBlob: RouteDocumentation(
                "a blob's bytes (`Range` supported)", path: [sha256],
                responses: [RouteResponse(200, .bytes, "the bytes"), RouteResponse(206, .bytes, "the range asked")],
                errors: [(416, "the range lies outside the blob")]),
            headBlob: RouteDocumentation(
                "a blob's size", path: [sha256], responses: [RouteResponse(200, nil, "the blob exists")]),
            storage: RouteDocumentation("the cluster's storage backend", responses: [.ok(StorageDescription.self)]),
            createUpload: RouteDocumentation(
                "start a resumable upload", responses: [.created(UploadSessionResponse.self)]),
            appendUpload: RouteDocumentation(
                "append a chunk at `offset` (an empty chunk appends nothing)", request: .bytes, requestOptional: true,
                query: [RouteParameter.integer("offset", 0...Int64.max, "the session's offset").required()],
                responses: [.ok(UploadSessionResponse.self)], errors: [(409, "`offset` is not the session's offset")]),
            uploadStatus: RouteDocumentation(
                "an upload's offset", responses: [.ok(UploadSessionResponse.self)]),
            completeUpload: RouteDocumentation(
                "verify an upload and keep it as a blob",
                query: [RouteParameter("sha256", sha256.schema, "the checksum the bytes must have").required()],
                responses: [.created(BlobUploadResponse.self), .ok(BlobUploadResponse.self, "the blob existed")],
                errors: [(409, "the session is being written")]),
            collectBlobs: RouteDocumentation(
                "delete unreferenced blobs older than the grace period", responses: [.ok(BlobCollectionReport.self)]),
            putExchangeEntry: RouteDocumentation(
                "publish an exchange entry", request: .json(ExchangePutRequest.self), path: [jobID],
                responses: [.created(ExchangeEntry.self), .ok(ExchangeEntry.self, "replaced")],
                errors: [(409, "`exclusive` and the name exists")]),
            listExchange: RouteDocumentation(
                "a job's exchange entries newer than `after`",
                query: [
                    .string("prefix", "only names starting so"), .integer("after", 0...Int64.max, "a version"),
                    .number("waitSeconds", maximum: ExchangeLimits.maxWaitSeconds, "seconds to wait for a change"),
                ],
                path: [jobID], responses: [.ok(ExchangeListResponse.self)]),
            deleteExchangeEntry: RouteDocumentation(
                "delete an exchange entry", path: [jobID], responses: [RouteResponse(204, nil, "deleted (or absent)")]),
            missingBlobs: RouteDocumentation(
                "which checksums the blob store lacks", request: .json(MissingBlobsRequest.self),
                responses: [.ok(MissingBlobsResponse.self)]),
            datasetFiles: RouteDocumentation(
                "a dataset's files with their blob locations", responses: [.ok(DatasetFilesResponse.self)],
                errors: [(409, "shards are still missing")]),
            openAPI: RouteDocumentation(
                "this document (OpenAPI 3.1)", responses: [RouteResponse(200, .json(AnyJSON.self), "the document")]),
            metrics: RouteDocumentation(
                "Prometheus exposition of the cluster's and this replica's metrics (docs/observability.md); the classic "
                    + "text format 0.0.4 when `Accept` prefers text/plain",
                responses: [
                    RouteResponse(200, .text("application/openmetrics-text"), "OpenMetrics 1.0 text, ending in # EOF")
                ]),
        ]
    }

    private static func workerDocumentation() -> [APIEndpoint: RouteDocumentation] {
        [
            workerRegister: RouteDocumentation(
                "register a worker", request: .json(RegisterWorkerRequest.self),
                responses: [.ok(RegisterWorkerResponse.self)], errors: [(409, "a live worker holds the name")]),
            workerHeartbeat: RouteDocumentation(
                "extend leases, receive signals", request: .json(HeartbeatRequest.self),
                responses: [.ok(HeartbeatResponse.self)], errors: [(404, "unknown or lost worker: register again")]),
            workerPoll: RouteDocumentation(
                "long-poll for tasks", request: .json(PollRequest.self), responses: [.ok(PollResponse.self)],
                errors: [(404, "unknown or lost worker: register again"), (409, "the worker is draining")]),
            workerReports: RouteDocumentation(
                "progress, logs, metrics, artifacts, completions and failures; with `next`, then claim without waiting",
                request: .json(ReportBatch.self), responses: [.ok(ReportBatchResponse.self)],
                errors: [
                    (400, "an item or `next` is malformed: nothing was stored"),
                    (404, "unknown or lost worker: register again"),
                    (409, "every attempt named is stale: nothing was stored or claimed"),
                ]),
            workerDeregister: RouteDocumentation(
                "clean shutdown: requeue the worker's attempts", request: .json(DeregisterWorkerRequest.self),
                responses: [RouteResponse(204, nil, "deregistered")],
                errors: [(404, "unknown or lost worker")]),
            lineage: RouteDocumentation(
                "the upstream lineage of a checkpoint (JOB@STEP or JOB), dataset or eval job, as a tree",
                responses: [.ok(LineageGraph.self)],
                errors: [(400, "`kind` is not a node kind"), (404, "no such node is recorded")]),
            replay: RouteDocumentation(
                "the documents of one step's batch of a train job, recomputed from the recorded stream state",
                query: [
                    .integer("step", 1...Int64(Int32.max), "the optimizer step (1 = the first)"),
                    .integer("rank", 0...Int64(Int32.max), "the member of a DiLoCo gang (default 0)"),
                ],
                responses: [.ok(ReplayedBatch.self)],
                errors: [
                    (400, "the run has no such step or rank (the message says which it has)"),
                    (404, "no such job"), (409, "the job's data cannot be read here or has changed since"),
                ]),
        ]
    }

    private static func poolDocumentation() -> [APIEndpoint: RouteDocumentation] {
        [
            pools: RouteDocumentation(
                "worker pools with current and desired size and their Slurm jobs",
                responses: [.ok(ListResponse<WorkerPoolView>.self)]),
            pool: RouteDocumentation(
                "a worker pool with its latest scale decisions and their reasons",
                responses: [.ok(WorkerPoolView.self)]),
        ]
    }
}
