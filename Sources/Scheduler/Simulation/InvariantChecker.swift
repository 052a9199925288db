// Checks one pass's decisions against the snapshot they were made from, independently of the scheduler's code:
// no worker over-committed, gangs all or nothing on distinct workers (packed when asked), no task on a worker
// lacking a required label, nothing placed twice or on a dead worker, quotas respected, and preemption only of
// strictly lower priority, or (reclaim) of work borrowed by a queue over its fair share.
import ClusterModel

public enum InvariantChecker {
    public static func check(
        _ decisions: SchedulingDecisions, against snapshot: ClusterSnapshot, step: Int,
        into violations: inout [String]
    ) {
        func fail(_ message: String) { violations.append("step \(step): \(message)") }
        let known = Known(snapshot)
        let placementsOfJob = checkPlacements(decisions.placements, of: snapshot, known: known, fail)
        checkGangPlacements(placementsOfJob, known: known, fail)
        checkQuotas(placementsOfJob, of: snapshot, known: known, fail)
        checkPreemptions(decisions.preemptions, of: snapshot, known: known, fail)
    }

    /// The snapshot's workers, pending jobs and running tasks by id.
    private struct Known {
        let workers: [WorkerID: WorkerSnapshot]
        let jobs: [JobID: PendingJob]
        let runningTasks: [TaskID: RunningAllocation]

        init(_ snapshot: ClusterSnapshot) {
            workers = Dictionary(snapshot.workers.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            jobs = Dictionary(uniqueKeysWithValues: snapshot.pendingJobs.map { ($0.id, $0) })
            runningTasks = Dictionary(snapshot.allocations.map { ($0.task, $0) }, uniquingKeysWith: { a, _ in a })
        }
    }

    /// Each placement of a pending task on an alive worker carrying the job's required labels, once; no worker
    /// over-committed by running plus placed work. Returns the placements grouped by job.
    private static func checkPlacements(
        _ placements: [Placement], of snapshot: ClusterSnapshot, known: Known,
        _ fail: (String) -> Void
    ) -> [JobID: [Placement]] {
        var used: [WorkerID: Resources] = [:]
        for a in snapshot.allocations where known.workers[a.worker]?.isAlive == true {
            used[a.worker, default: .zero] += a.resources
        }
        var placedTasks = Set<TaskID>()
        var placementsOfJob: [JobID: [Placement]] = [:]
        for p in placements {
            guard let worker = known.workers[p.worker], worker.isAlive else {
                fail("task \(p.task) placed on dead or unknown worker \(p.worker)")
                continue
            }
            guard let job = known.jobs[p.job], job.tasks.contains(p.task) else {
                fail("task \(p.task) of job \(p.job) was not pending")
                continue
            }
            if !placedTasks.insert(p.task).inserted || known.runningTasks[p.task] != nil {
                fail("task \(p.task) placed twice")
            }
            if !worker.labels.satisfies(selector: job.nodeSelector),
                let missing = job.nodeSelector.sorted(by: { $0.key < $1.key }).first(where: {
                    worker.labels[$0.key] != $0.value
                })
            {
                fail("task \(p.task) on worker \(p.worker) lacking required label \(missing.key)=\(missing.value)")
            }
            used[p.worker, default: .zero] += job.perTask
            placementsOfJob[p.job, default: []].append(p)
        }
        for (id, total) in used where !total.fits(in: known.workers[id]!.capacity) {
            fail("worker \(id) over-committed: \(total) > \(known.workers[id]!.capacity)")
        }
        return placementsOfJob
    }

    /// Gangs all or nothing, on distinct workers, and in one packing group when asked.
    private static func checkGangPlacements(
        _ placementsOfJob: [JobID: [Placement]], known: Known, _ fail: (String) -> Void
    ) {
        for (id, placements) in placementsOfJob {
            let job = known.jobs[id]!
            guard job.isGang else { continue }
            if placements.count != job.tasks.count {
                fail("gang \(id) partially placed: \(placements.count) of \(job.tasks.count)")
            }
            if Set(placements.map(\.worker)).count != placements.count {
                fail("gang \(id) shares a worker between members")
            }
            if let key = job.packBy {
                let values = Set(placements.map { known.workers[$0.worker]!.labels[key] })
                if values.count != 1 || values.first! == nil { fail("gang \(id) not packed in one \(key): \(values)") }
            }
        }
    }

    /// Quotas, for queues that placed anything.
    private static func checkQuotas(
        _ placementsOfJob: [JobID: [Placement]], of snapshot: ClusterSnapshot, known: Known,
        _ fail: (String) -> Void
    ) {
        let specs = Dictionary(snapshot.queues.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var queueUse: [String: Resources] = [:]
        for a in snapshot.allocations where a.preemptionDeadline == nil && known.workers[a.worker]?.isAlive == true {
            queueUse[a.queue, default: .zero] += a.resources
        }
        for (id, placements) in placementsOfJob {
            let job = known.jobs[id]!
            for _ in placements { queueUse[job.queue, default: .zero] += job.perTask }
        }
        for name in Set(placementsOfJob.keys.map { known.jobs[$0]!.queue }) {
            guard let quota = specs[name]?.quota, let use = queueUse[name] else { continue }
            if quota.cpuMillis > 0 && use.cpuMillis > quota.cpuMillis { fail("queue \(name) over its cpu quota") }
            if quota.memoryBytes > 0 && use.memoryBytes > quota.memoryBytes {
                fail("queue \(name) over its memory quota")
            }
            for (kind, limit) in quota.accelerators where limit > 0 && (use.accelerators[kind] ?? 0) > limit {
                fail("queue \(name) over its \(kind) quota: \(use.accelerators[kind] ?? 0) > \(limit)")
            }
        }
    }

    /// Preemption only of running, preemptible tasks not already leaving, each once, for strictly lower priority or
    /// as a reclaim by a queue under its share from one over it; and a gang preempted whole or not at all.
    private static func checkPreemptions(
        _ preemptions: [Preemption], of snapshot: ClusterSnapshot, known: Known,
        _ fail: (String) -> Void
    ) {
        let shares = shares(
            workers: snapshot.workers, allocations: snapshot.allocations, queues: snapshot.queues,
            pendingQueues: Set(snapshot.pendingJobs.map(\.queue)))
        var preempted = Set<TaskID>()
        for p in preemptions {
            guard let victim = known.runningTasks[p.victim] else {
                fail("preempted task \(p.victim) is not running")
                continue
            }
            guard let preemptor = known.jobs[p.preemptor] else {
                fail("preemptor \(p.preemptor) is not pending")
                continue
            }
            if !preempted.insert(p.victim).inserted { fail("task \(p.victim) preempted twice") }
            if victim.preemptionDeadline != nil { fail("task \(p.victim) was already leaving") }
            if !victim.isPreemptible { fail("task \(p.victim) is not preemptible") }
            if victim.priority < preemptor.priority { continue }
            let victimOver = (shares.share[victim.queue] ?? 0) > (shares.fair[victim.queue] ?? 0) + 1e-9
            let claimantUnder = (shares.share[preemptor.queue] ?? 0) < (shares.fair[preemptor.queue] ?? 0) - 1e-9
            guard case .reclaim = p.reason, victim.priority <= preemptor.priority, victim.queue != preemptor.queue,
                victimOver, claimantUnder
            else {
                fail(
                    "task \(p.victim) (priority \(victim.priority), queue \(victim.queue)) preempted by job \(p.preemptor) "
                        + "(priority \(preemptor.priority), queue \(preemptor.queue)) without a reason: \(p.reason); at the start of the pass "
                        + "\(victim.queue) had \(shares.share[victim.queue] ?? 0) of fair \(shares.fair[victim.queue] ?? 0), "
                        + "\(preemptor.queue) had \(shares.share[preemptor.queue] ?? 0) of fair \(shares.fair[preemptor.queue] ?? 0)"
                )
                continue
            }
        }
        // A gang is preempted whole or not at all.
        let preemptedJobs = Set(preemptions.map(\.victimJob))
        for a in snapshot.allocations
        where a.isGangMember && preemptedJobs.contains(a.job)
            && a.preemptionDeadline == nil && !preempted.contains(a.task)
        {
            fail("gang \(a.job) only partly preempted: task \(a.task) kept")
        }
    }

    /// Dominant share and fair share per queue, as the scheduler defines them: usage of tasks not already leaving,
    /// on alive workers, over alive capacity; fair share is weight over the weights of queues with any work.
    public static func shares(
        workers: [WorkerSnapshot], allocations: [RunningAllocation], queues: [QueueSpec],
        pendingQueues: Set<String>
    ) -> (share: [String: Double], fair: [String: Double]) {
        var alive = Set<WorkerID>()
        var total = Resources.zero
        for w in workers where w.isAlive && alive.insert(w.id).inserted { total += w.capacity }
        var use: [String: Resources] = [:]
        var active = pendingQueues
        for a in allocations where alive.contains(a.worker) {
            active.insert(a.queue)
            if a.preemptionDeadline == nil { use[a.queue, default: .zero] += a.resources }
        }
        func dominant(_ r: Resources) -> Double {
            var best = 0.0
            if total.cpuMillis > 0 { best = max(best, Double(r.cpuMillis) / Double(total.cpuMillis)) }
            if total.memoryBytes > 0 { best = max(best, Double(r.memoryBytes) / Double(total.memoryBytes)) }
            for (kind, n) in r.accelerators {
                if let t = total.accelerators[kind], t > 0 { best = max(best, Double(n) / Double(t)) }
            }
            return best
        }
        let weights = queues.filter { active.contains($0.name) }.reduce(0.0) { $0 + ($1.weight > 0 ? $1.weight : 1) }
        var share: [String: Double] = [:]
        var fair: [String: Double] = [:]
        for q in queues {
            share[q.name] = dominant(use[q.name] ?? .zero)
            fair[q.name] = active.contains(q.name) && weights > 0 ? (q.weight > 0 ? q.weight : 1) / weights : 0
        }
        return (share, fair)
    }
}
