// One scheduling pass over a snapshot. Order of work:
//   1. index the cluster, subtract running allocations, compute queue usage and fair shares;
//   2. give jobs that held a reservation last pass the first chance at their workers;
//   3. walk the queues by weighted dominant-resource share (DRF), each queue in priority then submission order,
//      placing what fits, and for what does not: preempt (higher priority / reclaim), or reserve, or record why;
//   4. render a reason for every job still waiting.
// Free capacity only shrinks during a pass, so per-shape cursors over candidate lists never need to move back:
// placement is amortised O(workers + tasks) per distinct shape instead of O(tasks × workers).
import ClusterModel

enum JobOutcome {
    case notConsidered
    case placed
    case backoff(until: SchedulerTime)
    case unknownQueue
    /// Not admitted (`DecontaminationRule`): settled before fair share, like backoff.
    case held(PendingCause)
    case quota(PendingCause)
    case neverFits
    case blocked
    case holdingReservation(workers: Int)
    case awaitingPreemption(count: Int, deadline: SchedulerTime)
}

final class SchedulingPass {
    let snapshot: ClusterSnapshot
    let configuration: SchedulerConfiguration
    let index: ClusterIndex
    let dims: Int
    var decisions = SchedulingDecisions()

    // Queues.
    var queueNames: [String] = []
    var queueSlot: [String: Int] = [:]
    var queueWeight: [Double] = []
    /// Q × dims; `Int64.max` where the queue has no ceiling.
    var queueQuota: [Int64] = []
    /// Q × dims: resources held by the queue's running tasks plus what this pass placed.
    var queueUsage: [Int64] = []
    var fairShare: [Double] = []
    /// Q × dims: usage at the start of the pass minus what preemptions this pass will free. Decides which queues
    /// are borrowing (over their share) and so may lose work: placements made in this very pass never count.
    var borrowUsage: [Int64] = []
    /// Q × dims: usage at the start of the pass, untouched.
    var startUsage: [Int64] = []
    /// Per queue: training tokens per day it may consume (`Int64.max`: no ceiling) and consumed today.
    var queueTokensPerDay: [Int64] = []
    var queueTokensToday: [Int64] = []
    /// Per queue: its share of all tokens consumed today by the snapshot's queues (0 when none were): the
    /// tokens dimension of the fair-share order.
    var tokenShare: [Double] = []

    // Shapes: (placement class, per-task request).
    var classes: [PlacementClass] = []
    var shapeClass: [Int] = []
    var shapeResources: [Resources] = []
    var shapeRequest: UnsafeMutablePointer<Int64>
    var shapeCursor: [Int] = []
    /// Smallest gang size already known not to fit this pass, per shape.
    var gangFailedAt: [Int] = []
    var shortfallCache: [Int: (free: Int, held: Int)] = [:]
    var everFitsCache: [Int: Int] = [:]

    // Jobs (indexed like `snapshot.pendingJobs`).
    var jobQueue: [Int] = []
    var jobShape: [Int] = []
    var jobNextTask: [Int] = []
    var jobPriority: [Int] = []
    var jobSequence: [Int64] = []
    var jobIDs: [Int64] = []
    var outcome: [JobOutcome] = []

    // Allocations (indexed like `snapshot.allocations`).
    var allocationWorker: [Int32] = []
    var terminating: [Bool] = []
    var allocationQueue: [Int32] = []
    var allocationPriority: [Int] = []
    var preemptible: [Bool] = []
    /// What preempting each allocation now would lose (built with the victim order, once per pass).
    var allocationWork: [WorkAtRisk] = []
    /// A × dims resource vectors.
    var allocationVectors: [Int64] = []
    var allocationsByWorkerStart: [Int32] = []
    var allocationsByWorker: [Int32] = []
    var allocationsOfJob: [JobID: [Int32]] = [:]

    /// Per worker: how many reservations it carries. Reservations may stack while their sum fits the worker.
    var reservationsOn: [Int32]
    /// Reservations held this pass by gangs (index 1) and by single-worker jobs (index 0).
    var heldReservations = [0, 0]
    /// Job index → the workers it holds this pass.
    var reservationHolders: [Int: Set<Int32>] = [:]
    var shardIndex: [String: [Int32]]? = nil
    var lowestPreemptiblePriority: Int? = nil

    init(snapshot: ClusterSnapshot, configuration: SchedulerConfiguration) {
        self.snapshot = snapshot
        self.configuration = configuration
        index = ClusterIndex(snapshot: snapshot)
        dims = index.dims
        reservationsOn = [Int32](repeating: 0, count: index.workerCount)
        shapeRequest = .allocate(capacity: 1)
    }

    deinit { shapeRequest.deallocate() }

    func run() -> SchedulingDecisions {
        decisions.statistics.workersConsidered = index.workerCount
        setUpQueues()
        applyAllocations()
        computeFairShares()
        borrowUsage = queueUsage
        startUsage = queueUsage
        classifyJobs()
        let holders = applyPreviousReservations()
        serveReservationHolders(holders)
        fairShareLoop()
        renderPendingReasons()
        return decisions
    }

    // MARK: Set-up

    private func setUpQueues() {
        let specs = snapshot.queues.sorted { $0.name < $1.name }
        for spec in specs where queueSlot[spec.name] == nil {
            queueSlot[spec.name] = queueNames.count
            queueNames.append(spec.name)
            queueWeight.append(spec.weight > 0 ? spec.weight : 1)
            if let quota = spec.quota {
                queueQuota += index.quotaVector(quota).map { $0 > 0 ? $0 : Int64.max }
            } else {
                queueQuota += [Int64](repeating: Int64.max, count: dims)
            }
            queueTokensPerDay.append(spec.tokensPerDay.map { max(0, $0) } ?? Int64.max)
            queueTokensToday.append(max(0, snapshot.tokensConsumedToday[spec.name] ?? 0))
        }
        queueUsage = [Int64](repeating: 0, count: queueNames.count * dims)
        let totalTokens = queueTokensToday.reduce(Int64(0)) { $0.saturatingAdding($1) }
        tokenShare = queueTokensToday.map { totalTokens > 0 ? Double($0) / Double(totalTokens) : 0 }
    }

    private func applyAllocations() {
        let allocations = snapshot.allocations
        let count = allocations.count
        allocationWorker = [Int32](repeating: -1, count: count)
        allocationQueue = [Int32](repeating: -1, count: count)
        allocationPriority = allocations.map(\.priority)
        terminating = [Bool](repeating: false, count: count)
        allocationVectors = [Int64](repeating: 0, count: count * dims)
        // Queue names repeat: resolve each distinct name once, not once per allocation.
        var lastName = ""
        var lastSlot = -1
        allocationVectors.withUnsafeMutableBufferPointer { vectors in
            for i in 0..<count {
                let a = allocations[i]
                guard let w = index.workerPosition[a.worker] else { continue }
                allocationWorker[i] = w
                terminating[i] = a.preemptionDeadline != nil
                let v = vectors.baseAddress! + i * dims
                index.write(a.resources, into: v)
                let free = index.free + Int(w) * dims
                for d in 0..<dims { free[d] -= v[d] }
                if a.queue != lastName {
                    lastName = a.queue
                    lastSlot = queueSlot[a.queue] ?? -1
                }
                allocationQueue[i] = Int32(lastSlot)
                // Tasks already told to leave no longer count toward their queue's share.
                if lastSlot >= 0 && !terminating[i] {
                    for d in 0..<dims {
                        queueUsage[lastSlot * dims + d] = queueUsage[lastSlot * dims + d].saturatingAdding(v[d])
                    }
                }
            }
        }
    }

    private func computeFairShares() {
        var active = [Bool](repeating: false, count: queueNames.count)
        for i in allocationQueue.indices where allocationWorker[i] >= 0 && allocationQueue[i] >= 0 {
            active[Int(allocationQueue[i])] = true
        }
        for j in snapshot.pendingJobs { if let q = queueSlot[j.queue] { active[q] = true } }
        var total = 0.0
        for q in queueNames.indices where active[q] { total += queueWeight[q] }
        fairShare = queueNames.indices.map { active[$0] && total > 0 ? queueWeight[$0] / total : 0 }
    }

    /// Gives every pending job its queue and shape; jobs in backoff, held by an admission check or in an unknown
    /// queue are settled here.
    private func classifyJobs() {
        let jobs = snapshot.pendingJobs
        jobQueue = [Int](repeating: -1, count: jobs.count)
        jobShape = [Int](repeating: -1, count: jobs.count)
        jobNextTask = [Int](repeating: 0, count: jobs.count)
        outcome = [JobOutcome](repeating: .notConsidered, count: jobs.count)
        jobPriority = jobs.map(\.priority)
        jobSequence = jobs.map(\.submissionSequence)
        jobIDs = jobs.map(\.id.rawValue)
        var classSlot: [PlacementClassKey: Int] = [:]
        var shapeSlot: [ShapeKey: Int] = [:]
        var requests: [Int64] = []
        // Class 0 is "no constraints": the common case skips hashing label dictionaries.
        classes.append(
            PlacementClass(key: PlacementClassKey(nodeSelector: [:], preferred: [], packBy: nil), index: index))
        for (j, job) in jobs.enumerated() {
            if let notBefore = job.notBefore, notBefore > snapshot.now {
                outcome[j] = .backoff(until: notBefore)
                continue
            }
            if let facts = job.decontamination, let cause = DecontaminationRule.cause(facts) {
                outcome[j] = .held(cause)
                continue
            }
            guard let q = queueSlot[job.queue] else {
                outcome[j] = .unknownQueue
                continue
            }
            jobQueue[j] = q
            let c: Int
            let packBy = job.isGang ? job.packBy : nil
            if job.nodeSelector.isEmpty && job.preferredLabels.isEmpty && packBy == nil {
                c = 0
            } else {
                let key = PlacementClassKey(
                    nodeSelector: job.nodeSelector, preferred: job.preferredLabels, packBy: packBy)
                if let existing = classSlot[key] {
                    c = existing
                } else {
                    c = classes.count
                    classSlot[key] = c
                    classes.append(PlacementClass(key: key, index: index))
                }
            }
            let key = ShapeKey(placementClass: c, perTask: job.perTask)
            if let existing = shapeSlot[key] {
                jobShape[j] = existing
            } else {
                let s = shapeClass.count
                shapeSlot[key] = s
                shapeClass.append(c)
                shapeResources.append(job.perTask)
                requests += index.vector(job.perTask)
                jobShape[j] = s
            }
        }
        let shapes = shapeClass.count
        shapeRequest.deallocate()
        shapeRequest = .allocate(capacity: max(1, shapes * dims))
        for i in 0..<requests.count { shapeRequest[i] = requests[i] }
        shapeCursor = [Int](repeating: 0, count: shapes)
        gangFailedAt = [Int](repeating: Int.max, count: shapes)
    }

    // MARK: Primitives

    /// `Resources.fits(in:)` on the flat vectors of the index (free capacity of `w`, request of shape `s`).
    @inline(__always) func fits(worker w: Int, shape s: Int) -> Bool {
        let free = index.free + w &* dims
        let request = shapeRequest + s &* dims
        for d in 0..<dims where free[d] < request[d] { return false }
        return true
    }

    /// Room for one more reservation of `shape` beside those already on the worker.
    func reservable(worker w: Int, shape s: Int) -> Bool {
        let capacity = index.capacity + w &* dims
        let reserved = index.reserved + w &* dims
        let request = shapeRequest + s &* dims
        for d in 0..<dims where capacity[d] - reserved[d] < request[d] { return false }
        return true
    }

    @inline(__always) func capacityFits(worker w: Int, shape s: Int) -> Bool {
        let capacity = index.capacity + w &* dims
        let request = shapeRequest + s &* dims
        for d in 0..<dims where capacity[d] < request[d] { return false }
        return true
    }

    func share(ofQueue q: Int) -> Double {
        var best = 0.0
        for d in 0..<dims {
            let s = Double(queueUsage[q * dims + d]) * index.inverseTotal[d]
            if s > best { best = s }
        }
        return best
    }

    func isOverShare(_ q: Int) -> Bool { share(ofQueue: q) > fairShare[q] + 1e-9 }

    /// Under its share both now and at the start of the pass: a queue does not become owed capacity because
    /// its own work is being preempted in this pass.
    func isOwedCapacity(_ q: Int) -> Bool {
        var best = 0.0
        for d in 0..<dims { best = max(best, Double(startUsage[q * dims + d]) * index.inverseTotal[d]) }
        return best < fairShare[q] - 1e-9 && isUnderShare(q)
    }

    /// Over its share counting only work that ran before this pass (less what is already being preempted).
    func isBorrowing(_ q: Int) -> Bool {
        var best = 0.0
        for d in 0..<dims { best = max(best, Double(borrowUsage[q * dims + d]) * index.inverseTotal[d]) }
        return best > fairShare[q] + 1e-9
    }
    func isUnderShare(_ q: Int) -> Bool { share(ofQueue: q) < fairShare[q] - 1e-9 }

    /// Nil unless job `j` trains and its queue has consumed its training tokens for the day. Tokens are reported
    /// after they are consumed, so a queue may overshoot by what its running jobs train until the next pass.
    func tokenQuotaCause(job j: Int) -> PendingCause? {
        let q = jobQueue[j]
        guard snapshot.pendingJobs[j].trainsTokens, queueTokensPerDay[q] != Int64.max,
            queueTokensToday[q] >= queueTokensPerDay[q]
        else { return nil }
        return .tokenQuotaExceeded(
            queue: queueNames[q], consumedToday: queueTokensToday[q], tokensPerDay: queueTokensPerDay[q])
    }

    /// The key of the fair-share order (lowest goes next): the queue's dominant share per unit of weight, where
    /// the tokens it trained today are one more dimension beside the resources it holds.
    func fairShareKey(ofQueue q: Int) -> Double {
        max(share(ofQueue: q), tokenShare[q]) / queueWeight[q]
    }

    /// Nil when `count` more tasks of `shape` fit under the queue's quota, else the cause naming the resource.
    func quotaCause(queue q: Int, shape s: Int, count: Int) -> PendingCause? {
        for d in 0..<dims {
            let quota = queueQuota[q * dims + d]
            if quota == Int64.max { continue }
            let requested = shapeRequest[s * dims + d].saturatingMultiplying(Int64(count))
            let used = queueUsage[q * dims + d]
            if used.saturatingAdding(requested) > quota {
                return .quotaExceeded(
                    queue: queueNames[q], resource: index.dimensionName(d), used: used,
                    requested: requested, quota: quota)
            }
        }
        return nil
    }

    func commit(job j: Int, worker w: Int) {
        let s = jobShape[j]
        let q = jobQueue[j]
        let free = index.free + w * dims
        for d in 0..<dims {
            let r = shapeRequest[s * dims + d]
            free[d] -= r
            queueUsage[q * dims + d] = queueUsage[q * dims + d].saturatingAdding(r)
        }
        decisions.placements.append(
            Placement(
                task: snapshot.pendingJobs[j].tasks[jobNextTask[j]], job: JobID(jobIDs[j]),
                worker: index.workerIDs[w]))
        jobNextTask[j] += 1
        decisions.statistics.tasksPlaced += 1
    }

    /// Takes `workers` × the job's request out of the free pool (free may go negative under a reservation).
    func hold(job j: Int, workers: [Int32]) {
        let s = jobShape[j]
        for w in workers {
            let base = Int(w) * dims
            for d in 0..<dims {
                let r = shapeRequest[s * dims + d]
                index.free[base + d] -= r
                index.reserved[base + d] += r
            }
            reservationsOn[Int(w)] += 1
        }
        reservationHolders[j] = Set(workers)
    }

    func reserve(job j: Int, workers: [Int32], kind: ReservationKind) {
        hold(job: j, workers: workers)
        decisions.reservations.append(
            Reservation(
                job: snapshot.pendingJobs[j].id, workers: workers.map { index.workerIDs[Int($0)] },
                perTask: shapeResources[jobShape[j]], kind: kind))
    }

    func release(job j: Int, workers: [Int32]) {
        let s = jobShape[j]
        for w in workers {
            let base = Int(w) * dims
            for d in 0..<dims {
                let r = shapeRequest[s * dims + d]
                index.free[base + d] += r
                index.reserved[base + d] -= r
            }
            reservationsOn[Int(w)] -= 1
        }
        reservationHolders[j] = nil
    }

    /// Number of workers a job needs at once: every member for a gang, one for independent tasks.
    func workersNeeded(_ j: Int) -> Int {
        snapshot.pendingJobs[j].isGang ? snapshot.pendingJobs[j].tasks.count : 1
    }

    /// Priority desc, submission asc, job id asc.
    func runsBefore(_ a: Int, _ b: Int) -> Bool {
        if jobPriority[a] != jobPriority[b] { return jobPriority[a] > jobPriority[b] }
        if jobSequence[a] != jobSequence[b] { return jobSequence[a] < jobSequence[b] }
        return jobIDs[a] < jobIDs[b]
    }
}

struct ShapeKey: Hashable {
    var placementClass: Int
    var perTask: Resources
}
