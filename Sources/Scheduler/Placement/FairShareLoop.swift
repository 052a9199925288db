import ClusterModel

// Between queues: the queue with the lowest dominant share per unit of weight goes next (weighted DRF).
// Within a queue: priority, then submission order. A job that does not fit does not stop its queue:
// later, smaller jobs backfill around it, but never into room reserved for it.

extension SchedulingPass {
    /// Every other job first, then backfill (`BackfillPriority`): a backfill job only gets room no other pending
    /// job of the pass took, whatever its queue's share.
    func fairShareLoop() {
        fairShareLoop(backfill: false)
        fairShareLoop(backfill: true)
    }

    private func fairShareLoop(backfill: Bool) {
        var lists = [[Int]](repeating: [], count: queueNames.count)
        for j in snapshot.pendingJobs.indices
        where jobQueue[j] >= 0 && BackfillPriority.isBackfill(jobPriority[j]) == backfill {
            if case .notConsidered = outcome[j] { lists[jobQueue[j]].append(j) }
        }
        for q in lists.indices { lists[q].sort { runsBefore($0, $1) } }
        var heads = [Int](repeating: 0, count: lists.count)
        var keys = queueNames.indices.map(fairShareKey(ofQueue:))
        while true {
            var next = -1
            for q in lists.indices where heads[q] < lists[q].count {
                if next < 0 || keys[q] < keys[next] { next = q }
            }
            if next < 0 { break }
            let j = lists[next][heads[next]]
            heads[next] += 1
            let preemptionsBefore = decisions.preemptions.count
            if consider(job: j) { keys[next] = fairShareKey(ofQueue: next) }
            if decisions.preemptions.count != preemptionsBefore {
                // Preemption moved usage between queues (victims leaving, the claimant's room): re-rank them all.
                for q in keys.indices { keys[q] = fairShareKey(ofQueue: q) }
            }
        }
    }

    /// Places what fits of job `j`; returns whether anything was placed.
    private func consider(job j: Int) -> Bool {
        decisions.statistics.jobsConsidered += 1
        let job = snapshot.pendingJobs[j]
        let s = jobShape[j]
        let q = jobQueue[j]
        if let cause = tokenQuotaCause(job: j) {
            outcome[j] = .quota(cause)
            return false
        }
        if job.isGang {
            if let cause = quotaCause(queue: q, shape: s, count: job.tasks.count) {
                outcome[j] = .quota(cause)
                return false
            }
            if let workers = findGangWorkers(forJob: j) {
                for w in workers { commit(job: j, worker: Int(w)) }
                decisions.statistics.gangsPlaced += 1
                outcome[j] = .placed
                return true
            }
            handleBlocked(job: j)
            return false
        }
        let before = jobNextTask[j]
        while jobNextTask[j] < job.tasks.count {
            if let cause = quotaCause(queue: q, shape: s, count: 1) {
                outcome[j] = .quota(cause)
                return jobNextTask[j] > before
            }
            guard let w = findWorker(forTaskOf: j) else {
                handleBlocked(job: j)
                return jobNextTask[j] > before
            }
            commit(job: j, worker: w)
        }
        outcome[j] = .placed
        return true
    }

    /// The job has no room: preempt if entitled, else hold workers for it, else just record that it waits.
    private func handleBlocked(job j: Int) {
        let s = jobShape[j]
        let needed = workersNeeded(j)
        if workersThatCouldEverFit(shape: s) < needed {
            outcome[j] = .neverFits
            return
        }
        // Backfill waits for idle room: it takes nothing from running work and holds nothing back from others.
        if BackfillPriority.isBackfill(jobPriority[j]) {
            outcome[j] = .blocked
            return
        }
        if tryPreemption(job: j) { return }
        let kind = needed > 1 ? 1 : 0
        let cap = needed > 1 ? configuration.maxReservations : configuration.maxTaskReservations
        if heldReservations[kind] < cap, let workers = chooseReservationWorkers(job: j, count: needed) {
            reserve(job: j, workers: workers, kind: .waitingForCapacity)
            heldReservations[kind] += 1
            outcome[j] = .holdingReservation(workers: workers.count)
            return
        }
        outcome[j] = .blocked
    }

    /// Preempts for job `j` if it is entitled to and a plan exists; the freed workers are then held for it.
    func tryPreemption(job j: Int) -> Bool {
        guard configuration.preemptionEnabled,
            decisions.statistics.preemptionAttempts < configuration.maxPreemptionAttemptsPerPass,
            mayFindVictims(forJob: j)
        else { return false }
        decisions.statistics.preemptionAttempts += 1
        guard let plan = planPreemption(job: j, count: workersNeeded(j)) else { return false }
        let deadline = snapshot.now + configuration.preemptionGracePeriodSeconds
        let count = apply(plan, forJob: j, deadline: deadline)
        reserve(job: j, workers: plan.workers, kind: .waitingForPreemptedTasks)
        outcome[j] = .awaitingPreemption(count: count, deadline: deadline)
        return true
    }
}
