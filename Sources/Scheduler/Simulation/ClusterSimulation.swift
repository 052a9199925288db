// A seeded, deterministic cluster simulation around the scheduler. Each step: workers fail and recover, tasks
// finish, preempted tasks leave when their grace period ends (and are requeued), new jobs arrive; then one
// scheduling pass runs and its decisions are checked against the invariants before they are applied.
import ClusterModel

public struct SimulationConfiguration: Sendable {
    public var seed: UInt64 = 42
    public var workers = 10_000
    public var tasks = 100_000
    /// Jobs arrive evenly over this many steps.
    public var arrivalSteps = 25
    /// The run stops after this many steps even if work is left (which then counts as starvation).
    public var maxSteps = 400
    public var secondsPerStep: SchedulerTime = 10
    /// Task run time in steps, uniform in this range (a gang's members finish together).
    public var durationSteps: ClosedRange<Int> = 10...40
    /// Per alive worker, per step.
    public var workerFailureProbability = 0.0002
    public var workerRecoverySteps = 15
    public var scheduler = SchedulerConfiguration(preemptionGracePeriodSeconds: 20)
    public var retryPolicy = RetryPolicy(
        maxAttempts: 1_000, initialBackoffSeconds: 10, maxBackoffSeconds: 60, multiplier: 2)
    /// A backlogged queue's dominant share, averaged over a window, may fall this far below its fair share.
    public var fairShareTolerance = 0.10
    public var fairShareWindow = 10
    /// Tasks with accelerators train: each GPU consumes this many tokens per second (about a 7B model on an
    /// H100), so a preempted one recomputes what it trained since its last checkpoint. CPU tasks train nothing.
    public var tokensPerGPUSecond = 3_000.0
    /// Steps between a training task's periodic checkpoints, per job, uniform in this range. A victim stops
    /// training when it is told (as `SingleWorkerTraining` does) and is assumed not to finish one more checkpoint
    /// in its grace period (a large model's save outlasts it): the case checkpoint-aware victim choice is for.
    public var checkpointEverySteps: ClosedRange<Int> = 2...6

    public init() {}
}

public struct SimulationReport: Sendable {
    public var steps = 0
    public var jobs = 0
    public var tasksPlaced = 0
    public var tasksCompleted = 0
    public var preemptions = 0
    public var requeuedByWorkerFailure = 0
    public var workerFailures = 0
    public var jobsNeverPlaced = 0
    public var jobsUnfinished = 0
    /// Longest wait, in steps, between a job becoming eligible and its placement.
    public var longestWaitSteps = 0
    /// Worst (fair share - average share) of a backlogged queue over a window in which another queue borrowed.
    public var worstFairShareDeficit = 0.0
    public var fairShareWindowsChecked = 0
    /// Every broken invariant, with the step it broke at. Empty when the run was clean.
    public var violations: [String] = []
    /// FNV-1a over every step's placements and preemptions: same seed, same trace.
    public var traceHash: UInt64 = 0xCBF2_9CE4_8422_2325
    /// Training tokens consumed by attempts that finished or were preempted (not those lost with their worker).
    public var tokensTrained: Int64 = 0
    /// Training tokens preempted tasks had trained since their last checkpoint: work done again.
    public var tokensRecomputedByPreemption: Int64 = 0
    /// Preempted tasks that were training (had accelerators).
    public var trainingTasksPreempted = 0
}

public final class ClusterSimulation {
    public let configuration: SimulationConfiguration
    private var rng: SeededGenerator
    private var workers: [WorkerSnapshot]
    private var recoverAt: [Int: Int] = [:]
    private let jobs: [PendingJob]
    private let jobByID: [JobID: PendingJob]
    private let arrivalStep: [Int]
    private var duration: [JobID: Int] = [:]
    /// Per job: tokens each of its tasks trains per second (0: trains nothing) and seconds between checkpoints.
    private var tokensPerSecond: [JobID: Double] = [:]
    private var checkpointSeconds: [JobID: Double] = [:]
    private var pending: [JobID: PendingJob] = [:]
    private var eligibleSince: [JobID: Int] = [:]
    private var attempts: [JobID: Int] = [:]
    private var placedOnce = Set<JobID>()
    private var finished = Set<JobID>()
    private var allocations: [RunningAllocation] = []
    private var endStep: [JobID: Int] = [:]
    private var reservations: [Reservation] = []
    private let queues = SyntheticCluster.queues()
    private var shareHistory: [[(share: Double, fair: Double, backlogged: Bool)]] = []
    public private(set) var report = SimulationReport()

    /// One line per step: each queue's dominant share / fair share, `*` when backlogged.
    public var shareTimeline: [String] {
        shareHistory.enumerated().map { step, row in
            "step \(step + 1): "
                + zip(queues, row).map { q, r in
                    "\(q.name) \(Int((r.share * 100).rounded()))/\(Int((r.fair * 100).rounded()))\(r.backlogged ? "*" : "")"
                }.joined(separator: " ")
        }
    }

    public init(configuration: SimulationConfiguration) {
        self.configuration = configuration
        rng = SeededGenerator(seed: configuration.seed)
        workers = SyntheticCluster.workers(count: configuration.workers, seed: configuration.seed &+ 1)
        let generated = SyntheticCluster.jobs(taskCount: configuration.tasks, seed: configuration.seed &+ 2)
        jobs = generated
        jobByID = Dictionary(uniqueKeysWithValues: generated.map { ($0.id, $0) })
        let spread = configuration.arrivalSteps
        arrivalStep = generated.indices.map { $0 * spread / max(1, generated.count) + 1 }
        for job in jobs {
            duration[job.id] =
                configuration.durationSteps.lowerBound
                + rng.below(configuration.durationSteps.count)
        }
        // A generator of its own, so the training model leaves the durations and the trace of other runs alone.
        var training = SeededGenerator(seed: configuration.seed &+ 3)
        for job in jobs {
            let gpus = job.perTask.accelerators.values.reduce(Int64(0)) { $0.saturatingAdding($1) }
            tokensPerSecond[job.id] = Double(gpus) * configuration.tokensPerGPUSecond
            let every = configuration.checkpointEverySteps
            checkpointSeconds[job.id] =
                Double(every.lowerBound + training.below(every.count)) * configuration.secondsPerStep
        }
        report.jobs = jobs.count
    }

    /// Runs until every job finished or `maxSteps`; returns the report (violations empty when all invariants held).
    public func run() -> SimulationReport {
        var nextArrival = 0
        var step = 0
        while step < configuration.maxSteps {
            step += 1
            let now = SchedulerTime(step) * configuration.secondsPerStep
            failAndRecoverWorkers(step: step, now: now)
            retireFinishedAndPreempted(step: step, now: now)
            while nextArrival < jobs.count && arrivalStep[nextArrival] <= step {
                let job = jobs[nextArrival]
                pending[job.id] = job
                eligibleSince[job.id] = step
                nextArrival += 1
            }
            let snapshot = ClusterSnapshot(
                now: now, workers: workers, allocations: allocations.map { withWorkAtRisk($0, now: now) },
                pendingJobs: pending.values.sorted { $0.id < $1.id }, queues: queues,
                previousReservations: reservations)
            let decisions = Scheduler(configuration: configuration.scheduler).schedule(snapshot)
            InvariantChecker.check(decisions, against: snapshot, step: step, into: &report.violations)
            apply(decisions, snapshot: snapshot, step: step, now: now)
            recordShares(snapshot: snapshot, decisions: decisions)
            if nextArrival == jobs.count && pending.isEmpty && allocations.isEmpty { break }
            if report.violations.count > 20 { break }
        }
        report.steps = step
        report.jobsNeverPlaced = jobs.filter { !placedOnce.contains($0.id) }.count
        report.jobsUnfinished = jobs.count - finished.count
        checkFairShareWindows()
        return report
    }

    private func failAndRecoverWorkers(step: Int, now: SchedulerTime) {
        for (w, at) in recoverAt.sorted(by: { $0.key < $1.key }) where at <= step {
            workers[w].isAlive = true
            recoverAt[w] = nil
        }
        var lost = Set<WorkerID>()
        for w in workers.indices where workers[w].isAlive && rng.chance(configuration.workerFailureProbability) {
            workers[w].isAlive = false
            recoverAt[w] = step + configuration.workerRecoverySteps
            lost.insert(workers[w].id)
            report.workerFailures += 1
        }
        guard !lost.isEmpty else { return }
        // A gang that loses a member loses the whole attempt; every job on a lost worker retries after backoff.
        let hitJobs = Set(allocations.filter { lost.contains($0.worker) }.map(\.job))
        requeue(jobs: hitJobs, step: step, now: now, backoff: true)
    }

    /// The allocation as its trainer would report it at `now`: tokens since its last periodic checkpoint.
    private func withWorkAtRisk(_ allocation: RunningAllocation, now: SchedulerTime) -> RunningAllocation {
        var a = allocation
        let (sinceCheckpoint, checkpointed) = secondsSinceCheckpoint(a, at: now)
        a.lastCheckpointAt = checkpointed
        let rate = tokensPerSecond[a.job] ?? 0
        a.tokensSinceCheckpoint = rate > 0 ? Int64(rate * sinceCheckpoint) : nil
        return a
    }

    /// Seconds trained since the last checkpoint at `time`, and when that checkpoint was (nil: none yet).
    private func secondsSinceCheckpoint(_ a: RunningAllocation, at time: SchedulerTime) -> (
        Double, SchedulerTime?
    ) {
        let every = checkpointSeconds[a.job] ?? .infinity
        let elapsed = max(0, time - a.startedAt)
        let since = elapsed.truncatingRemainder(dividingBy: every)
        return (since, elapsed >= every ? time - since : nil)
    }

    private func retireFinishedAndPreempted(step: Int, now: SchedulerTime) {
        var done = Set<JobID>()
        var preempted = Set<JobID>()
        for a in allocations {
            if let deadline = a.preemptionDeadline, deadline <= now {
                preempted.insert(a.job)
            } else if (endStep[a.job] ?? .max) <= step {
                done.insert(a.job)
            }
        }
        done.subtract(preempted)
        // A victim stops training when told (its deadline minus the grace period) and recomputes everything it
        // trained since its last checkpoint before that.
        let grace = configuration.scheduler.preemptionGracePeriodSeconds
        for a in allocations where preempted.contains(a.job) {
            let rate = tokensPerSecond[a.job] ?? 0
            guard rate > 0, let deadline = a.preemptionDeadline else { continue }
            report.trainingTasksPreempted += 1
            report.tokensRecomputedByPreemption += Int64(rate * secondsSinceCheckpoint(a, at: deadline - grace).0)
        }
        for a in allocations where preempted.contains(a.job) || done.contains(a.job) {
            let stoppedAt = a.preemptionDeadline.map { $0 - grace } ?? now
            report.tokensTrained += Int64((tokensPerSecond[a.job] ?? 0) * max(0, stoppedAt - a.startedAt))
        }
        if !done.isEmpty {
            let before = allocations.count
            allocations.removeAll { done.contains($0.job) }
            report.tasksCompleted += before - allocations.count
            finished.formUnion(done)
        }
        requeue(jobs: preempted, step: step, now: now, backoff: false)
    }

    /// Takes every allocation of `ids` off the cluster and puts the jobs back in line with their original order.
    private func requeue(jobs ids: Set<JobID>, step: Int, now: SchedulerTime, backoff: Bool) {
        guard !ids.isEmpty else { return }
        allocations.removeAll { ids.contains($0.job) }
        for id in ids.sorted() {
            guard let original = jobByID[id] else { continue }
            var job = original
            if backoff {
                report.requeuedByWorkerFailure += 1
                let attempt = (attempts[id] ?? 1)
                attempts[id] = attempt + 1
                if case .retry(_, let notBefore) = configuration.retryPolicy.decision(
                    afterFailedAttempt: attempt, failedAt: now)
                {
                    job.notBefore = notBefore
                }
            }
            pending[id] = job
            endStep[id] = nil
            eligibleSince[id] = step
        }
    }

    private func apply(_ decisions: SchedulingDecisions, snapshot: ClusterSnapshot, step: Int, now: SchedulerTime) {
        var byJob: [JobID: [Placement]] = [:]
        for p in decisions.placements { byJob[p.job, default: []].append(p) }
        for (id, placements) in byJob.sorted(by: { $0.key < $1.key }) {
            guard let job = pending[id] else { continue }
            for p in placements {
                allocations.append(
                    RunningAllocation(
                        task: p.task, job: id, worker: p.worker, resources: job.perTask, priority: job.priority,
                        queue: job.queue, startedAt: now, isGangMember: job.isGang))
            }
            pending[id] = nil
            if !placedOnce.contains(id) {
                placedOnce.insert(id)
                report.longestWaitSteps = max(report.longestWaitSteps, step - (eligibleSince[id] ?? step))
            }
            endStep[id] = step + (duration[id] ?? 1)
        }
        report.tasksPlaced += decisions.placements.count
        report.preemptions += decisions.preemptions.count
        var deadline: [TaskID: SchedulerTime] = [:]
        for p in decisions.preemptions { deadline[p.victim] = p.gracePeriodEndsAt }
        if !deadline.isEmpty {
            for i in allocations.indices {
                if let d = deadline[allocations[i].task] { allocations[i].preemptionDeadline = d }
            }
        }
        reservations = decisions.reservations
        for p in decisions.placements {
            mix(UInt64(step))
            mix(UInt64(p.task.rawValue))
            mix(UInt64(p.worker.rawValue))
        }
        for p in decisions.preemptions {
            mix(UInt64(step))
            mix(UInt64(p.victim.rawValue))
            mix(UInt64(p.preemptor.rawValue))
        }
    }

    private func mix(_ value: UInt64) {
        var v = value
        for _ in 0..<8 {
            report.traceHash = (report.traceHash ^ (v & 0xFF)) &* 0x100_0000_01B3
            v >>= 8
        }
    }

    private func recordShares(snapshot: ClusterSnapshot, decisions: SchedulingDecisions) {
        let shares = InvariantChecker.shares(
            workers: workers, allocations: allocations, queues: queues,
            pendingQueues: Set(pending.values.map(\.queue)))
        // Backlogged: the queue has single tasks, free to go on any worker, waiting for capacity (not for backoff,
        // its own quota, or a gang's packing, which reclaiming from other queues cannot always satisfy).
        var backlogged = Set<String>()
        let jobByID = Dictionary(uniqueKeysWithValues: snapshot.pendingJobs.map { ($0.id, $0) })
        for reason in decisions.pending {
            guard let job = jobByID[reason.job], !job.isGang, job.nodeSelector.isEmpty,
                reason.causes.contains(where: {
                    if case .insufficientCapacity = $0 { return true }
                    return false
                })
            else { continue }
            backlogged.insert(job.queue)
        }
        shareHistory.append(
            queues.map { q in (shares.share[q.name] ?? 0, shares.fair[q.name] ?? 0, backlogged.contains(q.name)) })
    }

    /// Over every window of `fairShareWindow` steps in which a queue was backlogged throughout, its average
    /// dominant share must reach its fair share minus the tolerance whenever another queue was borrowing (averaged
    /// over its fair share) in that window: otherwise reclaiming has failed. Queues held down by their own quota
    /// are exempt.
    private func checkFairShareWindows() {
        let window = configuration.fairShareWindow
        guard shareHistory.count >= window else { return }
        for start in stride(from: 0, through: shareHistory.count - window, by: window) {
            let slice = shareHistory[start..<(start + window)]
            func averageShare(_ q: Int) -> Double { slice.reduce(0) { $0 + $1[q].share } / Double(window) }
            func averageFair(_ q: Int) -> Double { slice.reduce(0) { $0 + $1[q].fair } / Double(window) }
            for (q, queue) in queues.enumerated() {
                guard slice.allSatisfy({ $0[q].backlogged }) else { continue }
                report.fairShareWindowsChecked += 1
                let share = averageShare(q)
                let fair = averageFair(q)
                let deficit = fair - share
                let someoneBorrowing = queues.indices.contains { o in o != q && averageShare(o) > averageFair(o) + 1e-9
                }
                guard someoneBorrowing && queue.quota == nil else { continue }
                report.worstFairShareDeficit = max(report.worstFairShareDeficit, deficit)
                if deficit > configuration.fairShareTolerance {
                    report.violations.append(
                        "fair share: queue \(queue.name) averaged \(share) vs fair \(fair) over steps \(start + 1)-\(start + window)"
                    )
                }
            }
        }
    }
}
