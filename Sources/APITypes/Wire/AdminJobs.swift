// Admin views of jobs and tasks, and manifest submission. JSON keys are the Swift property names.

import ClusterModel
import Foundation

/// `POST /v1/manifests`: the manifest documents of one file (YAML converted to JSON by `opsctl`), submitted
/// all-or-nothing: either every job is created or none is (a validation error names the document and field).
public struct SubmitManifestsRequest: Codable, Hashable, Sendable {
    /// Each element is one manifest document (`{apiVersion, kind: Job, metadata: {name}, spec: {...}}`), or a
    /// `kind: Queue` document, applied in the same transaction as the jobs.
    public var documents: [AnyJSON]
    /// Validate only; create nothing.
    public var dryRun: Bool
    /// Where the documents came from (a file name), used in error messages only.
    public var source: String?

    public init(documents: [AnyJSON], dryRun: Bool = false, source: String? = nil) {
        self.documents = documents
        self.dryRun = dryRun
        self.source = source
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        documents = try c.decode([AnyJSON].self, forKey: .documents)
        dryRun = try c.decodeIfPresent(Bool.self, forKey: .dryRun) ?? false
        source = try c.decodeIfPresent(String.self, forKey: .source)
    }
}

/// What submitting did to each job named in the request.
public enum SubmitOutcome: String, Codable, Sendable, CaseIterable {
    /// A new job was created.
    case created
    /// A job with this name and an identical spec exists already; nothing changed (re-applying is idempotent).
    case unchanged
    /// `dryRun`: the document is valid; nothing was created.
    case validated
}

public struct SubmittedJob: Codable, Hashable, Sendable {
    public var outcome: SubmitOutcome
    public var job: JobView

    public init(outcome: SubmitOutcome, job: JobView) {
        self.outcome = outcome
        self.job = job
    }
}

/// 201 (or 200 when nothing was created).
public struct SubmitManifestsResponse: Codable, Hashable, Sendable {
    public var jobs: [SubmittedJob]
    /// The `kind: Queue` documents applied (configured, or validated on a dry run); nil when there were none.
    public var queues: [QueueView]?
    /// The `kind: WorkerPool` documents applied (configured, or validated on a dry run); nil when there were none.
    public var pools: [WorkerPoolView]?
    public init(jobs: [SubmittedJob], queues: [QueueView]? = nil, pools: [WorkerPoolView]? = nil) {
        self.jobs = jobs
        self.queues = queues
        self.pools = pools
    }
}

/// How many of a job's tasks are in each state.
public struct TaskCounts: Codable, Hashable, Sendable {
    public var blocked: Int
    public var queued: Int
    public var running: Int
    public var succeeded: Int
    public var failed: Int
    public var cancelled: Int

    public init(
        blocked: Int = 0, queued: Int = 0, running: Int = 0, succeeded: Int = 0, failed: Int = 0, cancelled: Int = 0
    ) {
        self.blocked = blocked
        self.queued = queued
        self.running = running
        self.succeeded = succeeded
        self.failed = failed
        self.cancelled = cancelled
    }

    /// Counts the given task states.
    public init(_ states: [TaskState]) {
        self.init()
        for state in states { self[state] += 1 }
    }

    public subscript(state: TaskState) -> Int {
        get {
            switch state {
            case .blocked: return blocked
            case .queued: return queued
            case .running: return running
            case .succeeded: return succeeded
            case .failed: return failed
            case .cancelled: return cancelled
            }
        }
        set {
            switch state {
            case .blocked: blocked = newValue
            case .queued: queued = newValue
            case .running: running = newValue
            case .succeeded: succeeded = newValue
            case .failed: failed = newValue
            case .cancelled: cancelled = newValue
            }
        }
    }

    public var total: Int { blocked + queued + running + succeeded + failed + cancelled }
    /// Tasks in a terminal state.
    public var finished: Int { succeeded + failed + cancelled }
}

/// One job as the admin API shows it.
public struct JobView: Codable, Hashable, Sendable {
    public var id: JobID
    /// `metadata.name`: unique, used in every route.
    public var name: String
    /// The job kind (`spec.type`): the executor that runs its tasks (`noop`, `sleep`, `tokenize`, `train`...).
    public var type: String
    public var state: JobState
    public var queue: String
    public var priority: Int
    /// Gang size: tasks that must run together on distinct workers (1 = no gang).
    public var replicas: Int
    /// Names of the jobs this one waits for (`spec.after`).
    public var after: [String]
    public var tasks: TaskCounts
    /// Why the job is not running yet, in words ("waiting for job tokenize", "no worker has gpu-h100=8").
    public var pendingReason: String?
    public var cancelRequested: Bool
    public var submittedAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Why the job failed or was cancelled: its first failed task's error, else the cancel's reason ("cancelled by
    /// user", "dependency prep failed: out of memory").
    public var failureMessage: String?
    /// The manifest document as submitted (only on `GET /v1/jobs/{name}`).
    public var manifest: AnyJSON?
    /// Results of succeeded tasks (only on `GET /v1/jobs/{name}`).
    public var results: [TaskResultView]?
    /// The latest value of each metric name (only on `GET /v1/jobs/{name}`), for progress displays.
    public var latestMetrics: [MetricPointView]?
    /// Artifacts the job's tasks registered (only on `GET /v1/jobs/{name}`).
    public var artifacts: [ArtifactView]?

    public init(
        id: JobID, name: String, type: String, state: JobState, queue: String = "default", priority: Int = 0,
        replicas: Int = 1, after: [String] = [], tasks: TaskCounts = TaskCounts(), pendingReason: String? = nil,
        cancelRequested: Bool = false, submittedAt: Date, startedAt: Date? = nil, finishedAt: Date? = nil,
        failureMessage: String? = nil, manifest: AnyJSON? = nil, results: [TaskResultView]? = nil,
        latestMetrics: [MetricPointView]? = nil, artifacts: [ArtifactView]? = nil
    ) {
        self.id = id
        self.name = name
        self.type = type
        self.state = state
        self.queue = queue
        self.priority = priority
        self.replicas = replicas
        self.after = after
        self.tasks = tasks
        self.pendingReason = pendingReason
        self.cancelRequested = cancelRequested
        self.submittedAt = submittedAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.failureMessage = failureMessage
        self.manifest = manifest
        self.results = results
        self.latestMetrics = latestMetrics
        self.artifacts = artifacts
    }
}

/// The result a task's executor returned.
public struct TaskResultView: Codable, Hashable, Sendable {
    public var taskID: TaskID
    public var index: Int
    public var result: AnyJSON

    public init(taskID: TaskID, index: Int, result: AnyJSON) {
        self.taskID = taskID
        self.index = index
        self.result = result
    }
}

public struct AttemptView: Codable, Hashable, Sendable {
    public var id: AttemptID
    /// 1-based attempt number within the task.
    public var number: Int
    public var workerID: WorkerID
    public var workerName: String?
    public var state: AttemptState
    public var leaseDeadline: Date
    public var startedAt: Date
    public var finishedAt: Date?
    /// The failure / expiry / preemption message.
    public var message: String?
    /// For a preempted attempt that reported training tokens: those it had consumed since its task's last
    /// checkpoint, which the next attempt trains again.
    public var tokensLost: Int64?

    public init(
        id: AttemptID, number: Int, workerID: WorkerID, workerName: String? = nil, state: AttemptState,
        leaseDeadline: Date, startedAt: Date, finishedAt: Date? = nil, message: String? = nil, tokensLost: Int64? = nil
    ) {
        self.id = id
        self.number = number
        self.workerID = workerID
        self.workerName = workerName
        self.state = state
        self.leaseDeadline = leaseDeadline
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.message = message
        self.tokensLost = tokensLost
    }
}

public struct TaskView: Codable, Hashable, Sendable {
    public var id: TaskID
    public var jobID: JobID
    public var jobName: String
    /// 0-based index of the task within its job (for a gang: its rank).
    public var index: Int
    public var state: TaskState
    /// Oldest first.
    public var attempts: [AttemptView]
    /// The worker holding the live attempt, if running.
    public var workerID: WorkerID?
    /// 0...1, from the latest progress report.
    public var progress: Double?
    public var progressMessage: String?
    /// When queued after a failure: the task is not leased again before this time (retry backoff).
    public var notBefore: Date?
    public var createdAt: Date
    public var updatedAt: Date
    public var result: AnyJSON?
    public var lastError: String?

    public init(
        id: TaskID, jobID: JobID, jobName: String, index: Int, state: TaskState, attempts: [AttemptView] = [],
        workerID: WorkerID? = nil, progress: Double? = nil, progressMessage: String? = nil, notBefore: Date? = nil,
        createdAt: Date, updatedAt: Date, result: AnyJSON? = nil, lastError: String? = nil
    ) {
        self.id = id
        self.jobID = jobID
        self.jobName = jobName
        self.index = index
        self.state = state
        self.attempts = attempts
        self.workerID = workerID
        self.progress = progress
        self.progressMessage = progressMessage
        self.notBefore = notBefore
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.result = result
        self.lastError = lastError
    }
}
