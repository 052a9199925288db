import APITypes
import ClusterModel
import Foundation

// What the stores return: plain Sendable/Codable values the REST layer can map to its API types.

public enum ShardState: String, Codable, Sendable {
    case ok, bad
}

public struct WorkerRecord: Codable, Sendable, Equatable {
    public var id: WorkerID
    public var name: String
    public var resources: Resources
    public var labels: Labels
    public var state: WorkerState
    public var registeredAt: Date
    public var lastHeartbeat: Date
    /// Tasks currently running on the worker.
    public var runningTasks: Int
    /// What its running tasks and the tasks placed on it (not yet claimed) hold.
    public var allocated: Resources = .zero
    public var version: String = ""
    /// The job kinds its executors run.
    public var kinds: [String] = []
    /// The remote shard files its shard cache holds, as its last heartbeat listed them (data locality).
    public var cachedShards: [String] = []
}

public struct JobRecord: Codable, Sendable, Equatable {
    public var id: JobID
    public var name: String
    public var type: String
    /// The job's spec as JSON text.
    public var spec: String
    public var queue: String
    public var priority: Int
    public var replicas: Int
    /// Resources per task.
    public var resources: Resources
    public var nodeSelector: Labels
    public var retryPolicy: RetryPolicy
    public var state: JobState
    public var cancelRequested: Bool
    public var pendingReason: String?
    public var submittedAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Names of the jobs this one waits for.
    public var after: [String]
    /// Task counts by state name ("queued": 3); string keys so the record encodes as a JSON object.
    public var taskCounts: [String: Int]
    /// Why a failed or cancelled job ended: its first failed task's error, else the cancel's reason
    /// ("cancelled by user", "dependency prep failed: out of memory"). Nil for other states.
    public var endReason: String?
}

public struct TaskRecord: Codable, Sendable, Equatable {
    public var id: TaskID
    public var jobID: JobID
    public var index: Int
    public var spec: String
    public var resources: Resources
    public var state: TaskState
    public var attempts: Int
    public var notBefore: Date
    public var placedWorker: WorkerID?
    public var worker: WorkerID?
    public var activeAttempt: AttemptID?
    /// Result JSON text of a succeeded task.
    public var result: String?
    public var error: String?
    public var startedAt: Date?
    public var finishedAt: Date?
    /// The live attempt's last reported progress (0...1) and message.
    public var progress: Double? = nil
    public var progressMessage: String? = nil
}

public struct AttemptRecord: Codable, Sendable, Equatable {
    public var id: AttemptID
    public var task: TaskID
    public var number: Int
    public var worker: WorkerID
    public var workerName: String?
    public var state: AttemptState
    public var leaseDeadline: Date
    public var startedAt: Date
    public var finishedAt: Date?
    public var error: String?
    /// Training tokens lost when the attempt was preempted (since its task's last checkpoint); nil otherwise.
    public var tokensLost: Int64? = nil
}

/// A task handed to a worker under a lease.
public struct TaskLease: Codable, Sendable, Equatable {
    public var task: TaskID
    public var attempt: AttemptID
    /// 1 for the first attempt.
    public var attemptNumber: Int
    public var leaseDeadline: Date
    public var job: JobID
    public var jobName: String
    public var jobType: String
    public var taskIndex: Int
    /// The task's spec (JSON text).
    public var spec: String
    public var resources: Resources
}

public struct EventRecord: Codable, Sendable, Equatable {
    public var id: Int64
    public var at: Date
    /// "job", "task", "tasks" (a batch of one job's tasks: `entityID` is the job, `taskIDs` the tasks), "worker",
    /// "dataset", "shard", "artifact", "queue" or "token".
    public var entity: String
    public var entityID: Int64
    public var job: JobID?
    public var oldState: String?
    public var newState: String
    public var reason: String
    /// Who made the change through the API (`events.actor`): a named token, `admin`, or nil.
    public var actor: String? = nil
    /// The tasks of a batch event (entity "tasks": one job's tasks claimed or completed together), nil otherwise.
    public var taskIDs: [Int64]? = nil
}

public struct TaskLogRecord: Codable, Sendable, Equatable {
    /// Cursor for follow-up reads (`list(job:afterID:)`).
    public var id: Int64
    public var job: JobID
    public var task: TaskID
    public var attempt: AttemptID
    /// The attempt's number within its task (1-based), copied at insert.
    public var attemptNumber: Int
    public var seq: Int64
    public var at: Date
    public var stream: LogStream
    public var line: String
}

public struct MetricRecord: Codable, Sendable, Equatable {
    public var id: Int64
    public var job: JobID
    public var task: TaskID
    public var attempt: AttemptID
    public var name: String
    public var step: Int64
    public var value: Double
    public var at: Date
}

public struct DatasetRecord: Codable, Sendable, Equatable {
    public var id: DatasetID
    public var name: String
    public var location: String
    public var format: String
    public var metadata: String
    public var job: JobID?
    public var createdAt: Date
}

public struct ShardRecord: Codable, Sendable, Equatable {
    public var dataset: DatasetID
    public var index: Int
    public var location: String
    public var sha256: String
    public var bytes: Int64
    public var tokens: Int64
    public var documents: Int64
    public var state: ShardState
    public var badReason: String?
    public var createdAt: Date
    /// The `.idx` blob of a dataset by name; nil when it sits beside the `.bin`.
    public var idx: NewShard.IndexFile? = nil
}

public struct StoredArtifact: Codable, Sendable, Equatable {
    public var id: ArtifactID
    public var job: JobID
    public var task: TaskID?
    public var name: String
    public var kind: String
    public var location: String
    public var sha256: String
    public var bytes: Int64
    public var metadata: String
    public var createdAt: Date
}
