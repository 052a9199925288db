import APITypes
import ClusterModel
import Foundation
import Postgres
import Primitives
import Scheduler

/// The leader's worker-pool autoscaler (issue 19; docs/worker-pools.md). On its own thread, every scheduling
/// interval while this replica leads: it takes the last scheduling pass's snapshot and pending reasons, asks
/// `squeue` for each pool's Slurm jobs, lets `PoolScaler` decide, runs `sbatch`/`scancel`, and records what it
/// saw and did in one transaction fenced by the leader epoch. Decisions are pure (`PoolScaler`); this type only
/// performs them.
///
/// A leader that loses the lock after `sbatch` but before recording writes nothing; the next leader finds the job
/// by its name (`llmops-<pool>`) in `squeue` and counts it, so no node is asked for twice.
final class PoolAutoscaler: Sendable {
    private let store: WorkerPoolStore
    private let slurm: SlurmCommands
    private let joinToken: Secret
    private let lastPass: @Sendable () -> SchedulingLoop.Pass?
    private let log: @Sendable (String) -> Void
    private let sweep = PeriodicSweep(threadName: "pool-autoscaler")
    /// When each pool worker was first seen holding nothing (on the database clock of the passes), by worker.
    /// Leader-local: a new leader starts the idle clocks again, which only delays a release.
    private let idleSince = Locked<[WorkerID: SchedulerTime]>([:])
    /// The last failure recorded per pool, so a Slurm outage is one decision row, not one per interval.
    private let lastFailure = Locked<[String: String]>([:])

    init(
        store: WorkerPoolStore, slurm: SlurmCommands, joinToken: Secret,
        lastPass: @escaping @Sendable () -> SchedulingLoop.Pass?, log: @escaping @Sendable (String) -> Void
    ) {
        self.store = store
        self.slurm = slurm
        self.joinToken = joinToken
        self.lastPass = lastPass
        self.log = log
    }

    func start(intervalSeconds: Double) {
        sweep.start(firstPassAfterSeconds: intervalSeconds, intervalSeconds: intervalSeconds) { [self] in
            do {
                try tick()
            } catch {
                log("pool autoscaler: \(error) (will retry)")
            }
        }
    }

    func stop() { sweep.stop() }

    /// One decision for every pool, from the last pass (nothing while this replica does not lead).
    func tick() throws {
        guard let pass = lastPass() else {
            idleSince.withLock { $0 = [:] }
            return
        }
        let pools = try store.list()
        guard !pools.isEmpty else { return }
        let demand = Self.demand(pass.snapshot, pass.decisions)
        let workers = trackIdleness(pass)
        for record in pools {
            do {
                try decide(record.spec, demand: demand, workers: workers[record.name, default: []], pass: pass)
            } catch let fenced as LeadershipFenced {
                throw fenced
            } catch {
                try recordFailure(record.spec, "\(error)", epoch: pass.epoch)
            }
        }
    }

    private func decide(_ pool: WorkerPoolSpec, demand: [PoolDemand], workers: [PoolWorker], pass: SchedulingLoop.Pass)
        throws
    {
        let listed = try slurm.queue(pool)
        let recorded = try store.liveSlurmJobs(of: pool.name).map(\.id)
        let plan = PoolScaler.decide(
            PoolScalerInput(
                pool: pool, now: pass.snapshot.now, demand: demand, workers: workers, slurmJobs: listed,
                recordedSlurmJobs: recorded))
        var decisions: [PoolDecision] = []
        var observed = listed.map { (id: $0.id, nodes: $0.nodes, state: $0.state.rawValue) }
        var ended: [(id: String, state: String)] = []
        var desired = plan.desiredNodes
        for action in plan.actions {
            switch action {
            case .submit(let nodes, let reason):
                do {
                    let id = try slurm.submit(pool, nodes: nodes, joinToken: joinToken.value)
                    observed.append((id: id, nodes: nodes, state: PoolSlurmJob.State.pending.rawValue))
                    decisions.append(PoolDecision(action: .submit, slurmJob: id, nodes: nodes, reason: reason))
                } catch {
                    desired -= nodes
                    decisions.append(
                        PoolDecision(action: .failed, nodes: nodes, reason: "\(reason); sbatch failed: \(error)"))
                }
            case .cancel(let id, let nodes, let reason):
                do {
                    try slurm.cancel(id)
                    ended.append((id: id, state: "cancelled"))
                    decisions.append(PoolDecision(action: .cancel, slurmJob: id, nodes: nodes, reason: reason))
                } catch {
                    desired += nodes
                    decisions.append(
                        PoolDecision(
                            action: .failed, slurmJob: id, nodes: nodes, reason: "\(reason); scancel failed: \(error)"))
                }
            case .ended(let id, let reason):
                ended.append((id: id, state: "ended"))
                decisions.append(PoolDecision(action: .ended, slurmJob: id, reason: reason))
            }
        }
        for decision in decisions {
            log("pool \(pool.name): \(decision.action.rawValue) \(decision.slurmJob ?? "") \(decision.reason)")
        }
        lastFailure.withLock { $0[pool.name] = nil }
        try store.record(
            pool: pool.name, epoch: pass.epoch, listed: observed, ended: ended, decisions: decisions,
            currentNodes: plan.currentNodes, desiredNodes: max(0, desired), blockedReason: plan.blockedReason)
    }

    /// A failed `squeue` (or store read): recorded once per distinct message.
    private func recordFailure(_ pool: WorkerPoolSpec, _ message: String, epoch: Int64) throws {
        let isNew = lastFailure.withLock { failures -> Bool in
            defer { failures[pool.name] = message }
            return failures[pool.name] != message
        }
        guard isNew else { return }
        log("pool \(pool.name): \(message)")
        let record = try store.pool(named: pool.name)
        try store.record(
            pool: pool.name, epoch: epoch, listed: [], ended: [],
            decisions: [PoolDecision(action: .failed, reason: message)], currentNodes: record?.currentNodes ?? 0,
            desiredNodes: record?.desiredNodes ?? 0, blockedReason: record?.blockedReason)
    }

    /// Jobs the pass could not place for want of workers, and only for that: a job in backoff, over its queue's
    /// quota (of resources or of training tokens) or share, held by an admission check (`notDecontaminated`), or
    /// waiting for preempted tasks would not start on a new node either; nor backfill work, which only uses
    /// capacity that is idle anyway.
    static func demand(_ snapshot: ClusterSnapshot, _ decisions: SchedulingDecisions) -> [PoolDemand] {
        let jobs = Dictionary(snapshot.pendingJobs.map { ($0.id, $0) }) { first, _ in first }
        return decisions.pending.compactMap { reason in
            var wantsWorkers = false
            for cause in reason.causes {
                switch cause {
                case .neverFits, .insufficientCapacity: wantsWorkers = true
                case .backoff, .unknownQueue, .quotaExceeded, .waitingForPreemptedTasks, .holdingReservation,
                    .queueOverShare, .tokenQuotaExceeded, .notDecontaminated:
                    return nil
                }
            }
            // Backfill (a checkpoint's eval) runs on capacity that is idle anyway; it never buys a node.
            guard wantsWorkers, let job = jobs[reason.job], !BackfillPriority.isBackfill(job.priority) else {
                return nil
            }
            return PoolDemand(
                job: job.id, tasks: job.tasks.count, isGang: job.isGang, perTask: job.perTask,
                nodeSelector: job.nodeSelector, packBy: job.packBy)
        }
    }

    /// The alive workers of every pool with their idle clocks, updated from `pass`.
    private func trackIdleness(_ pass: SchedulingLoop.Pass) -> [String: [PoolWorker]] {
        let busy = Set(pass.snapshot.allocations.map(\.worker) + pass.decisions.placements.map(\.worker))
        let members = pass.snapshot.workers.filter {
            $0.isAlive && $0.labels[WorkerPoolSpec.poolLabel] != nil && $0.labels[WorkerPoolSpec.slurmJobLabel] != nil
        }
        let now = pass.snapshot.now
        let clocks = idleSince.withLock { clocks -> [WorkerID: SchedulerTime] in
            var next: [WorkerID: SchedulerTime] = [:]
            for worker in members where !busy.contains(worker.id) { next[worker.id] = clocks[worker.id] ?? now }
            clocks = next
            return next
        }
        var byPool: [String: [PoolWorker]] = [:]
        for worker in members {
            byPool[worker.labels[WorkerPoolSpec.poolLabel]!, default: []].append(
                PoolWorker(
                    id: worker.id, slurmJob: worker.labels[WorkerPoolSpec.slurmJobLabel]!, idleSince: clocks[worker.id])
            )
        }
        return byPool
    }
}
