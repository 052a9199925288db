// Which running tasks a blocked job preempts first, among those it is allowed to preempt (who may be preempted
// at all — strictly lower priority, or a reclaim from a borrowing queue — is decided elsewhere and does not
// change with the policy). Issue 20: a preempted training run recomputes every token since its last
// checkpoint, so taking the run that checkpointed a minute ago instead of the one that checkpointed an hour ago
// saves an hour of a GPU's work (kueue#477 asks for the same). The seeded simulation measures it: see
// docs/scheduler.md, "Checkpoint-aware preemption".
import ClusterModel

/// What preempting a running task now would throw away.
public struct WorkAtRisk: Hashable, Sendable, Codable {
    /// Training tokens consumed since the last checkpoint (0 for work that reports none).
    public var tokens: Int64
    /// Seconds since the last checkpoint, or since the task started when it has none.
    public var seconds: Double

    public init(tokens: Int64, seconds: Double) {
        self.tokens = tokens
        self.seconds = seconds
    }

    public static let none = WorkAtRisk(tokens: 0, seconds: 0)

    /// Saturating: a sum over a gang or a worker's victims cannot trap on a row that reports absurd tokens.
    public func adding(_ other: WorkAtRisk) -> WorkAtRisk {
        WorkAtRisk(tokens: tokens.saturatingAdding(other.tokens), seconds: seconds + other.seconds)
    }
}

/// One candidate victim as the policy compares them.
public struct VictimCandidate: Hashable, Sendable {
    public var work: WorkAtRisk
    public var priority: Int
    public var startedAt: SchedulerTime
    /// The last tie-break, so the order is total and a pass deterministic.
    public var task: TaskID

    public init(work: WorkAtRisk, priority: Int, startedAt: SchedulerTime, task: TaskID) {
        self.work = work
        self.priority = priority
        self.startedAt = startedAt
        self.task = task
    }
}

/// The order in which eligible victims are taken. The default is `SchedulerConfiguration.victimPolicy`.
public enum VictimPolicy: String, Hashable, Sendable, Codable, CaseIterable {
    /// Least work lost first: fewest tokens since the last checkpoint, then fewest seconds since it, then lowest
    /// priority, then most recently started. Tokens come first because they are what is recomputed on the
    /// accelerators; seconds order the work that trains nothing (and runs that have not reported yet).
    case checkpointAware
    /// The order before issue 20: lowest priority, then most recently started (work lost is not considered).
    case priorityOnly

    /// True when `a` is preempted before `b`. A strict weak order (total with the task id), so sorting by it is
    /// deterministic whatever the input order.
    public func preemptsFirst(_ a: VictimCandidate, before b: VictimCandidate) -> Bool {
        if self == .checkpointAware {
            if a.work.tokens != b.work.tokens { return a.work.tokens < b.work.tokens }
            if a.work.seconds != b.work.seconds { return a.work.seconds < b.work.seconds }
        }
        if a.priority != b.priority { return a.priority < b.priority }
        if a.startedAt != b.startedAt { return a.startedAt > b.startedAt }
        return a.task > b.task
    }

    /// True when preempting one option's victims (all of them, a gang member counting as its whole gang) costs
    /// less than another's. `victimTasks`, `highestPriority` and `latestStart` are the priority-only ranking:
    /// fewest tasks disturbed, lowest highest victim priority, latest earliest start.
    public func isCheaper(_ a: VictimSetCost, than b: VictimSetCost) -> Bool {
        if self == .checkpointAware {
            if a.work.tokens != b.work.tokens { return a.work.tokens < b.work.tokens }
            if a.work.seconds != b.work.seconds { return a.work.seconds < b.work.seconds }
        }
        if a.victimTasks != b.victimTasks { return a.victimTasks < b.victimTasks }
        if a.highestPriority != b.highestPriority { return a.highestPriority < b.highestPriority }
        return a.earliestStart > b.earliestStart
    }
}

/// What preempting a set of victims (on one worker, or a group of workers) costs.
public struct VictimSetCost: Hashable, Sendable {
    public var work: WorkAtRisk
    public var victimTasks: Int
    public var highestPriority: Int
    public var earliestStart: SchedulerTime

    public init(work: WorkAtRisk, victimTasks: Int, highestPriority: Int, earliestStart: SchedulerTime) {
        self.work = work
        self.victimTasks = victimTasks
        self.highestPriority = highestPriority
        self.earliestStart = earliestStart
    }

    public static let none = VictimSetCost(
        work: .none, victimTasks: 0, highestPriority: Int.min, earliestStart: .infinity)

    /// Both sets preempted together.
    public func adding(_ other: VictimSetCost) -> VictimSetCost {
        VictimSetCost(
            work: work.adding(other.work), victimTasks: victimTasks + other.victimTasks,
            highestPriority: max(highestPriority, other.highestPriority),
            earliestStart: min(earliestStart, other.earliestStart))
    }
}
