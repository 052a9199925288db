// Every route of the REST API, defined once as a value: method, path pattern and who may call it. The server's
// router matches requests against these patterns, the clients build their paths from them, and a generator of
// an API description can walk `APIRoute.all`. No other file spells a `/v1/` path. The full table with bodies and
// responses is in docs/cli-and-workers.md.

/// HTTP methods the API uses.
public enum HTTPMethodName: String, Sendable, Codable, CaseIterable {
    case get = "GET"
    case post = "POST"
    case put = "PUT"
    case delete = "DELETE"
    /// Only for blobs: the headers of `GET` without the body.
    case head = "HEAD"
}

/// Who may call a route: the permission it needs (docs/security.md, "Tokens and scopes").
public enum RouteScope: String, Sendable, Codable, CaseIterable {
    /// Probes: no token.
    case open
    /// Reading the cluster's state: a `viewer`, `submitter` or `admin` token (a submitter sees only the jobs of
    /// its queues), or the root admin token.
    case read
    /// Changing jobs: a `submitter` token for the jobs of its queues, an `admin` token, or the root admin token.
    case submit
    /// Everything else an operator does (queues, tokens, blob collection): an `admin` token or the root admin token.
    case admin
    /// Worker protocol calls and blobs: a worker's own token or the admin token (not the join token); calls that
    /// name a worker id in their body are checked against the token by the handler.
    case worker
    /// Registration: the join token or the admin token.
    case registration
    /// Any of the cluster's tokens (join, worker or admin): what a worker needs to know before it registers.
    case member
}

/// How a route's caller proves who it is: a bearer token (every API call), or the dashboard's session cookie
/// (a browser holds no token after it signs in; docs/dashboard.md). A `.sessionCookie` route is authorized by its
/// handler from the session, against the same `scope`.
public enum RouteCredential: String, Sendable, Codable, CaseIterable {
    case bearerToken
    case sessionCookie
}

/// One route of the API: `GET /v1/jobs/{name}/tasks`, callable by `admin`.
public struct APIEndpoint: Sendable, Hashable, CustomStringConvertible {
    public enum Segment: Sendable, Hashable {
        case literal(String)
        case parameter(String)
    }

    public let method: HTTPMethodName
    /// The path pattern, e.g. `/v1/jobs/{name}/tasks`; `{…}` names a parameter that fills one whole segment.
    public let pattern: String
    public let scope: RouteScope
    public let credential: RouteCredential
    public let segments: [Segment]

    init(_ method: HTTPMethodName, _ pattern: String, _ scope: RouteScope, _ credential: RouteCredential = .bearerToken)
    {
        self.method = method
        self.pattern = pattern
        self.scope = scope
        self.credential = credential
        segments = pattern.split(separator: "/").map { part in
            part.hasPrefix("{") && part.hasSuffix("}")
                ? .parameter(String(part.dropFirst().dropLast())) : .literal(String(part))
        }
    }

    /// `GET /v1/jobs/{name}`.
    public var description: String { "\(method.rawValue) \(pattern)" }

    /// The names of the path parameters, in order.
    public var parameterNames: [String] {
        segments.compactMap { if case .parameter(let name) = $0 { name } else { nil } }
    }

    /// The concrete path with `parameters` filled in, in order and percent-encoded, and the non-nil `query` items
    /// appended: `APIRoute.jobLogs.path("a", query: [("since", "5")])` → `/v1/jobs/a/logs?since=5`.
    public func path(_ parameters: String..., query: [(String, String?)] = []) -> String {
        path(filling: parameters, query: query)
    }

    /// What a client sends: this route's method and its concrete path (as `path(_:query:)` builds it).
    public func request(_ parameters: String..., query: [(String, String?)] = []) -> APIRequestLine {
        APIRequestLine(method: method, path: path(filling: parameters, query: query))
    }

    /// `path(_:query:)` with the parameters in an array (for code that walks `APIRoute.all`).
    public func path(filling parameters: [String], query: [(String, String?)] = []) -> String {
        precondition(
            parameters.count == parameterNames.count,
            "\(self) takes \(parameterNames.count) path parameter(s), got \(parameters.count)")
        var values = parameters.makeIterator()
        let parts = segments.map { segment in
            switch segment {
            case .literal(let text): text
            case .parameter: APIRoute.escape(values.next()!)
            }
        }
        return APIRoute.withQuery("/" + parts.joined(separator: "/"), query)
    }

    /// The path parameters when `components` (a decoded path split on `/`, empty parts dropped) fit the pattern,
    /// else nil. The method is not compared: a path that fits with another method is a 405, not a 404.
    public func match(_ components: [String]) -> [String: String]? {
        guard components.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, component) in zip(segments, components) {
            switch segment {
            case .literal(let text): if text != component { return nil }
            case .parameter(let name): parameters[name] = component.removingPercentEncoding ?? component
            }
        }
        return parameters
    }
}

/// A concrete request a client makes: `POST /v1/jobs/a/cancel`.
public struct APIRequestLine: Sendable, Equatable, CustomStringConvertible {
    public let method: HTTPMethodName
    /// The path with its query string.
    public let path: String

    public var description: String { "\(method.rawValue) \(path)" }
}

public enum APIRoute {
    public static let apiPrefix = "/v1"

    // MARK: Probes (no token needed)
    /// → `HealthResponse`, 200 while the process is alive.
    public static let healthz = APIEndpoint(.get, "/healthz", .open)
    /// → `ReadinessResponse`, 200 when the database is reachable and migrations are applied, else 503.
    public static let readyz = APIEndpoint(.get, "/readyz", .open)

    // MARK: Jobs and the cluster's state (read: any operator token; submit: a submitter of the job's queue or an
    // admin; admin: an admin token)
    /// `SubmitManifestsRequest` → 201 `SubmitManifestsResponse`.
    public static let manifests = APIEndpoint(.post, "/v1/manifests", .submit)
    /// `?state=&queue=&limit=&cursor=` → `ListResponse<JobView>`.
    public static let jobs = APIEndpoint(.get, "/v1/jobs", .read)
    /// → `JobView` (with results, latest metrics and artifacts).
    public static let job = APIEndpoint(.get, "/v1/jobs/{name}", .read)
    /// (empty body) → `JobView`. Idempotent; cancelling a finished job changes nothing.
    public static let cancelJob = APIEndpoint(.post, "/v1/jobs/{name}/cancel", .submit)
    /// `?state=&limit=&cursor=` → `ListResponse<TaskView>`.
    public static let jobTasks = APIEndpoint(.get, "/v1/jobs/{name}/tasks", .read)
    /// `?since=&limit=&task=&wait=` → `LogsResponse`.
    public static let jobLogs = APIEndpoint(.get, "/v1/jobs/{name}/logs", .read)
    /// `?name=&since=&limit=` → `ListResponse<MetricPointView>`.
    public static let jobMetrics = APIEndpoint(.get, "/v1/jobs/{name}/metrics", .read)
    /// `?since=&limit=` → `ListResponse<EventView>` of this job.
    public static let jobEvents = APIEndpoint(.get, "/v1/jobs/{name}/events", .read)
    /// `?job=&state=&limit=&cursor=` → `ListResponse<TaskView>`.
    public static let tasks = APIEndpoint(.get, "/v1/tasks", .read)
    /// `?state=` → `ListResponse<WorkerView>`.
    public static let workers = APIEndpoint(.get, "/v1/workers", .read)
    /// `?job=&since=&limit=` → `ListResponse<EventView>`.
    public static let events = APIEndpoint(.get, "/v1/events", .read)
    /// → `ListResponse<DatasetView>`.
    public static let datasets = APIEndpoint(.get, "/v1/datasets", .read)
    /// → `DatasetView`.
    public static let dataset = APIEndpoint(.get, "/v1/datasets/{name}", .read)
    /// `?limit=&cursor=` → `ListResponse<ShardView>`.
    public static let datasetShards = APIEndpoint(.get, "/v1/datasets/{name}/shards", .read)
    /// → `ListResponse<QueueView>`: configured queues and the queues jobs use, with task counts.
    public static let queues = APIEndpoint(.get, "/v1/queues", .read)
    /// → `QueueView` of the queue afterwards (unconfigured: weight 1, no quota, its task counts); 404 when no
    /// configuration of that name exists.
    public static let deleteQueue = APIEndpoint(.delete, "/v1/queues/{name}", .admin)
    /// `?job=&name=` → `ListResponse<ArtifactView>`.
    public static let artifacts = APIEndpoint(.get, "/v1/artifacts", .read)
    /// → `ArtifactView`; 404 when no artifact has that id.
    public static let artifact = APIEndpoint(.get, "/v1/artifacts/{id}", .read)
    /// → the artifact's bytes when the control plane holds them (`cp://blobs/`; `Range` as for `getBlob`); 409
    /// naming the location when they are elsewhere (an S3 object, a directory the workers share).
    public static let artifactContent = APIEndpoint(.get, "/v1/artifacts/{id}/content", .read)
    /// `?withArtifacts=true&force=true` → `JobDeletionResponse`: the job with its tasks, attempts, logs, metrics and
    /// events, in one transaction; its artifacts are kept (their rows and bytes) unless `withArtifacts`. 409 while
    /// the job is unfinished (unless `force`: cancelled first) or unfinished jobs wait for it (named).
    public static let deleteJob = APIEndpoint(.delete, "/v1/jobs/{name}", .submit)
    /// `RerunJobRequest` → 201 `SubmittedJob`: a new job from the finished job's stored manifest, named `as` or
    /// the first free `NAME-2`, `NAME-3`, …; 409 while the job is unfinished.
    public static let rerunJob = APIEndpoint(.post, "/v1/jobs/{name}/rerun", .submit)

    // MARK: Tokens (admin): named operator tokens with a scope (docs/security.md)
    /// `CreateTokenRequest` → 201 `CreatedTokenResponse`: the token's secret, shown this once (only its SHA-256 is
    /// stored); 409 when the name is taken (revoked names stay taken: the events trail names them).
    public static let createToken = APIEndpoint(.post, "/v1/tokens", .admin)
    /// → `ListResponse<TokenView>`: every named token, revoked ones too, oldest first; never a secret.
    public static let tokens = APIEndpoint(.get, "/v1/tokens", .admin)
    /// → `TokenView` of the revoked token; 404 when no token has that name. Revoking twice changes nothing.
    public static let revokeToken = APIEndpoint(.delete, "/v1/tokens/{name}", .admin)

    // MARK: Blobs (admin or worker token)
    /// Raw bytes → `BlobUploadResponse` (location `cp://blobs/<sha256>`); the server checks the sha256 and keeps
    /// one copy per checksum.
    public static let putBlob = APIEndpoint(.put, blobPattern, .worker)
    /// → the bytes (404 when unknown).
    public static let getBlob = APIEndpoint(.get, blobPattern, .worker)
    /// → the headers of `getBlob` (size, `Accept-Ranges`), no body; 404 when unknown.
    public static let headBlob = APIEndpoint(.head, blobPattern, .worker)
    private static let blobPattern = "/v1/blobs/{sha256}"
    /// → `StorageDescription`: the cluster's backend (blob store or an S3 bucket); never credentials. Any token
    /// (a worker asks with its join token, before it registers).
    public static let storage = APIEndpoint(.get, "/v1/storage", .member)
    /// (empty body) → 201 `UploadSessionResponse`: a resumable upload of a large blob, at offset 0.
    public static let createUpload = APIEndpoint(.post, "/v1/uploads", .worker)
    /// `?offset=N`, raw bytes → `UploadSessionResponse`; 409 when N is not the session's offset.
    public static let appendUpload = APIEndpoint(.put, "/v1/uploads/{id}", .worker)
    /// → `UploadSessionResponse` (the offset to resume at); 404 when unknown or expired.
    public static let uploadStatus = APIEndpoint(.get, "/v1/uploads/{id}", .worker)
    /// `?sha256=` → 201/200 `BlobUploadResponse`: verified and moved into the blob store; 400 on a mismatch.
    public static let completeUpload = APIEndpoint(.post, "/v1/uploads/{id}/complete", .worker)
    /// (empty body) → `BlobCollectionReport`: deletes blobs no row references and older than the grace period.
    public static let collectBlobs = APIEndpoint(.post, "/v1/storage/collect", .admin)

    // MARK: Training exchange (writes: a worker holding an attempt of the job, or the admin token; reads: any
    // worker, so a tokenize task reads its `-dedup` scan job's hash files; docs/storage.md)
    /// `ExchangePutRequest` → 201 `ExchangeEntry` (created), 200 (replaced), 409 when `exclusive` and it exists.
    public static let putExchangeEntry = APIEndpoint(.put, exchangeEntryPattern, .worker)
    /// `?prefix=&after=&waitSeconds=` → `ExchangeListResponse`; waits up to `waitSeconds` (at most 30) for an
    /// entry newer than `after`.
    public static let listExchange = APIEndpoint(.get, "/v1/jobs/{jobID}/exchange", .worker)
    /// → 204, also when the entry did not exist.
    public static let deleteExchangeEntry = APIEndpoint(.delete, exchangeEntryPattern, .worker)
    private static let exchangeEntryPattern = "/v1/jobs/{jobID}/exchange/{name}"
    /// `MissingBlobsRequest` → `MissingBlobsResponse`: which checksums the store lacks (`opsctl apply` uploads only those).
    public static let missingBlobs = APIEndpoint(.post, "/v1/blobs/missing", .worker)
    /// → `DatasetFilesResponse`: a dataset's index and files with their blob locations, for workers reading it by
    /// name (409 while shards are still missing).
    public static let datasetFiles = APIEndpoint(.get, "/v1/datasets/{name}/files", .worker)

    // MARK: Worker protocol (worker token; each call names its worker id in the body)
    /// `RegisterWorkerRequest` → `RegisterWorkerResponse`.
    public static let workerRegister = APIEndpoint(.post, "/v1/worker/register", .registration)
    /// `HeartbeatRequest` → `HeartbeatResponse`.
    public static let workerHeartbeat = APIEndpoint(.post, "/v1/worker/heartbeat", .worker)
    /// `PollRequest` → `PollResponse` (long-poll up to `waitSeconds`).
    public static let workerPoll = APIEndpoint(.post, "/v1/worker/poll", .worker)
    /// `ReportBatch` → `ReportBatchResponse`, or 409 `stale_attempt` when every attempt named is stale.
    public static let workerReports = APIEndpoint(.post, "/v1/worker/reports", .worker)
    /// `DeregisterWorkerRequest` → 204. A clean shutdown: the worker's unfinished attempts are requeued now.
    public static let workerDeregister = APIEndpoint(.post, "/v1/worker/deregister", .worker)

    // MARK: Observability
    /// → the Prometheus scrape: OpenMetrics text (`text/plain` 0.0.4 when only that is accepted). Read scope: a
    /// Prometheus server scrapes with a viewer token; a submitter is refused (it spans every queue).
    /// docs/observability.md.
    public static let metrics = APIEndpoint(.get, "/metrics", .read)
    // MARK: Description of the API (no token needed)
    /// → the OpenAPI 3.1 document of every route, built from `documentation(maxPollSeconds:)` and the wire types
    /// (docs/api.md).
    public static let openAPI = APIEndpoint(.get, "/openapi.json", .open)
    // MARK: Dashboard (HTML for a browser, docs/dashboard.md): signed in by the session cookie `dashboardLogin`
    // sets, not by a bearer token; every POST but the login carries the session's CSRF token.
    /// → the jobs page (HTML): state, queue, progress and ETA; `?cursor=` pages on. Without a session: 303 to
    /// `dashboardLoginForm`.
    public static let dashboardJobs = APIEndpoint(.get, "/", .read, .sessionCookie)
    /// → the job page (HTML): tasks, attempts, events, logs tail, why it is pending, artifacts, metric charts.
    public static let dashboardJob = APIEndpoint(.get, "/jobs/{name}", .read, .sessionCookie)
    /// `?metricsAfter=&logsAfter=` → `DashboardJobLive` (JSON): what the job page polls to update itself.
    public static let dashboardJobLive = APIEndpoint(.get, "/jobs/{name}/live", .read, .sessionCookie)
    /// form `csrf` → 303 to the job page: cancels the job (a submitter of its queue or an admin).
    public static let dashboardCancelJob = APIEndpoint(.post, "/jobs/{name}/cancel", .submit, .sessionCookie)
    /// → the workers page (HTML): resources, labels, current attempts.
    public static let dashboardWorkers = APIEndpoint(.get, "/workers", .read, .sessionCookie)
    /// → the queues page (HTML): weights, quotas, usage, fair share.
    public static let dashboardQueues = APIEndpoint(.get, "/queues", .read, .sessionCookie)
    /// → the datasets page (HTML): shards, tokens, bytes, the job that made each.
    public static let dashboardDatasets = APIEndpoint(.get, "/datasets", .read, .sessionCookie)
    /// → one dataset's page (HTML): its shards with tokens and checksums.
    public static let dashboardDataset = APIEndpoint(.get, "/datasets/{name}", .read, .sessionCookie)
    /// → the sign-in form (HTML).
    public static let dashboardLoginForm = APIEndpoint(.get, "/login", .open)
    /// form `token` → 303 to `/` with the session cookie (HttpOnly, SameSite=Strict); 401 with the form again
    /// when the token is not an operator token of this control plane.
    public static let dashboardLogin = APIEndpoint(.post, "/login", .open)
    /// form `csrf` → 303 to the sign-in form; the session is deleted.
    public static let dashboardLogout = APIEndpoint(.post, "/logout", .read, .sessionCookie)
    /// → the dashboard's script or style sheet (`dashboard.js`, `dashboard.css`), compiled into the binary.
    public static let dashboardAsset = APIEndpoint(.get, "/assets/{file}", .open)

    // MARK: Lineage (docs/lineage.md)
    /// → `LineageGraph`: the upstream graph of a `checkpoint` (`JOB@STEP`, or `JOB` for its newest), a `dataset` or
    /// an `eval` job (any kind of `LineageKind`), as a tree; 404 when no such node is recorded.
    public static let lineage = APIEndpoint(.get, "/v1/lineage/{kind}/{name}", .read)
    /// `?step=&rank=` → `ReplayedBatch`: the documents of a train job's step on one rank, recomputed from the
    /// recorded stream state; 400 naming `step` or `rank` when the run has no such step or rank.
    public static let replay = APIEndpoint(.get, "/v1/jobs/{name}/replay", .read)

    // MARK: Worker pools (issue 19; docs/worker-pools.md)
    /// → `ListResponse<WorkerPoolView>`: every pool with its current and desired size and Slurm jobs.
    public static let pools = APIEndpoint(.get, "/v1/pools", .read)
    /// → `WorkerPoolView` with its latest scale decisions and their reasons; 404 when no pool has that name.
    public static let pool = APIEndpoint(.get, "/v1/pools/{name}", .read)

    /// The calls a worker daemon makes with the join token or its own (`opsctl` explains a 401 on them so).
    public static let workerProtocol = [workerRegister, workerHeartbeat, workerPoll, workerReports, workerDeregister]

    /// Every route, in the order of the documentation; the server's route table must handle each exactly once.
    public static let all: [APIEndpoint] = [
        healthz, readyz,
        manifests, jobs, job, cancelJob, jobTasks, jobLogs, jobMetrics, jobEvents, tasks, workers, events,
        datasets, dataset, datasetShards, queues, deleteQueue, artifacts, artifact, artifactContent, deleteJob,
        rerunJob,
        createToken, tokens, revokeToken,
        putBlob, getBlob, headBlob, storage, createUpload, appendUpload, uploadStatus, completeUpload, collectBlobs,
        putExchangeEntry, listExchange, deleteExchangeEntry,
        missingBlobs, datasetFiles,
        workerRegister, workerHeartbeat, workerPoll, workerReports, workerDeregister,
        metrics,
        openAPI,
        dashboardJobs, dashboardJob, dashboardJobLive, dashboardCancelJob, dashboardWorkers, dashboardQueues,
        dashboardDatasets, dashboardDataset, dashboardLoginForm, dashboardLogin, dashboardLogout, dashboardAsset,
        lineage, replay, pools, pool,
    ]

    /// The dashboard's browser routes (HTML pages, forms, its script and style sheet; docs/dashboard.md). They are
    /// not the REST API: `/openapi.json` leaves them out, and a client of the API never calls them.
    public static let dashboard: [APIEndpoint] = [
        dashboardJobs, dashboardJob, dashboardJobLive, dashboardCancelJob, dashboardWorkers, dashboardQueues,
        dashboardDatasets, dashboardDataset, dashboardLoginForm, dashboardLogin, dashboardLogout, dashboardAsset,
    ]

    /// The REST API: every route but the dashboard's, each with a row in `documentation(maxPollSeconds:)`.
    public static var restAPI: [APIEndpoint] { all.filter { !dashboard.contains($0) } }

    /// Percent-encodes one path segment (job names are DNS-like, but be safe).
    public static func escape(_ segment: String) -> String {
        var out = ""
        for byte in segment.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                out.append(Character(UnicodeScalar(byte)))
            default:
                out += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return out
    }

    /// Builds `path?k=v&...` from the non-nil query items, percent-encoding values.
    public static func withQuery(_ path: String, _ items: [(String, String?)]) -> String {
        let present = items.compactMap { key, value in value.map { "\(escape(key))=\(escape($0))" } }
        return present.isEmpty ? path : path + "?" + present.joined(separator: "&")
    }
}
