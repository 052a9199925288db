// Every route of the REST API in one place, so the server's router and the clients build the same
// paths. The full table with bodies and responses is in docs/cli-and-workers.md.

/// HTTP methods the API uses.
public enum HTTPMethodName: String, Sendable, Codable {
    case get = "GET", post = "POST", put = "PUT", delete = "DELETE"
}

public enum APIRoute {
    public static let apiPrefix = "/v1"

    // MARK: Probes (no token needed)
    /// `GET` → `HealthResponse`, 200 while the process is alive.
    public static let healthz = "/healthz"
    /// `GET` → `ReadinessResponse`, 200 when the database is reachable and migrations are applied, else 503.
    public static let readyz = "/readyz"

    // MARK: Admin (admin token)
    /// `POST` `SubmitManifestsRequest` → 201 `SubmitManifestsResponse`.
    public static let manifests = "/v1/manifests"
    /// `GET ?state=&queue=&limit=&cursor=` → `ListResponse<JobView>`.
    public static let jobs = "/v1/jobs"
    /// `GET` → `JobView` (with results, latest metrics and artifacts).
    public static func job(_ name: String) -> String { "/v1/jobs/\(escape(name))" }
    /// `POST` (empty body) → `JobView`. Idempotent; cancelling a finished job changes nothing.
    public static func cancelJob(_ name: String) -> String { "/v1/jobs/\(escape(name))/cancel" }
    /// `GET ?state=&limit=&cursor=` → `ListResponse<TaskView>`.
    public static func jobTasks(_ name: String) -> String { "/v1/jobs/\(escape(name))/tasks" }
    /// `GET ?since=&limit=&task=&wait=` → `LogsResponse`.
    public static func jobLogs(_ name: String) -> String { "/v1/jobs/\(escape(name))/logs" }
    /// `GET ?name=&since=&limit=` → `ListResponse<MetricPointView>`.
    public static func jobMetrics(_ name: String) -> String { "/v1/jobs/\(escape(name))/metrics" }
    /// `GET ?since=&limit=` → `ListResponse<EventView>` of this job.
    public static func jobEvents(_ name: String) -> String { "/v1/jobs/\(escape(name))/events" }
    /// `GET ?job=&state=&limit=&cursor=` → `ListResponse<TaskView>`.
    public static let tasks = "/v1/tasks"
    /// `GET ?state=` → `ListResponse<WorkerView>`.
    public static let workers = "/v1/workers"
    /// `GET ?job=&since=&limit=` → `ListResponse<EventView>`.
    public static let events = "/v1/events"
    /// `GET` → `ListResponse<DatasetView>`.
    public static let datasets = "/v1/datasets"
    /// `GET` → `DatasetView`.
    public static func dataset(_ name: String) -> String { "/v1/datasets/\(escape(name))" }
    /// `GET ?limit=&cursor=` → `ListResponse<ShardView>`.
    public static func datasetShards(_ name: String) -> String { "/v1/datasets/\(escape(name))/shards" }
    /// `GET` → `ListResponse<QueueView>`: configured queues and the queues jobs use, with task counts.
    public static let queues = "/v1/queues"
    /// `DELETE` → `QueueView` of the queue afterwards (unconfigured: weight 1, no quota, its task counts); 404 when
    /// no configuration of that name exists.
    public static func queue(_ name: String) -> String { "/v1/queues/\(escape(name))" }
    /// `GET ?job=&name=` → `ListResponse<ArtifactView>`.
    public static let artifacts = "/v1/artifacts"
    /// `GET` → `ArtifactView`.
    public static func artifact(_ id: Int64) -> String { "/v1/artifacts/\(id)" }
    /// `GET` → the artifact's bytes (`application/octet-stream`) when it lives in the control plane's store.
    public static func artifactContent(_ id: Int64) -> String { "/v1/artifacts/\(id)/content" }
    /// `PUT` raw bytes (admin or worker token) → `BlobUploadResponse` (location `cp://blobs/<sha256>`); the server
    /// checks the sha256 and keeps one copy per checksum. `GET` → the bytes (404 when unknown).
    public static func blob(_ sha256: String) -> String { "/v1/blobs/\(escape(sha256))" }

    // MARK: Worker protocol (worker token; each call names its worker id in the body)
    /// `POST` `RegisterWorkerRequest` → `RegisterWorkerResponse`.
    public static let workerRegister = "/v1/worker/register"
    /// `POST` `HeartbeatRequest` → `HeartbeatResponse`.
    public static let workerHeartbeat = "/v1/worker/heartbeat"
    /// `POST` `PollRequest` → `PollResponse` (long-poll up to `waitSeconds`).
    public static let workerPoll = "/v1/worker/poll"
    /// `POST` `ReportBatch` → `ReportBatchResponse`, or 409 `stale_attempt` when every attempt named is stale.
    public static let workerReports = "/v1/worker/reports"
    /// `POST` `DeregisterWorkerRequest` → 204. A clean shutdown: the worker's unfinished attempts are requeued now.
    public static let workerDeregister = "/v1/worker/deregister"

    /// Percent-encodes one path segment (job names are DNS-like, but be safe).
    public static func escape(_ segment: String) -> String {
        var out = ""
        for byte in segment.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
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
