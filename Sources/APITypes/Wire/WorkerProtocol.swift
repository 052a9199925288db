// The worker protocol: register, heartbeat, long-poll for work. Reports are in WorkerReports.swift.
//
// Lifecycle: register → (heartbeat every `heartbeatIntervalSeconds`) ∥ (poll while capacity is free)
// ∥ (report in batches) → deregister. Work is a lease on an attempt: the attempt is live until its
// `leaseDeadline`, which each heartbeat that lists it extends. A worker that stops heartbeating loses its
// leases; their tasks become runnable again as new attempts and its late reports get 409 `stale_attempt`.

import ClusterModel
import Foundation

public struct RegisterWorkerRequest: Codable, Hashable, Sendable {
    /// A stable, human-readable name (host name by default), held by one live worker at a time. Registering
    /// again under it keeps the worker's id only with `workerToken`; a name held by a live (alive or draining)
    /// worker is refused otherwise (409), and a name whose worker is lost or drained goes to a new worker id.
    public var name: String
    public var resources: Resources
    public var labels: Labels
    /// The worker's software version (`opsctl version`).
    public var version: String
    /// Job kinds this worker has executors for; it is only given tasks of these kinds.
    public var kinds: [String]
    /// How many tasks it runs at the same time at most (besides resources).
    public var maxConcurrentTasks: Int
    /// The worker token this worker was given when it last registered under `name` (a restarted daemon reads it
    /// from its state directory): the proof that it is that worker, which keeps its id and token. The join token
    /// alone proves nothing about who is calling. Never logged.
    public var workerToken: String?

    public init(
        name: String, resources: Resources, labels: Labels = [:], version: String, kinds: [String],
        maxConcurrentTasks: Int, workerToken: String? = nil
    ) {
        self.name = name
        self.resources = resources
        self.labels = labels
        self.version = version
        self.kinds = kinds
        self.maxConcurrentTasks = maxConcurrentTasks
        self.workerToken = workerToken
    }
}

public struct RegisterWorkerResponse: Codable, Hashable, Sendable {
    public var workerID: WorkerID
    /// How often to heartbeat.
    public var heartbeatIntervalSeconds: Double
    /// How long a lease lasts without a heartbeat that extends it.
    public var leaseDurationSeconds: Double
    /// A token scoped to this worker for all further calls, when the control plane issues per-worker tokens:
    /// a new one for a new worker id, the one the request proved itself with when the id was kept.
    /// When absent the worker keeps using the token it registered with. Never logged.
    public var workerToken: String?

    public init(
        workerID: WorkerID, heartbeatIntervalSeconds: Double, leaseDurationSeconds: Double, workerToken: String? = nil
    ) {
        self.workerID = workerID
        self.heartbeatIntervalSeconds = heartbeatIntervalSeconds
        self.leaseDurationSeconds = leaseDurationSeconds
        self.workerToken = workerToken
    }
}

/// An attempt the worker holds, as listed in a heartbeat.
public struct HeldAttempt: Codable, Hashable, Sendable {
    public var taskID: TaskID
    public var attemptID: AttemptID
    /// 0...1 when known.
    public var progress: Double?
    /// True when the executor has finished and only the final report is still being delivered: the lease must
    /// stay alive until the report is acknowledged.
    public var finished: Bool

    public init(taskID: TaskID, attemptID: AttemptID, progress: Double? = nil, finished: Bool = false) {
        self.taskID = taskID
        self.attemptID = attemptID
        self.progress = progress
        self.finished = finished
    }
}

public struct HeartbeatRequest: Codable, Hashable, Sendable {
    public var workerID: WorkerID
    public var attempts: [HeldAttempt]
    /// The worker is shutting down and takes no new work.
    public var draining: Bool
    /// URLs of the remote shard files (`.bin`) in the worker's shard cache, most recently used first, for
    /// data locality. Sent when the list changed since the last heartbeat; nil keeps the list on record.
    public var cachedShards: [String]?

    public init(workerID: WorkerID, attempts: [HeldAttempt], draining: Bool = false, cachedShards: [String]? = nil) {
        self.workerID = workerID
        self.attempts = attempts
        self.draining = draining
        self.cachedShards = cachedShards
    }
}

/// A lease the heartbeat extended.
public struct LeaseExtension: Codable, Hashable, Sendable {
    public var attemptID: AttemptID
    public var leaseDeadline: Date

    public init(attemptID: AttemptID, leaseDeadline: Date) {
        self.attemptID = attemptID
        self.leaseDeadline = leaseDeadline
    }
}

/// Stop this attempt now (its job was cancelled); report it with a `FailureReport` of reason `cancelled`.
public struct CancelSignal: Codable, Hashable, Sendable {
    public var taskID: TaskID
    public var attemptID: AttemptID
    public var reason: String

    public init(taskID: TaskID, attemptID: AttemptID, reason: String) {
        self.taskID = taskID
        self.attemptID = attemptID
        self.reason = reason
    }
}

/// Checkpoint, then stop by `graceDeadline`; report a `FailureReport` of reason `preempted` (the task is
/// requeued without using up an attempt). After the deadline the attempt is expired regardless.
public struct PreemptSignal: Codable, Hashable, Sendable {
    public var taskID: TaskID
    public var attemptID: AttemptID
    public var graceDeadline: Date
    public var reason: String

    public init(taskID: TaskID, attemptID: AttemptID, graceDeadline: Date, reason: String) {
        self.taskID = taskID
        self.attemptID = attemptID
        self.graceDeadline = graceDeadline
        self.reason = reason
    }
}

public struct HeartbeatResponse: Codable, Hashable, Sendable {
    /// New deadlines of the live attempts listed in the request.
    public var leases: [LeaseExtension]
    public var cancel: [CancelSignal]
    public var preempt: [PreemptSignal]
    /// Attempts listed in the request that are no longer live (expired, superseded): stop them and drop their reports.
    public var staleAttempts: [AttemptID]
    /// The interval to use from now on (the control plane may slow workers down under load).
    public var heartbeatIntervalSeconds: Double

    public init(
        leases: [LeaseExtension] = [], cancel: [CancelSignal] = [], preempt: [PreemptSignal] = [],
        staleAttempts: [AttemptID] = [], heartbeatIntervalSeconds: Double
    ) {
        self.leases = leases
        self.cancel = cancel
        self.preempt = preempt
        self.staleAttempts = staleAttempts
        self.heartbeatIntervalSeconds = heartbeatIntervalSeconds
    }
}

/// Long-poll for work: the control plane answers at once when it has tasks for this worker, otherwise holds
/// the request up to `waitSeconds` (woken by LISTEN/NOTIFY) and answers with what it has, possibly nothing.
public struct PollRequest: Codable, Hashable, Sendable {
    public var workerID: WorkerID
    /// At most this many assignments (≥ 1). Small tasks are claimed in batches.
    public var maxTasks: Int
    public var waitSeconds: Double
    /// What the worker has free right now; assignments fit in it together.
    public var available: Resources

    /// The `maxTasks` the control plane accepts, on a poll and on a report's `next`.
    public static let maxTasksRange = 1...1024

    public init(workerID: WorkerID, maxTasks: Int, waitSeconds: Double, available: Resources) {
        self.workerID = workerID
        self.maxTasks = maxTasks
        self.waitSeconds = waitSeconds
        self.available = available
    }
}

/// One gang member, as its peers see it.
public struct GangPeer: Codable, Hashable, Sendable {
    public var rank: Int
    public var taskID: TaskID
    public var workerID: WorkerID?
    public var workerName: String?

    public init(rank: Int, taskID: TaskID, workerID: WorkerID? = nil, workerName: String? = nil) {
        self.rank = rank
        self.taskID = taskID
        self.workerID = workerID
        self.workerName = workerName
    }
}

/// Present on tasks of jobs with `replicas > 1`.
public struct GangInfo: Codable, Hashable, Sendable {
    /// This task's rank, 0..<size.
    public var rank: Int
    public var size: Int
    /// All members including this one, by rank.
    public var peers: [GangPeer]

    public init(rank: Int, size: Int, peers: [GangPeer]) {
        self.rank = rank
        self.size = size
        self.peers = peers
    }
}

/// A leased task: everything a worker needs to run one attempt.
public struct TaskAssignment: Codable, Hashable, Sendable {
    public var taskID: TaskID
    public var attemptID: AttemptID
    /// 1-based.
    public var attemptNumber: Int
    public var maxAttempts: Int
    public var leaseDeadline: Date
    public var jobID: JobID
    public var jobName: String
    /// The job kind; selects the executor.
    public var jobType: String
    /// 0-based index of the task within its job.
    public var taskIndex: Int
    public var taskCount: Int
    /// The job's settings for its kind: the manifest's `spec.<type>` section (`{"seconds": 2}` for
    /// `type: sleep`), plus per-task fields the control plane adds (e.g. the input file of this task). The
    /// executor decodes what it needs and reports a non-retryable failure for bad settings. Executors read it
    /// through `settings`, which also accepts the whole `spec` object with the section inside.
    public var spec: AnyJSON
    /// What this task was granted on the worker.
    public var resources: Resources
    public var gang: GangInfo?

    public init(
        taskID: TaskID, attemptID: AttemptID, attemptNumber: Int, maxAttempts: Int, leaseDeadline: Date,
        jobID: JobID, jobName: String, jobType: String, taskIndex: Int = 0, taskCount: Int = 1,
        spec: AnyJSON, resources: Resources, gang: GangInfo? = nil
    ) {
        self.taskID = taskID
        self.attemptID = attemptID
        self.attemptNumber = attemptNumber
        self.maxAttempts = maxAttempts
        self.leaseDeadline = leaseDeadline
        self.jobID = jobID
        self.jobName = jobName
        self.jobType = jobType
        self.taskIndex = taskIndex
        self.taskCount = taskCount
        self.spec = spec
        self.resources = resources
        self.gang = gang
    }
}

extension TaskAssignment {
    /// The kind's settings: `spec[jobType]` when `spec` holds the whole manifest spec with a section for the
    /// kind, else `spec` itself.
    public var settings: AnyJSON {
        if case .object(let members) = spec, let section = members[jobType], case .object = section { return section }
        return spec
    }
}

public struct PollResponse: Codable, Hashable, Sendable {
    public var assignments: [TaskAssignment]
    public init(assignments: [TaskAssignment]) { self.assignments = assignments }
}

/// Clean shutdown: the control plane requeues every live attempt of the worker now (without using up an
/// attempt) instead of waiting for their leases to expire, refuses its further polls, and marks it offline.
/// `releasedAttempts` lists the attempts the worker knows it is handing back.
public struct DeregisterWorkerRequest: Codable, Hashable, Sendable {
    public var workerID: WorkerID
    public var releasedAttempts: [AttemptID]

    public init(workerID: WorkerID, releasedAttempts: [AttemptID] = []) {
        self.workerID = workerID
        self.releasedAttempts = releasedAttempts
    }
}
