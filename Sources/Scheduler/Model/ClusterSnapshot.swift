// What the scheduler sees: a consistent snapshot of the cluster, taken by the control plane at the start of a pass.
import ClusterModel

/// Seconds on a clock the caller chooses (the control plane uses the database clock; tests use small integers).
public typealias SchedulerTime = Double

/// A worker as the scheduler sees it.
public struct WorkerSnapshot: Hashable, Sendable, Codable {
    public var id: WorkerID
    public var capacity: Resources
    public var labels: Labels
    /// Dead or draining workers get no new work; their allocations are ignored.
    public var isAlive: Bool
    /// Keys of the dataset shards this worker holds in its local cache (for data locality).
    public var cachedShards: [String]

    public init(
        id: WorkerID, capacity: Resources, labels: Labels = [:], isAlive: Bool = true, cachedShards: [String] = []
    ) {
        self.id = id
        self.capacity = capacity
        self.labels = labels
        self.isAlive = isAlive
        self.cachedShards = cachedShards
    }
}

/// A task that holds resources on a worker right now.
public struct RunningAllocation: Hashable, Sendable, Codable {
    public var task: TaskID
    public var job: JobID
    public var worker: WorkerID
    public var resources: Resources
    public var priority: Int
    public var queue: String
    public var startedAt: SchedulerTime
    public var isPreemptible: Bool
    /// Members of a gang are preempted together: a gang that loses one member cannot go on.
    public var isGangMember: Bool
    /// Set once the task has been told to checkpoint and leave; it still holds its resources until then.
    public var preemptionDeadline: SchedulerTime?
    /// Training tokens the task consumed since its last checkpoint, as its trainer last reported them; nil when
    /// it reports none (work that trains nothing, or a run that has not reported since it resumed). Preempting
    /// it now recomputes these tokens.
    public var tokensSinceCheckpoint: Int64?
    /// When the task's last checkpoint was registered; nil when it has none since it started, so everything since
    /// `startedAt` would be done again.
    public var lastCheckpointAt: SchedulerTime?

    public init(
        task: TaskID, job: JobID, worker: WorkerID, resources: Resources, priority: Int = 0, queue: String,
        startedAt: SchedulerTime, isPreemptible: Bool = true, isGangMember: Bool = false,
        preemptionDeadline: SchedulerTime? = nil, tokensSinceCheckpoint: Int64? = nil,
        lastCheckpointAt: SchedulerTime? = nil
    ) {
        self.task = task
        self.job = job
        self.worker = worker
        self.resources = resources
        self.priority = priority
        self.queue = queue
        self.startedAt = startedAt
        self.isPreemptible = isPreemptible
        self.isGangMember = isGangMember
        self.preemptionDeadline = preemptionDeadline
        self.tokensSinceCheckpoint = tokensSinceCheckpoint
        self.lastCheckpointAt = lastCheckpointAt
    }

    /// What preempting this task at `now` would throw away (`VictimPolicy` compares it).
    public func workAtRisk(now: SchedulerTime) -> WorkAtRisk {
        let since = max(startedAt, lastCheckpointAt ?? startedAt)
        return WorkAtRisk(tokens: max(0, tokensSinceCheckpoint ?? 0), seconds: max(0, now - since))
    }
}

/// A soft preference for workers carrying a label; higher weights win.
public struct PreferredLabel: Hashable, Sendable, Codable {
    public var key: String
    public var value: String
    public var weight: Int

    public init(key: String, value: String, weight: Int = 1) {
        self.key = key
        self.value = value
        self.weight = weight
    }
}

/// A job with tasks waiting for placement. All tasks of a job ask for the same resources.
public struct PendingJob: Hashable, Sendable, Codable {
    public var id: JobID
    public var queue: String
    /// Larger runs first and may preempt strictly smaller.
    public var priority: Int
    /// Submission order within the queue (ties broken by job id).
    public var submissionSequence: Int64
    /// The tasks still waiting. For a gang this is every member: gangs are placed all or nothing.
    public var tasks: [TaskID]
    /// All tasks on distinct workers at once, or none.
    public var isGang: Bool
    public var perTask: Resources
    /// Labels a worker must carry.
    public var nodeSelector: Labels
    /// Labels a worker should preferably carry.
    public var preferredLabels: [PreferredLabel]
    /// For a gang: all members on workers sharing one value of this label (e.g. `rack`).
    public var packBy: String?
    /// Shard keys the tasks will read; workers caching them are preferred.
    public var wantedShards: [String]
    /// Retry backoff: not placed before this time.
    public var notBefore: SchedulerTime?
    /// The job trains a model (consumes training tokens), so its queue's `tokensPerDay` applies to it.
    public var trainsTokens: Bool
    /// A train job with `requireDecontaminated`: what its admission check (`DecontaminationRule`) decides on.
    /// Nil: no check.
    public var decontamination: DecontaminationFacts? = nil

    public init(
        id: JobID, queue: String, priority: Int = 0, submissionSequence: Int64, tasks: [TaskID],
        isGang: Bool = false, perTask: Resources, nodeSelector: Labels = [:],
        preferredLabels: [PreferredLabel] = [], packBy: String? = nil, wantedShards: [String] = [],
        notBefore: SchedulerTime? = nil, trainsTokens: Bool = false
    ) {
        self.id = id
        self.queue = queue
        self.priority = priority
        self.submissionSequence = submissionSequence
        self.tasks = tasks
        self.isGang = isGang
        self.perTask = perTask
        self.nodeSelector = nodeSelector
        self.preferredLabels = preferredLabels
        self.packBy = packBy
        self.wantedShards = wantedShards
        self.notBefore = notBefore
        self.trainsTokens = trainsTokens
    }
}

public struct ClusterSnapshot: Hashable, Sendable, Codable {
    public var now: SchedulerTime
    public var workers: [WorkerSnapshot]
    public var allocations: [RunningAllocation]
    public var pendingJobs: [PendingJob]
    public var queues: [QueueSpec]
    /// The reservations of the previous pass (`SchedulingDecisions.reservations`), so a waiting gang keeps the
    /// workers it is draining instead of starting over each pass.
    public var previousReservations: [Reservation]
    /// Per queue name: training tokens its jobs consumed today (the control plane's day: UTC). Counted in fair
    /// share and against `QueueSpec.tokensPerDay`; a queue left out consumed none.
    public var tokensConsumedToday: [String: Int64]

    public init(
        now: SchedulerTime, workers: [WorkerSnapshot], allocations: [RunningAllocation] = [],
        pendingJobs: [PendingJob], queues: [QueueSpec], previousReservations: [Reservation] = [],
        tokensConsumedToday: [String: Int64] = [:]
    ) {
        self.now = now
        self.workers = workers
        self.allocations = allocations
        self.pendingJobs = pendingJobs
        self.queues = queues
        self.previousReservations = previousReservations
        self.tokensConsumedToday = tokensConsumedToday
    }
}
