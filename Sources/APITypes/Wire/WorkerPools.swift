// Worker pools on the wire (issue 19; docs/worker-pools.md): `GET /v1/pools` and `GET /v1/pools/{name}`, what
// `opsctl get pools` and `opsctl describe pool` show.

import ClusterModel
import Foundation

public struct WorkerPoolView: Codable, Hashable, Sendable {
    public var name: String
    public var spec: WorkerPoolSpec
    /// Nodes of the pool's Slurm jobs still queued or running at the autoscaler's last decision.
    public var currentNodes: Int
    /// Nodes after that decision's submissions and cancellations.
    public var desiredNodes: Int
    /// Alive workers registered with the pool's label.
    public var aliveWorkers: Int
    /// The pool's Slurm jobs not yet seen to end, oldest first.
    public var slurmJobs: [PoolSlurmJobView]
    /// Why the pool does not grow though work waits (maxNodes reached, a gang larger than the pool); nil when not.
    public var blockedReason: String?
    /// The latest scale decisions, newest first (only in `GET /v1/pools/{name}`; the list leaves them out).
    public var decisions: [PoolDecisionView]?
    /// When the autoscaler last looked at the pool; nil before its first look.
    public var scaledAt: Date?
    public var updatedAt: Date

    public init(
        name: String, spec: WorkerPoolSpec, currentNodes: Int, desiredNodes: Int, aliveWorkers: Int,
        slurmJobs: [PoolSlurmJobView], blockedReason: String?, decisions: [PoolDecisionView]?, scaledAt: Date?,
        updatedAt: Date
    ) {
        self.name = name
        self.spec = spec
        self.currentNodes = currentNodes
        self.desiredNodes = desiredNodes
        self.aliveWorkers = aliveWorkers
        self.slurmJobs = slurmJobs
        self.blockedReason = blockedReason
        self.decisions = decisions
        self.scaledAt = scaledAt
        self.updatedAt = updatedAt
    }
}

public struct PoolSlurmJobView: Codable, Hashable, Sendable {
    /// Slurm's job id (`squeue`'s `JOBID`).
    public var id: String
    public var nodes: Int
    /// `pending` (queued in Slurm) or `running`.
    public var state: String
    public var submittedAt: Date

    public init(id: String, nodes: Int, state: String, submittedAt: Date) {
        self.id = id
        self.nodes = nodes
        self.state = state
        self.submittedAt = submittedAt
    }
}

/// What one scale decision did.
public enum PoolDecisionAction: String, Codable, Hashable, Sendable, CaseIterable {
    /// `sbatch`: a Slurm job of `nodes` nodes.
    case submit
    /// `scancel` by the autoscaler.
    case cancel
    /// A Slurm job ended outside the pool (external `scancel`, its time limit, a node failure).
    case ended
    /// `sbatch`, `squeue` or `scancel` failed; the reason is its error.
    case failed
}

public struct PoolDecisionView: Codable, Hashable, Sendable {
    public var at: Date
    public var action: PoolDecisionAction
    public var slurmJob: String?
    public var nodes: Int
    public var reason: String

    public init(at: Date, action: PoolDecisionAction, slurmJob: String?, nodes: Int, reason: String) {
        self.at = at
        self.action = action
        self.slurmJob = slurmJob
        self.nodes = nodes
        self.reason = reason
    }
}
