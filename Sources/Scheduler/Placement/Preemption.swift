// Preemption: a blocked job may take room from running work when
//   - the victim has strictly lower priority and is in the same queue or in a queue over its fair share, or
//   - the job's queue is under its fair share and the victim's queue is over it (reclaiming borrowed capacity),
//     and the victim's priority is not higher than the job's, or
//   - the victim is backfill (`BackfillPriority`: a per-checkpoint eval) and the job is not, in any queue.
// Victims are chosen per worker in the order of `configuration.victimPolicy` (by default least work lost since
// the last checkpoint first, then lowest priority, then most recently started), then pruned to the fewest
// needed; workers (and packing groups) are ranked by the same policy (`VictimPolicy.isCheaper`).
// A gang member is never preempted alone: its whole gang goes. Victims are told first and keep their resources
// until their grace period ends; the job holds a reservation on the freed workers meanwhile.
import ClusterModel

extension SchedulingPass {
    struct PreemptionPlan {
        var workers: [Int32]
        var victims: [(allocation: Int, reason: PreemptionReason)]
    }

    func buildAllocationIndex() {
        guard allocationsByWorkerStart.isEmpty else { return }
        var counts = [Int32](repeating: 0, count: index.workerCount + 1)
        for w in allocationWorker where w >= 0 { counts[Int(w) + 1] += 1 }
        for w in 0..<index.workerCount { counts[w + 1] += counts[w] }
        allocationsByWorkerStart = counts
        var fill = counts
        allocationsByWorker = [Int32](repeating: 0, count: Int(counts[index.workerCount]))
        for (i, w) in allocationWorker.enumerated() where w >= 0 {
            allocationsByWorker[Int(fill[Int(w)])] = Int32(i)
            fill[Int(w)] += 1
        }
        // Each worker's allocations in victim order (`VictimPolicy`), sorted once per pass.
        preemptible = snapshot.allocations.map(\.isPreemptible)
        let now = snapshot.now
        allocationWork = snapshot.allocations.map { $0.workAtRisk(now: now) }
        let candidates = snapshot.allocations.indices.map { i in
            let a = snapshot.allocations[i]
            return VictimCandidate(work: allocationWork[i], priority: a.priority, startedAt: a.startedAt, task: a.task)
        }
        let policy = configuration.victimPolicy
        for w in 0..<index.workerCount {
            let lower = Int(counts[w])
            let upper = Int(counts[w + 1])
            if upper - lower > 1 {
                allocationsByWorker[lower..<upper].sort { a, b in
                    policy.preemptsFirst(candidates[Int(a)], before: candidates[Int(b)])
                }
            }
        }
        for (i, a) in snapshot.allocations.enumerated() where a.isGangMember && allocationWorker[i] >= 0 {
            allocationsOfJob[a.job, default: []].append(Int32(i))
        }
    }

    /// Cheap test before a full search: is there anything this job could ever be allowed to preempt?
    func mayFindVictims(forJob j: Int) -> Bool {
        if lowestPreemptiblePriority == nil {
            var lowest = Int.max
            for (i, a) in snapshot.allocations.enumerated()
            where allocationWorker[i] >= 0 && a.isPreemptible && !terminating[i] {
                lowest = min(lowest, a.priority)
            }
            lowestPreemptiblePriority = lowest
        }
        let job = snapshot.pendingJobs[j]
        if job.priority > lowestPreemptiblePriority! { return true }
        let q = jobQueue[j]
        return job.priority >= lowestPreemptiblePriority! && isOwedCapacity(q)
            && queueNames.indices.contains { $0 != q && isBorrowing($0) }
    }

    @inline(__always)
    func isEligibleVictim(_ i: Int, job j: Int, priority: Int, overShare: [Bool], claimantUnderShare: Bool) -> Bool {
        guard !terminating[i], preemptible[i] else { return false }
        let victimPriority = allocationPriority[i]
        if isBackfillVictim(victimPriority, claimant: priority) { return true }
        let v = Int(allocationQueue[i])
        if v < 0 { return victimPriority < priority }
        let q = jobQueue[j]
        if victimPriority < priority && (v == q || overShare[v]) { return true }
        return v != q && victimPriority <= priority && claimantUnderShare && overShare[v]
    }

    /// Backfill (`BackfillPriority`) gives way to any other job, in any queue, over its share or not.
    @inline(__always)
    func isBackfillVictim(_ victimPriority: Int, claimant priority: Int) -> Bool {
        BackfillPriority.isBackfill(victimPriority) && !BackfillPriority.isBackfill(priority)
    }

    func victimReason(allocation i: Int, forJob j: Int, priority: Int, overShare: [Bool], claimantUnderShare: Bool)
        -> PreemptionReason?
    {
        guard !terminating[i], preemptible[i] else { return nil }
        let q = jobQueue[j]
        let victimPriority = allocationPriority[i]
        if isBackfillVictim(victimPriority, claimant: priority) {
            return .higherPriority(preemptorPriority: priority, victimPriority: victimPriority)
        }
        let v = Int(allocationQueue[i])
        guard v >= 0 else {
            return victimPriority < priority
                ? .higherPriority(preemptorPriority: priority, victimPriority: victimPriority) : nil
        }
        if victimPriority < priority && (v == q || overShare[v]) {
            return .higherPriority(preemptorPriority: priority, victimPriority: victimPriority)
        }
        if v != q && victimPriority <= priority && claimantUnderShare && overShare[v] {
            var victimShare = 0.0
            for d in 0..<dims {
                victimShare = max(victimShare, Double(borrowUsage[v * dims + d]) * index.inverseTotal[d])
            }
            return .reclaim(
                claimingQueue: queueNames[q], victimQueue: queueNames[v],
                victimQueueShare: victimShare, victimQueueFairShare: fairShare[v])
        }
        return nil
    }

    /// The job that wants room and what decides which running work it may take (the rules at the top of the file).
    private struct Claimant {
        let job: Int
        let priority: Int
        /// Per queue: over its fair share, so its work may be reclaimed.
        let overShare: [Bool]
        /// The job's queue is under its fair share, so it may reclaim borrowed capacity.
        let underShare: Bool
    }

    /// Working buffers of the per-worker victim search, reused across workers so the search does not allocate.
    private struct VictimSearch {
        /// Per dimension: what the worker lacks for the job, and what the chosen victims free.
        var need: [Int64]
        var freed: [Int64]
        /// Allocation indexes, in victim order.
        var chosen: [Int] = []

        init(dims: Int) {
            need = [Int64](repeating: 0, count: dims)
            freed = need
        }
    }

    /// One worker the job could run on: what preempting there costs, its packing group (0 when the job is not
    /// packed) and the victims to preempt (none when the job fits already).
    private struct WorkerOption {
        var cost: VictimSetCost
        var worker: Int32
        var group: Int32
        var victims: [(Int, PreemptionReason)]
    }

    func planPreemption(job j: Int, count: Int) -> PreemptionPlan? {
        buildAllocationIndex()
        let s = jobShape[j]
        let c = shapeClass[s]
        let list = classes[c].candidateList(index: index)
        let packKey = classes[c].packKey
        let request = (0..<dims).map { shapeRequest[s * dims + $0] }
        let claimant = Claimant(
            job: j, priority: snapshot.pendingJobs[j].priority, overShare: queueNames.indices.map(isBorrowing),
            underShare: isOwedCapacity(jobQueue[j]))
        var options: [WorkerOption] = []
        var search = VictimSearch(dims: dims)
        for w32 in list {
            let w = Int(w32)
            // Workers others hold are left to them: preempting there would fight their reservation.
            guard reservationsOn[w] == 0, capacityFits(worker: w, shape: s) else { continue }
            let group: Int32 = packKey < 0 ? 0 : index.labelValue(worker: w, key: packKey)
            guard group >= 0 else { continue }
            if startSearch(&search, worker: w, request: request) {
                options.append(WorkerOption(cost: .none, worker: w32, group: group, victims: []))
                continue
            }
            guard takeVictims(&search, onWorker: w, for: claimant) else { continue }
            dropUnneededVictims(&search)
            options.append(
                WorkerOption(
                    cost: cost(ofVictims: search.chosen), worker: w32, group: group,
                    victims: search.chosen.map { i in
                        (
                            i,
                            victimReason(
                                allocation: i, forJob: j, priority: claimant.priority, overShare: claimant.overShare,
                                claimantUnderShare: claimant.underShare)!
                        )
                    }))
        }
        let policy = configuration.victimPolicy
        options.sort { a, b in
            if policy.isCheaper(a.cost, than: b.cost) { return true }
            if policy.isCheaper(b.cost, than: a.cost) { return false }
            return a.worker < b.worker
        }
        guard let chosen = cheapestGroup(of: options, count: count, packed: packKey >= 0), chosen.cost.victimTasks > 0
        else { return nil }
        return PreemptionPlan(
            workers: chosen.options.map { options[$0].worker },
            victims: chosen.options.flatMap { options[$0].victims })
    }

    /// Resets the search for worker `w`: what it lacks for `request`, nothing freed or chosen yet.
    /// True when nothing is lacking, so the job fits without preempting anything.
    private func startSearch(_ search: inout VictimSearch, worker w: Int, request: [Int64]) -> Bool {
        var fitsAlready = true
        for d in 0..<dims {
            search.need[d] = request[d] - index.free[w * dims + d]
            search.freed[d] = 0
            if search.need[d] > 0 { fitsAlready = false }
        }
        search.chosen.removeAll(keepingCapacity: true)
        return fitsAlready
    }

    /// Takes victims in victim order (the worker's allocations are pre-sorted) until the job fits; false when
    /// all the eligible victims on the worker together do not free enough.
    private func takeVictims(_ search: inout VictimSearch, onWorker w: Int, for claimant: Claimant) -> Bool {
        var covered = false
        for k in Int(allocationsByWorkerStart[w])..<Int(allocationsByWorkerStart[w + 1]) {
            let i = Int(allocationsByWorker[k])
            guard
                isEligibleVictim(
                    i, job: claimant.job, priority: claimant.priority, overShare: claimant.overShare,
                    claimantUnderShare: claimant.underShare)
            else { continue }
            search.chosen.append(i)
            covered = true
            for d in 0..<dims {
                search.freed[d] += allocationVectors[i * dims + d]
                if search.freed[d] < search.need[d] { covered = false }
            }
            if covered { break }
        }
        return covered
    }

    /// Drops victims that turned out unnecessary, highest priority first (the end of the victim order).
    private func dropUnneededVictims(_ search: inout VictimSearch) {
        var k = search.chosen.count - 1
        while k >= 0 {
            let i = search.chosen[k]
            var stillCovered = true
            for d in 0..<dims where search.freed[d] - allocationVectors[i * dims + d] < search.need[d] {
                stillCovered = false
            }
            if stillCovered {
                for d in 0..<dims { search.freed[d] -= allocationVectors[i * dims + d] }
                search.chosen.remove(at: k)
            }
            k -= 1
        }
    }

    /// A gang member costs its whole gang: preempting one member preempts them all, and loses all their work.
    private func cost(ofVictims victims: [Int]) -> VictimSetCost {
        var cost = VictimSetCost.none
        for i in victims {
            let a = snapshot.allocations[i]
            var work = allocationWork[i]
            if a.isGangMember, let members = allocationsOfJob[a.job] {
                cost.victimTasks += members.count
                work = members.reduce(WorkAtRisk.none) { $0.adding(allocationWork[Int($1)]) }
            } else {
                cost.victimTasks += 1
            }
            cost.work = cost.work.adding(work)
            cost.highestPriority = max(cost.highestPriority, a.priority)
            cost.earliestStart = min(cost.earliestStart, a.startedAt)
        }
        return cost
    }

    /// Best group: the `count` cheapest workers of each group (`options` come sorted cheapest first), compared by
    /// their summed cost. Unpacked, every worker is in group 0, so the first `count` options are the answer.
    private func cheapestGroup(of options: [WorkerOption], count: Int, packed: Bool) -> (
        cost: VictimSetCost, options: [Int]
    )? {
        var perGroup: [Int32: [Int]] = [:]
        var best: (cost: VictimSetCost, options: [Int])? = nil
        for (o, option) in options.enumerated() {
            guard (perGroup[option.group]?.count ?? 0) < count else { continue }
            perGroup[option.group, default: []].append(o)
            guard perGroup[option.group]!.count == count else { continue }
            let total = perGroup[option.group]!.reduce(VictimSetCost.none) { $0.adding(options[$1].cost) }
            if best == nil || configuration.victimPolicy.isCheaper(total, than: best!.cost) {
                best = (total, perGroup[option.group]!)
            }
            if !packed { break }
        }
        return best
    }

    /// Emits the preemptions of a plan (whole gangs for gang members); returns how many tasks were told to leave.
    func apply(_ plan: PreemptionPlan, forJob j: Int, deadline: SchedulerTime) -> Int {
        var victims: [(Int, PreemptionReason)] = []
        for (i, reason) in plan.victims {
            let a = snapshot.allocations[i]
            let members = a.isGangMember ? (allocationsOfJob[a.job] ?? [Int32(i)]).map(Int.init) : [i]
            for m in members where !terminating[m] {
                terminating[m] = true
                victims.append((m, reason))
            }
        }
        victims.sort { $0.0 < $1.0 }
        // Shares as they will be once the victims leave and the job runs, so later decisions in this pass
        // do not reclaim more than needed.
        for (i, _) in victims {
            let v = Int(allocationQueue[i])
            guard v >= 0 else { continue }
            let vector = allocationVectors[(i * dims)..<(i * dims + dims)].map { $0 }
            for d in 0..<dims {
                queueUsage[v * dims + d] -= vector[d]
                borrowUsage[v * dims + d] -= vector[d]
            }
        }
        let q = jobQueue[j]
        let s = jobShape[j]
        for d in 0..<dims { queueUsage[q * dims + d] += shapeRequest[s * dims + d] * Int64(plan.workers.count) }
        let preemptor = snapshot.pendingJobs[j].id
        for (i, reason) in victims {
            let a = snapshot.allocations[i]
            decisions.preemptions.append(
                Preemption(
                    victim: a.task, victimJob: a.job, worker: a.worker, preemptor: preemptor,
                    reason: reason, gracePeriodEndsAt: deadline))
        }
        return victims.count
    }
}
