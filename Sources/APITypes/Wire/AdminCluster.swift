// Admin views of workers, events, logs, metrics, datasets, shards and artifacts.

import ClusterModel
import Foundation

public struct WorkerView: Codable, Hashable, Sendable {
    public var id: WorkerID
    public var name: String
    public var state: WorkerState
    public var version: String
    /// What the worker offers in total.
    public var resources: Resources
    /// What its running attempts hold.
    public var allocated: Resources
    public var labels: Labels
    /// Job kinds it has executors for.
    public var kinds: [String]
    public var runningAttempts: Int
    public var registeredAt: Date
    public var lastHeartbeatAt: Date
    /// The remote shard files (URLs of `.bin` files) its shard cache holds, as its last heartbeat listed them; nil
    /// from a control plane older than this field.
    public var cachedShards: [String]?

    public init(
        id: WorkerID, name: String, state: WorkerState, version: String, resources: Resources,
        allocated: Resources = .zero, labels: Labels = [:], kinds: [String] = [], runningAttempts: Int = 0,
        registeredAt: Date, lastHeartbeatAt: Date, cachedShards: [String]? = nil
    ) {
        self.id = id
        self.name = name
        self.state = state
        self.version = version
        self.resources = resources
        self.allocated = allocated
        self.labels = labels
        self.kinds = kinds
        self.runningAttempts = runningAttempts
        self.registeredAt = registeredAt
        self.lastHeartbeatAt = lastHeartbeatAt
        self.cachedShards = cachedShards
    }
}

/// One entry of the audit trail: every state change of a job, task, attempt or worker.
public struct EventView: Codable, Hashable, Sendable {
    /// Increasing; pass the last one seen as `?since=` to get only newer events.
    public var id: Int64
    public var time: Date
    /// Dotted kind: `job.submitted`, `job.cancelled`, `task.queued`, `task.failed`, `task.cancelled`,
    /// `tasks.running` and `tasks.succeeded` (one per job per claim or completion batch, naming its tasks in
    /// `taskIDs`), `worker.registered`, `worker.lost`, `queue.configured`, `queue.deleted`, `token.created`,
    /// `token.revoked`, ...
    public var type: String
    public var jobID: JobID?
    public var jobName: String?
    public var taskID: TaskID?
    public var attemptID: AttemptID?
    public var workerID: WorkerID?
    public var fromState: String?
    public var toState: String?
    public var message: String
    /// Who made the change through the API: a named token's name, or `admin` for the root admin token; nil for
    /// changes the control plane or a worker made.
    public var actor: String?
    /// The tasks a batch event (`tasks.*`) moved together, in id order; nil for every other event.
    public var taskIDs: [TaskID]?

    public init(
        id: Int64, time: Date, type: String, jobID: JobID? = nil, jobName: String? = nil, taskID: TaskID? = nil,
        attemptID: AttemptID? = nil, workerID: WorkerID? = nil, fromState: String? = nil, toState: String? = nil,
        message: String, actor: String? = nil, taskIDs: [TaskID]? = nil
    ) {
        self.id = id
        self.time = time
        self.type = type
        self.jobID = jobID
        self.jobName = jobName
        self.taskID = taskID
        self.attemptID = attemptID
        self.workerID = workerID
        self.fromState = fromState
        self.toState = toState
        self.message = message
        self.actor = actor
        self.taskIDs = taskIDs
    }
}

/// Which output a log line came from.
public enum LogStream: String, Codable, Sendable, CaseIterable {
    case stdout, stderr
    /// Written by the worker daemon about the task (started, cancelled, preempted...).
    case system
}

public struct LogLineView: Codable, Hashable, Sendable {
    /// Global, increasing: `?since=<id>` returns lines after this one (for `opsctl logs -f`).
    public var id: Int64
    public var jobID: JobID
    public var taskID: TaskID
    public var attemptID: AttemptID
    public var attemptNumber: Int
    /// The worker's per-attempt sequence number (1-based).
    public var sequence: Int64
    public var time: Date
    public var stream: LogStream
    public var message: String

    public init(
        id: Int64, jobID: JobID, taskID: TaskID, attemptID: AttemptID, attemptNumber: Int, sequence: Int64,
        time: Date, stream: LogStream, message: String
    ) {
        self.id = id
        self.jobID = jobID
        self.taskID = taskID
        self.attemptID = attemptID
        self.attemptNumber = attemptNumber
        self.sequence = sequence
        self.time = time
        self.stream = stream
        self.message = message
    }
}

/// `GET /v1/jobs/{name}/logs`.
public struct LogsResponse: Codable, Hashable, Sendable {
    public var lines: [LogLineView]
    /// Pass as `?since=` on the next call; equals the request's `since` when there were no new lines.
    public var nextSince: Int64
    /// True when the job is finished and every line has been returned (followers can stop).
    public var complete: Bool

    public init(lines: [LogLineView], nextSince: Int64, complete: Bool) {
        self.lines = lines
        self.nextSince = nextSince
        self.complete = complete
    }
}

public struct MetricPointView: Codable, Hashable, Sendable {
    /// Increasing; `?since=` works as for logs.
    public var id: Int64
    public var jobID: JobID
    public var taskID: TaskID
    public var attemptID: AttemptID
    public var name: String
    public var step: Int64
    public var value: Double
    public var time: Date

    public init(
        id: Int64, jobID: JobID, taskID: TaskID, attemptID: AttemptID, name: String, step: Int64, value: Double,
        time: Date
    ) {
        self.id = id
        self.jobID = jobID
        self.taskID = taskID
        self.attemptID = attemptID
        self.name = name
        self.step = step
        self.value = value
        self.time = time
    }
}

public struct DatasetView: Codable, Hashable, Sendable {
    public var id: DatasetID
    public var name: String
    /// `building` while its producing job runs, `ready` when every shard is registered, `failed`.
    public var state: String
    /// The job that produced it.
    public var jobName: String?
    public var shardCount: Int
    public var tokenCount: Int64
    public var bytes: Int64
    /// Location of the tokenizer (`tokenizer.json`) the shards were made with.
    public var tokenizer: String?
    public var createdAt: Date

    public init(
        id: DatasetID, name: String, state: String, jobName: String? = nil, shardCount: Int = 0,
        tokenCount: Int64 = 0, bytes: Int64 = 0, tokenizer: String? = nil, createdAt: Date
    ) {
        self.id = id
        self.name = name
        self.state = state
        self.jobName = jobName
        self.shardCount = shardCount
        self.tokenCount = tokenCount
        self.bytes = bytes
        self.tokenizer = tokenizer
        self.createdAt = createdAt
    }
}

/// A shard's row holds where it is and its checksum, never its bytes.
public struct ShardView: Codable, Hashable, Sendable {
    public var datasetName: String
    public var index: Int
    public var location: String
    public var sha256: String
    public var bytes: Int64
    public var tokens: Int64
    /// Documents in the shard (absent from servers before tokenize jobs).
    public var documents: Int64?
    public var createdAt: Date
    /// `ok` or `bad` (a checksum or format check failed; streams refuse it); absent from older servers.
    public var state: String?
    /// Why the shard was marked bad.
    public var badReason: String?

    public init(
        datasetName: String, index: Int, location: String, sha256: String, bytes: Int64, tokens: Int64,
        documents: Int64? = nil, createdAt: Date
    ) {
        self.datasetName = datasetName
        self.index = index
        self.location = location
        self.sha256 = sha256
        self.bytes = bytes
        self.tokens = tokens
        self.documents = documents
        self.createdAt = createdAt
    }
}

/// A stored file (checkpoint, tokenizer, pseudo-gradient, report) as registered by a task.
public struct ArtifactView: Codable, Hashable, Sendable {
    public var id: ArtifactID
    public var name: String
    /// Free-form class: `checkpoint`, `tokenizer`, `delta`, `weights`, ...
    public var kind: String?
    public var jobID: JobID?
    public var jobName: String?
    public var taskID: TaskID?
    public var attemptID: AttemptID?
    /// A path on the shared artifact filesystem, or `cp://blobs/<sha256>` for the control plane's store.
    public var location: String
    public var sha256: String
    public var bytes: Int64
    public var metadata: AnyJSON?
    public var createdAt: Date

    public init(
        id: ArtifactID, name: String, kind: String? = nil, jobID: JobID? = nil, jobName: String? = nil,
        taskID: TaskID? = nil, attemptID: AttemptID? = nil, location: String, sha256: String, bytes: Int64,
        metadata: AnyJSON? = nil, createdAt: Date
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.jobID = jobID
        self.jobName = jobName
        self.taskID = taskID
        self.attemptID = attemptID
        self.location = location
        self.sha256 = sha256
        self.bytes = bytes
        self.metadata = metadata
        self.createdAt = createdAt
    }
}
