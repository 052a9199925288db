// What one scheduling pass decides. The control plane commits all of it in one transaction.
import ClusterModel

public struct Placement: Hashable, Sendable, Codable {
    public var task: TaskID
    public var job: JobID
    public var worker: WorkerID

    public init(task: TaskID, job: JobID, worker: WorkerID) {
        self.task = task
        self.job = job
        self.worker = worker
    }
}

public enum PreemptionReason: Hashable, Sendable, Codable {
    /// A job of strictly higher priority needs the room.
    case higherPriority(preemptorPriority: Int, victimPriority: Int)
    /// The victim's queue is over its fair share (borrowing) and `claimingQueue`, under its share, needs the room back.
    case reclaim(claimingQueue: String, victimQueue: String, victimQueueShare: Double, victimQueueFairShare: Double)
}

/// A running task told to checkpoint and leave; it is requeued (not failed) once the grace period ends or it exits.
public struct Preemption: Hashable, Sendable, Codable {
    public var victim: TaskID
    public var victimJob: JobID
    public var worker: WorkerID
    public var preemptor: JobID
    public var reason: PreemptionReason
    public var gracePeriodEndsAt: SchedulerTime

    public init(
        victim: TaskID, victimJob: JobID, worker: WorkerID, preemptor: JobID, reason: PreemptionReason,
        gracePeriodEndsAt: SchedulerTime
    ) {
        self.victim = victim
        self.victimJob = victimJob
        self.worker = worker
        self.preemptor = preemptor
        self.reason = reason
        self.gracePeriodEndsAt = gracePeriodEndsAt
    }
}

public enum ReservationKind: String, Hashable, Sendable, Codable {
    /// The job waits for running work on these workers to finish; nothing new may take its room there.
    case waitingForCapacity
    /// The job preempted tasks on these workers and waits for them to leave.
    case waitingForPreemptedTasks
}

/// Room held on specific workers for a blocked job: `perTask` on each worker. Backfill may use what is left beside it.
public struct Reservation: Hashable, Sendable, Codable {
    public var job: JobID
    public var workers: [WorkerID]
    public var perTask: Resources
    public var kind: ReservationKind

    public init(job: JobID, workers: [WorkerID], perTask: Resources, kind: ReservationKind) {
        self.job = job
        self.workers = workers
        self.perTask = perTask
        self.kind = kind
    }
}

/// Counts behind "needs N workers ...; M free match".
public struct CapacityShortfall: Hashable, Sendable, Codable {
    public var workersNeeded: Int
    public var perTask: Resources
    public var nodeSelector: Labels
    public var packBy: String?
    /// Alive workers matching the selector with room for one task now (for `packBy`: the most in any one group).
    public var freeMatching: Int
    /// Workers that would have room but for reservations held by other blocked jobs.
    public var heldByReservations: Int
}

/// One reason a job waits. A job may wait for several.
public enum PendingCause: Hashable, Sendable, Codable {
    case backoff(until: SchedulerTime)
    case unknownQueue(String)
    /// The queue's quota would be exceeded in `resource` (e.g. "gpu-h100", "cpu", "memory").
    case quotaExceeded(queue: String, resource: String, used: Int64, requested: Int64, quota: Int64)
    /// No alive worker could ever hold one task, even empty.
    /// Even idle, fewer than `workersNeeded` alive workers (in one packing group) could hold a task.
    case neverFits(perTask: Resources, nodeSelector: Labels, workersNeeded: Int, packBy: String?, couldEverMatch: Int)
    case insufficientCapacity(CapacityShortfall)
    case waitingForPreemptedTasks(count: Int, gracePeriodEndsAt: SchedulerTime)
    case holdingReservation(workers: Int)
    case queueOverShare(queue: String, share: Double, fairShare: Double)
    /// A train job's queue has consumed its training tokens for the day (`QueueSpec.tokensPerDay`).
    case tokenQuotaExceeded(queue: String, consumedToday: Int64, tokensPerDay: Int64)
    /// A train job with `requireDecontaminated`: some training dataset was not decontaminated against some eval
    /// it declares (`DecontaminationRule`). Held before fair share: it neither reserves nor preempts.
    case notDecontaminated([DecontaminationGap])
}

public struct PendingReason: Hashable, Sendable, Codable, CustomStringConvertible {
    public var job: JobID
    public var causes: [PendingCause]
    /// The causes as one line for `opsctl describe job` and the API. Rendered on demand: a pass over a
    /// saturated cluster leaves tens of thousands of reasons, most never shown.
    public var text: String { PendingReasonText.render(causes) }

    public init(job: JobID, causes: [PendingCause]) {
        self.job = job
        self.causes = causes
    }

    public var description: String { "job \(job): \(text)" }
}

public struct PassStatistics: Hashable, Sendable, Codable {
    public var workersConsidered = 0
    public var jobsConsidered = 0
    public var tasksPlaced = 0
    public var gangsPlaced = 0
    public var preemptionAttempts = 0
    public var jobsPending = 0
    public init() {}
}

public struct SchedulingDecisions: Hashable, Sendable, Codable {
    public var placements: [Placement] = []
    public var preemptions: [Preemption] = []
    public var reservations: [Reservation] = []
    public var pending: [PendingReason] = []
    public var statistics = PassStatistics()

    public init() {}

    public func pendingReason(for job: JobID) -> PendingReason? { pending.first { $0.job == job } }
}
