import ClusterModel

// Reservations keep a blocked job's room from being eaten by backfill. A job that could not fit holds
// `perTask` on specific workers; smaller work may use only what is left beside it, so the job is not delayed.
// Reservations come back in the next snapshot (`previousReservations`) and are served before anyone else.

extension SchedulingPass {
    struct HeldReservation {
        var job: Int
        var workers: [Int32]
        var kind: ReservationKind
    }

    /// Validates last pass's reservations and takes their room out of the free pool before anything is placed.
    func applyPreviousReservations() -> [HeldReservation] {
        var jobSlot: [JobID: Int] = [:]
        for (j, job) in snapshot.pendingJobs.enumerated() where jobShape[j] >= 0 { jobSlot[job.id] = j }
        var held: [HeldReservation] = []
        var seenJobs = Set<Int>()
        for reservation in snapshot.previousReservations {
            guard let j = jobSlot[reservation.job], !seenJobs.contains(j),
                reservation.perTask == shapeResources[jobShape[j]],
                reservation.workers.count == workersNeeded(j)
            else { continue }
            let s = jobShape[j]
            var workers: [Int32] = []
            for id in reservation.workers {
                guard let w = index.workerPosition[id], reservable(worker: Int(w), shape: s), !workers.contains(w),
                    classes[shapeClass[s]].matches(worker: Int(w), index: index),
                    capacityFits(worker: Int(w), shape: s)
                else { break }
                workers.append(w)
            }
            guard workers.count == reservation.workers.count else { continue }
            if classes[shapeClass[s]].packKey >= 0 {
                let key = classes[shapeClass[s]].packKey
                let group = index.labelValue(worker: Int(workers[0]), key: key)
                guard group >= 0, workers.allSatisfy({ index.labelValue(worker: Int($0), key: key) == group }) else {
                    continue
                }
            }
            seenJobs.insert(j)
            hold(job: j, workers: workers)
            held.append(HeldReservation(job: j, workers: workers, kind: reservation.kind))
        }
        return held.sorted { runsBefore($0.job, $1.job) }
    }

    /// Each holder gets its room back and is placed if it now fits; otherwise it keeps holding.
    func serveReservationHolders(_ held: [HeldReservation]) {
        for h in held {
            let j = h.job
            let s = jobShape[j]
            let q = jobQueue[j]
            release(job: j, workers: h.workers)
            let needed = workersNeeded(j)
            if let cause = tokenQuotaCause(job: j) ?? quotaCause(queue: q, shape: s, count: needed) {
                outcome[j] = .quota(cause)
                continue
            }
            decisions.statistics.jobsConsidered += 1
            if let workers = scanForWorkers(shape: s, count: needed, preferring: h.workers) {
                for w in workers { commit(job: j, worker: Int(w)) }
                if snapshot.pendingJobs[j].isGang { decisions.statistics.gangsPlaced += 1 }
                // Independent tasks beyond the first go through the normal loop.
                outcome[j] = jobNextTask[j] == snapshot.pendingJobs[j].tasks.count ? .placed : .notConsidered
                continue
            }
            let leaving = terminatingAllocations(on: h.workers)
            if h.kind == .waitingForPreemptedTasks && leaving.count == 0 {
                // The victims are gone yet the job still does not fit: start over in the normal loop.
                continue
            }
            // A job waiting for work to drain may since have become entitled to preempt (say, a pass that ran out of
            // preemption searches gave it a plain reservation).
            if h.kind == .waitingForCapacity && tryPreemption(job: j) { continue }
            reserve(job: j, workers: h.workers, kind: h.kind)
            heldReservations[needed > 1 ? 1 : 0] += 1
            if h.kind == .waitingForPreemptedTasks {
                // The room being freed for this job counts toward its queue already.
                for d in 0..<dims {
                    queueUsage[q * dims + d] = queueUsage[q * dims + d].saturatingAdding(
                        shapeRequest[s * dims + d].saturatingMultiplying(Int64(needed)))
                }
                outcome[j] = .awaitingPreemption(count: leaving.count, deadline: leaving.deadline)
            } else {
                outcome[j] = .holdingReservation(workers: h.workers.count)
            }
        }
    }

    func terminatingAllocations(on workers: [Int32]) -> (count: Int, deadline: SchedulerTime) {
        buildAllocationIndex()
        var count = 0
        var deadline = -Double.infinity
        for w in workers {
            for k in Int(allocationsByWorkerStart[Int(w)])..<Int(allocationsByWorkerStart[Int(w) + 1]) {
                let i = Int(allocationsByWorker[k])
                guard terminating[i] else { continue }
                count += 1
                deadline = max(deadline, snapshot.allocations[i].preemptionDeadline ?? snapshot.now)
            }
        }
        return (count, deadline)
    }

    /// Workers to hold for a blocked job: those closest to having room (least still to drain, as a fraction of
    /// the worker), not held by anyone else; in one packing group if the job packs.
    func chooseReservationWorkers(job j: Int, count: Int) -> [Int32]? {
        let s = jobShape[j]
        let c = shapeClass[s]
        let list = classes[c].candidateList(index: index)
        let packKey = classes[c].packKey
        var scored: [(missing: Double, worker: Int32, group: Int32)] = []
        for w32 in list {
            let w = Int(w32)
            guard reservable(worker: w, shape: s) else { continue }
            let group: Int32 = packKey < 0 ? 0 : index.labelValue(worker: w, key: packKey)
            guard group >= 0 else { continue }
            var missing = 0.0
            for d in 0..<dims {
                let short = shapeRequest[s * dims + d] - index.free[w * dims + d]
                if short > 0 { missing = max(missing, Double(short) / Double(max(1, index.capacity[w * dims + d]))) }
            }
            scored.append((missing, w32, group))
        }
        scored.sort { $0.missing != $1.missing ? $0.missing < $1.missing : $0.worker < $1.worker }
        var groups: [Int32: [Int32]] = [:]
        var best: (cost: Double, workers: [Int32])? = nil
        var groupCost: [Int32: Double] = [:]
        for entry in scored {
            guard (groups[entry.group]?.count ?? 0) < count else { continue }
            groups[entry.group, default: []].append(entry.worker)
            groupCost[entry.group, default: 0] += entry.missing
            if groups[entry.group]!.count == count {
                let cost = groupCost[entry.group]!
                if best == nil || cost < best!.cost { best = (cost, groups[entry.group]!) }
                if packKey < 0 { break }
            }
        }
        return best?.workers
    }
}
