// Turns each waiting job's outcome into structured causes and text. Capacity counts are computed once per
// shape after the pass, against the free capacity that is left.
import ClusterModel

extension SchedulingPass {
    func renderPendingReasons() {
        for (j, job) in snapshot.pendingJobs.enumerated() {
            var causes: [PendingCause] = []
            switch outcome[j] {
            case .placed:
                continue
            case .notConsidered:
                // Only jobs with tasks left and no other outcome end here (e.g. empty task lists).
                if job.tasks.isEmpty || jobNextTask[j] >= job.tasks.count { continue }
                causes.append(.insufficientCapacity(shortfall(job: j)))
            case .backoff(let until):
                causes.append(.backoff(until: until))
            case .unknownQueue:
                causes.append(.unknownQueue(job.queue))
            case .quota(let cause), .held(let cause):
                causes.append(cause)
            case .neverFits:
                causes.append(
                    .neverFits(
                        perTask: job.perTask, nodeSelector: job.nodeSelector, workersNeeded: workersNeeded(j),
                        packBy: job.isGang ? job.packBy : nil,
                        couldEverMatch: workersThatCouldEverFit(shape: jobShape[j])))
            case .blocked:
                causes.append(.insufficientCapacity(shortfall(job: j)))
            case .holdingReservation(let workers):
                causes.append(.insufficientCapacity(shortfall(job: j)))
                causes.append(.holdingReservation(workers: workers))
            case .awaitingPreemption(let count, let deadline):
                causes.append(.waitingForPreemptedTasks(count: count, gracePeriodEndsAt: deadline))
            }
            let q = jobQueue[j]
            if q >= 0 && isOverShare(q) {
                causes.append(.queueOverShare(queue: job.queue, share: share(ofQueue: q), fairShare: fairShare[q]))
            }
            decisions.pending.append(PendingReason(job: job.id, causes: causes))
        }
        decisions.statistics.jobsPending = decisions.pending.count
    }

    private func shortfall(job j: Int) -> CapacityShortfall {
        let job = snapshot.pendingJobs[j]
        let s = jobShape[j]
        let counts: (free: Int, held: Int)
        let ownWorkers = reservationHolders[j]
        let holdsReservation = ownWorkers != nil
        if !holdsReservation, let cached = shortfallCache[s] {
            counts = cached
        } else {
            let c = shapeClass[s]
            let list = classes[c].candidateList(index: index)
            let packKey = classes[c].packKey
            var free: [Int32: Int] = [:]
            var withoutReservations: [Int32: Int] = [:]
            for w32 in list {
                let w = Int(w32)
                let group: Int32 = packKey < 0 ? 0 : index.labelValue(worker: w, key: packKey)
                guard group >= 0 else { continue }
                var fitsNow = true
                var fitsUnreserved = true
                let own = ownWorkers?.contains(w32) ?? false
                for d in 0..<dims {
                    let r = shapeRequest[s * dims + d]
                    let f = index.free[w * dims + d]
                    if f + (own ? r : 0) < r { fitsNow = false }
                    if f + index.reserved[w * dims + d] < r { fitsUnreserved = false }
                }
                if fitsNow { free[group, default: 0] += 1 }
                if fitsUnreserved { withoutReservations[group, default: 0] += 1 }
            }
            let bestFree = free.values.max() ?? 0
            let bestUnreserved = withoutReservations.values.max() ?? 0
            counts = (bestFree, max(0, bestUnreserved - bestFree))
            if !holdsReservation { shortfallCache[s] = counts }
        }
        return CapacityShortfall(
            workersNeeded: job.isGang ? job.tasks.count - jobNextTask[j] : job.tasks.count - jobNextTask[j],
            perTask: job.perTask, nodeSelector: job.nodeSelector, packBy: job.isGang ? job.packBy : nil,
            freeMatching: counts.free, heldByReservations: counts.held)
    }
}
