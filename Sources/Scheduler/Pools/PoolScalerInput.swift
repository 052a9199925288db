// What the pool scaler sees of one worker pool: the work waiting that no worker can take, the pool's workers and
// the pool's Slurm jobs. Built by the control plane's autoscaler from the last scheduling pass and `squeue`;
// tests build it by hand.
import ClusterModel

/// A job the last scheduling pass could not place for want of workers (`neverFits`, `insufficientCapacity`).
public struct PoolDemand: Hashable, Sendable {
    public var job: JobID
    /// Tasks waiting; for a gang, every member (one worker each, all at once).
    public var tasks: Int
    public var isGang: Bool
    public var perTask: Resources
    public var nodeSelector: Labels
    public var packBy: String?

    public init(
        job: JobID, tasks: Int, isGang: Bool = false, perTask: Resources, nodeSelector: Labels = [:],
        packBy: String? = nil
    ) {
        self.job = job
        self.tasks = tasks
        self.isGang = isGang
        self.perTask = perTask
        self.nodeSelector = nodeSelector
        self.packBy = packBy
    }
}

/// An alive worker of the pool (it registered with the pool's labels).
public struct PoolWorker: Hashable, Sendable {
    public var id: WorkerID
    /// The Slurm job it runs in (its `slurm-job` label).
    public var slurmJob: String
    /// Since when it has held no task; nil while it holds one.
    public var idleSince: SchedulerTime?

    public init(id: WorkerID, slurmJob: String, idleSince: SchedulerTime?) {
        self.id = id
        self.slurmJob = slurmJob
        self.idleSince = idleSince
    }
}

/// A Slurm job of the pool as `squeue` shows it.
public struct PoolSlurmJob: Hashable, Sendable {
    public enum State: String, Hashable, Sendable, Codable {
        /// Queued in Slurm (or configuring its nodes): no worker can have started yet.
        case pending
        case running
    }

    public var id: String
    public var nodes: Int
    public var state: State

    public init(id: String, nodes: Int, state: State) {
        self.id = id
        self.nodes = nodes
        self.state = state
    }
}

public struct PoolScalerInput: Hashable, Sendable {
    public var pool: WorkerPoolSpec
    public var now: SchedulerTime
    public var demand: [PoolDemand]
    public var workers: [PoolWorker]
    /// The pool's Slurm jobs still queued or running, as `squeue` lists them.
    public var slurmJobs: [PoolSlurmJob]
    /// Slurm jobs the store holds as live (submitted, not yet seen to end); those missing from `slurmJobs` ended
    /// outside the pool.
    public var recordedSlurmJobs: [String]

    public init(
        pool: WorkerPoolSpec, now: SchedulerTime, demand: [PoolDemand], workers: [PoolWorker],
        slurmJobs: [PoolSlurmJob], recordedSlurmJobs: [String] = []
    ) {
        self.pool = pool
        self.now = now
        self.demand = demand
        self.workers = workers
        self.slurmJobs = slurmJobs
        self.recordedSlurmJobs = recordedSlurmJobs
    }
}

/// One thing the autoscaler does to Slurm (or to its records), with the reason it is recorded with.
public enum PoolAction: Hashable, Sendable {
    /// `sbatch --nodes=nodes`: one Slurm job, one worker per node. A gang's members share one job.
    case submit(nodes: Int, reason: String)
    /// `scancel`.
    case cancel(slurmJob: String, nodes: Int, reason: String)
    /// A recorded Slurm job `squeue` no longer lists: it ended outside the pool (scancel by someone else, its
    /// time limit, a node failure). Its workers stop heartbeating and are handled as lost workers.
    case ended(slurmJob: String, reason: String)

    public var reason: String {
        switch self {
        case .submit(_, let reason), .cancel(_, _, let reason), .ended(_, let reason): reason
        }
    }
}

public struct PoolScalingPlan: Hashable, Sendable {
    public var actions: [PoolAction]
    /// Nodes held or asked for now: every node of every queued or running Slurm job of the pool.
    public var currentNodes: Int
    /// Nodes after the actions.
    public var desiredNodes: Int
    /// Why the pool does not grow though work waits (at `maxNodes`; a gang larger than the pool), nil when not.
    public var blockedReason: String?
}
