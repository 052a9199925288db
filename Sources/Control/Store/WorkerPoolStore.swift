import APITypes
import ClusterModel
import Foundation
import Postgres

/// A stored pool: its definition and the autoscaler's last look at it.
public struct WorkerPoolRecord: Sendable, Equatable {
    public var spec: WorkerPoolSpec
    public var currentNodes: Int
    public var desiredNodes: Int
    public var blockedReason: String?
    public var scaledAt: Date?
    public var updatedAt: Date
    public var name: String { spec.name }
}

/// A Slurm job of a pool, from submission until it is seen to end.
public struct PoolSlurmJobRecord: Sendable, Equatable {
    public var id: String
    public var nodes: Int
    /// `pending` or `running` while live; `cancelled` or `ended` after.
    public var state: String
    public var submittedAt: Date
}

/// One scale decision to record.
public struct PoolDecision: Sendable, Equatable {
    public var action: PoolDecisionAction
    public var slurmJob: String?
    public var nodes: Int
    public var reason: String

    public init(action: PoolDecisionAction, slurmJob: String? = nil, nodes: Int = 0, reason: String) {
        self.action = action
        self.slurmJob = slurmJob
        self.nodes = nodes
        self.reason = reason
    }
}

/// Worker pools (`worker_pools`, `worker_pool_slurm_jobs`, `worker_pool_decisions`): definitions upserted by
/// `POST /v1/manifests`; sizes, Slurm jobs and decisions written only by the leader's `PoolAutoscaler`, each
/// write fenced by its epoch.
public struct WorkerPoolStore: Sendable {
    public let pool: PostgresPool
    public init(pool: PostgresPool) { self.pool = pool }

    /// Creates or replaces the pools, in one transaction.
    @discardableResult
    public func upsert(_ pools: [WorkerPoolSpec]) throws -> [WorkerPoolRecord] {
        try pool.idempotentTransaction { c in
            try pools.map { spec in
                let json = String(decoding: try WireCoding.encode(spec), as: UTF8.self)
                return try WorkerPoolRecord(row: try c.queryOne(WorkerPoolSQL.upsert, [.text(spec.name), .json(json)]))
            }
        }
    }

    public func list() throws -> [WorkerPoolRecord] {
        try pool.withConnection { try $0.query(WorkerPoolSQL.all).map(WorkerPoolRecord.init(row:)) }
    }

    public func pool(named name: String) throws -> WorkerPoolRecord? {
        try pool.withConnection {
            try $0.queryFirst(WorkerPoolSQL.byName, [.text(name)]).map(WorkerPoolRecord.init(row:))
        }
    }

    public func liveSlurmJobs(of name: String) throws -> [PoolSlurmJobRecord] {
        try pool.withConnection { c in
            try c.query(WorkerPoolSlurmJobSQL.live, [.text(name)]).map(PoolSlurmJobRecord.init(row:))
        }
    }

    /// Alive workers per pool name.
    public func aliveWorkers() throws -> [String: Int] {
        try pool.withConnection { c in
            var counts: [String: Int] = [:]
            for row in try c.query(WorkerPoolSQL.aliveWorkers, [.text(WorkerPoolSpec.poolLabel)]) {
                counts[try row.string("pool")] = try row.int("n")
            }
            return counts
        }
    }

    public func latestDecisions(of name: String, limit: Int) throws -> [PoolDecisionView] {
        try pool.withConnection { c in
            try c.query(WorkerPoolDecisionSQL.latest, [.text(name), .int(Int64(limit))]).map(
                PoolDecisionView.init(row:))
        }
    }

    /// The epoch the autoscaler must still lead with; false when a later leader took over (write nothing).
    public func isCurrent(epoch: Int64) throws -> Bool {
        try pool.withConnection {
            try $0.queryOne(SchedulerStateSQL.leaderEpochForShare).int64("leader_epoch") == epoch
        }
    }

    /// What one decision of the autoscaler saw and did, in one transaction fenced by `epoch`: the Slurm jobs
    /// `squeue` listed, those that ended (cancelled or outside), the decisions with their reasons, the sizes.
    /// Throws `LeadershipFenced` and writes nothing when another replica leads now.
    public func record(
        pool name: String, epoch: Int64, listed: [(id: String, nodes: Int, state: String)],
        ended: [(id: String, state: String)], decisions: [PoolDecision], currentNodes: Int, desiredNodes: Int,
        blockedReason: String?
    ) throws {
        try pool.transaction { c in
            let current = try c.queryOne(SchedulerStateSQL.leaderEpochForShare).int64("leader_epoch")
            guard current == epoch else { throw LeadershipFenced(heldEpoch: epoch, currentEpoch: current) }
            for job in listed {
                try c.query(
                    WorkerPoolSlurmJobSQL.observe,
                    [.text(name), .text(job.id), .int(Int64(job.nodes)), .text(job.state)])
            }
            for job in ended { try c.query(WorkerPoolSlurmJobSQL.end, [.text(name), .text(job.id), .text(job.state)]) }
            for decision in decisions {
                try c.query(
                    WorkerPoolDecisionSQL.insert,
                    [
                        .text(name), .text(decision.action.rawValue), decision.slurmJob.map(PostgresValue.text),
                        .int(Int64(decision.nodes)), .text(decision.reason),
                    ])
            }
            if !decisions.isEmpty {
                try c.query(WorkerPoolDecisionSQL.prune, [.text(name), .int(Int64(WorkerPoolDecisionSQL.keptPerPool))])
            }
            try c.query(
                WorkerPoolSQL.recordScale,
                [
                    .text(name), .int(Int64(currentNodes)), .int(Int64(desiredNodes)),
                    blockedReason.map(PostgresValue.text),
                ])
        }
    }

    /// The newest decision's reason, so a failure repeated every tick is recorded once.
    public func newestDecision(of name: String) throws -> PoolDecisionView? {
        try pool.withConnection {
            try $0.queryFirst(WorkerPoolDecisionSQL.newest, [.text(name)]).map(PoolDecisionView.init(row:))
        }
    }
}

extension WorkerPoolRecord {
    /// A row of `WorkerPoolSQL.all`, `byName` or `upsert`.
    init(row: PostgresRow) throws {
        let spec: WorkerPoolSpec
        do {
            spec = try WireCoding.decode(WorkerPoolSpec.self, from: Data(try row.json("spec").utf8))
        } catch {
            throw StoreError.conflict(
                what: "worker pool \(try row.string("name"))",
                message:
                    "its stored definition cannot be read (\(WireCoding.describe(error))); apply its manifest again")
        }
        self.init(
            spec: spec, currentNodes: try row.int("current_nodes"), desiredNodes: try row.int("desired_nodes"),
            blockedReason: try row.optionalString("blocked_reason"), scaledAt: try row.optionalDate("scaled_at"),
            updatedAt: try row.date("updated_at"))
    }
}

extension PoolSlurmJobRecord {
    /// A row of `WorkerPoolSlurmJobSQL.live`.
    init(row: PostgresRow) throws {
        self.init(
            id: try row.string("slurm_job_id"), nodes: try row.int("nodes"), state: try row.string("state"),
            submittedAt: try row.date("submitted_at"))
    }
}

extension PoolDecisionView {
    /// A row of `WorkerPoolDecisionSQL.latest` or `newest`.
    init(row: PostgresRow) throws {
        self.init(
            at: try row.date("at"), action: PoolDecisionAction(rawValue: try row.string("action")) ?? .failed,
            slurmJob: try row.optionalString("slurm_job_id"), nodes: try row.int("nodes"),
            reason: try row.string("reason"))
    }
}
