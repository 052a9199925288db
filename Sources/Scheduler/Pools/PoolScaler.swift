// The pool autoscaler's decisions, as a pure function: pending demand, the pool's workers and its Slurm jobs in,
// Slurm jobs to submit or cancel out, each with the reason the control plane records and `opsctl describe pool`
// shows. No clock, no Slurm: the control plane's `PoolAutoscaler` builds the input and performs the actions.
import ClusterModel

public enum PoolScaler {
    /// At most this many Slurm jobs submitted per decision: a burst of 10,000 queued tasks asks Slurm for nodes
    /// over several decisions (one per scheduling interval) instead of flooding `sbatch` at once.
    public static let maxSubmissionsPerDecision = 16

    public static func decide(_ input: PoolScalerInput) -> PoolScalingPlan {
        let pool = input.pool
        let demand = input.demand.filter { canServe($0, pool) }
        var actions: [PoolAction] = ended(input)
        let currentNodes = input.slurmJobs.reduce(0) { $0 + $1.nodes }
        var nodes = currentNodes
        var blocked: [String] = []

        // Nodes asked for but without a registered worker yet will take work soon: count them as on the way.
        let registered = Dictionary(grouping: input.workers, by: \.slurmJob).mapValues(\.count)
        let starting = input.slurmJobs.map {
            (id: $0.id, total: $0.nodes, nodes: max(0, $0.nodes - registered[$0.id, default: 0]))
        }.filter { $0.nodes > 0 }.sorted { ($0.total, $0.id) < ($1.total, $1.id) }
        var claimed = Set<String>()
        var submissions = 0

        // A gang gets a Slurm job of its own size, so Slurm starts all its members at once or none; one still
        // starting that is large enough is already its job.
        for gang in demand where gang.isGang {
            if let index = starting.firstIndex(where: { !claimed.contains($0.id) && $0.total >= gang.tasks }) {
                claimed.insert(starting[index].id)
                continue
            }
            if gang.tasks > pool.maxNodes {
                blocked.append("gang job \(gang.job) needs \(gang.tasks) nodes, more than maxNodes \(pool.maxNodes)")
            } else if nodes + gang.tasks > pool.maxNodes {
                blocked.append(
                    "gang job \(gang.job) needs \(gang.tasks) nodes; the pool holds \(nodes) of maxNodes \(pool.maxNodes)"
                )
            } else if submissions < maxSubmissionsPerDecision {
                submissions += 1
                nodes += gang.tasks
                actions.append(
                    .submit(
                        nodes: gang.tasks,
                        reason:
                            "gang job \(gang.job) waits for \(gang.tasks) workers with \(gang.perTask) and no worker can take it: one Slurm job of \(gang.tasks) nodes"
                    ))
            }
        }

        // Other tasks: as many nodes as they fill, less the nodes already on the way; one Slurm job per node, so
        // each is released on its own when idle.
        let singles = demand.filter { !$0.isGang }
        let wanted = singles.reduce(0) { $0 + nodesFor($1, pool.nodeResources) }
        let onTheWay = starting.filter { !claimed.contains($0.id) }.reduce(0) { $0 + $1.nodes }
        let short = max(0, wanted - onTheWay)
        let room = max(0, pool.maxNodes - nodes)
        let add = min(short, room, maxSubmissionsPerDecision - submissions)
        if add > 0 {
            let jobs = singles.map { "\($0.job)" }.joined(separator: ", ")
            let tasks = singles.reduce(0) { $0 + $1.tasks }
            for _ in 0..<add {
                actions.append(
                    .submit(
                        nodes: 1,
                        reason:
                            "job \(jobs): \(tasks) task\(tasks == 1 ? " waits" : "s wait") and no worker can take \(tasks == 1 ? "it" : "them"); \(wanted) node\(wanted == 1 ? "" : "s") wanted, \(onTheWay + nodes - currentNodes) on the way"
                    ))
            }
            nodes += add
            submissions += add
        }
        if short > room {
            let left = short - room
            blocked.append("\(left) more node\(left == 1 ? "" : "s") wanted; the pool is at maxNodes \(pool.maxNodes)")
        }

        // minNodes is kept even without work.
        while nodes < pool.minNodes && submissions < maxSubmissionsPerDecision {
            actions.append(
                .submit(nodes: 1, reason: "the pool holds \(nodes) nodes, fewer than minNodes \(pool.minNodes)"))
            nodes += 1
            submissions += 1
        }

        // Release: a Slurm job whose workers have all been idle past the timeout; a queued one nothing waits for.
        let byJob = Dictionary(grouping: input.workers, by: \.slurmJob)
        for job in input.slurmJobs.sorted(by: { $0.id < $1.id }) where nodes - job.nodes >= pool.minNodes {
            if job.state == .pending {
                if demand.isEmpty {
                    actions.append(
                        .cancel(
                            slurmJob: job.id, nodes: job.nodes, reason: "still queued in Slurm and no work waits for it"
                        ))
                    nodes -= job.nodes
                }
                continue
            }
            let workers = byJob[job.id, default: []]
            guard workers.count == job.nodes, let lastBusy = workers.map({ $0.idleSince ?? .infinity }).max(),
                input.now - lastBusy >= pool.idleTimeoutSeconds
            else { continue }
            actions.append(
                .cancel(
                    slurmJob: job.id, nodes: job.nodes,
                    reason:
                        "its \(job.nodes) worker\(job.nodes == 1 ? "" : "s") idle for \(seconds(input.now - lastBusy)) (idle timeout \(seconds(pool.idleTimeoutSeconds)))"
                ))
            nodes -= job.nodes
        }
        return PoolScalingPlan(
            actions: actions, currentNodes: currentNodes, desiredNodes: nodes,
            blockedReason: blocked.isEmpty ? nil : blocked.joined(separator: "; "))
    }

    /// True when a worker of the pool could ever hold one task of `demand`: its labels satisfy the job's selector
    /// (the pool's own two labels included), one task fits in a node, and a gang's `packBy` label is one the pool's
    /// nodes share.
    static func canServe(_ demand: PoolDemand, _ pool: WorkerPoolSpec) -> Bool {
        let labels = pool.workerLabels
        guard demand.tasks > 0,
            labels.satisfies(selector: demand.nodeSelector.filter { $0.key != WorkerPoolSpec.slurmJobLabel }),
            demand.nodeSelector[WorkerPoolSpec.slurmJobLabel] == nil, demand.perTask.fits(in: pool.nodeResources)
        else { return false }
        if let packBy = demand.packBy { return labels[packBy] != nil }
        return true
    }

    /// Nodes `demand`'s tasks fill: as many tasks per node as fit in every resource (at least one, since a task
    /// fits), rounded up.
    static func nodesFor(_ demand: PoolDemand, _ node: Resources) -> Int {
        var perNode = Int64.max
        func limit(_ need: Int64, _ have: Int64) { if need > 0 { perNode = min(perNode, have / need) } }
        limit(demand.perTask.cpuMillis, node.cpuMillis)
        limit(demand.perTask.memoryBytes, node.memoryBytes)
        for (type, count) in demand.perTask.accelerators { limit(count, node.accelerators[type, default: 0]) }
        let tasksPerNode = Int(clamping: max(1, perNode == .max ? Int64(demand.tasks) : perNode))
        return (demand.tasks + tasksPerNode - 1) / tasksPerNode
    }

    /// Recorded Slurm jobs `squeue` no longer lists.
    static func ended(_ input: PoolScalerInput) -> [PoolAction] {
        let listed = Set(input.slurmJobs.map(\.id))
        return input.recordedSlurmJobs.filter { !listed.contains($0) }.sorted().map {
            .ended(
                slurmJob: $0,
                reason:
                    "Slurm job \($0) ended outside the pool (scancel, time limit or node failure); its workers are handled as lost and their tasks retried"
            )
        }
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? "\(Int64(value))s" : "\((value * 10).rounded() / 10)s"
    }
}
