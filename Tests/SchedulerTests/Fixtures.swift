// Small hand-made clusters for the policy tests.
import ClusterModel

@testable import Scheduler

let gib: Int64 = 1 << 30

func cpu(_ cores: Int64, memoryGi: Int64 = 0, gpus: Int64 = 0, gpuType: AcceleratorType = "gpu-h100") -> Resources {
    Resources(cpuMillis: cores * 1000, memoryBytes: memoryGi * gib, accelerators: gpus > 0 ? [gpuType: gpus] : [:])
}

func worker(_ id: Int64, _ capacity: Resources, labels: Labels = [:], alive: Bool = true, shards: [String] = [])
    -> WorkerSnapshot
{
    WorkerSnapshot(id: WorkerID(id), capacity: capacity, labels: labels, isAlive: alive, cachedShards: shards)
}

/// A job whose task ids are `id * 100 + 0, 1, ...`.
func job(
    _ id: Int64, queue: String = "default", priority: Int = 0, sequence: Int64? = nil, tasks: Int = 1,
    gang: Bool = false,
    _ perTask: Resources, selector: Labels = [:], preferred: [PreferredLabel] = [], packBy: String? = nil,
    shards: [String] = [], notBefore: Double? = nil
) -> PendingJob {
    PendingJob(
        id: JobID(id), queue: queue, priority: priority, submissionSequence: sequence ?? id,
        tasks: (0..<tasks).map { TaskID(id * 100 + Int64($0)) }, isGang: gang, perTask: perTask,
        nodeSelector: selector, preferredLabels: preferred, packBy: packBy, wantedShards: shards, notBefore: notBefore)
}

func running(
    _ task: Int64, job: Int64, on worker: Int64, _ resources: Resources, queue: String = "default", priority: Int = 0,
    startedAt: Double = 0, preemptible: Bool = true, gang: Bool = false
) -> RunningAllocation {
    RunningAllocation(
        task: TaskID(task), job: JobID(job), worker: WorkerID(worker), resources: resources, priority: priority,
        queue: queue, startedAt: startedAt, isPreemptible: preemptible, isGangMember: gang)
}

extension SchedulingDecisions {
    func workers(of job: Int64) -> [Int64] {
        placements.filter { $0.job == JobID(job) }.map { $0.worker.rawValue }
    }
    func reasonText(_ job: Int64) -> String? { pendingReason(for: JobID(job))?.text }
}

/// Drives passes over a tiny cluster: applies placements, finishes tasks after their duration, executes
/// preemptions when their grace period ends. Used by tests that need several passes.
struct MiniCluster {
    var workers: [WorkerSnapshot]
    var queues: [QueueSpec]
    var pending: [PendingJob] = []
    var allocations: [RunningAllocation] = []
    var reservations: [Reservation] = []
    var finishAt: [TaskID: Double] = [:]
    var duration: [JobID: Double] = [:]
    var now: Double = 0
    var scheduler = Scheduler()

    init(workers: [WorkerSnapshot], queues: [QueueSpec] = [QueueSpec(name: "default")]) {
        self.workers = workers
        self.queues = queues
    }

    mutating func submit(_ job: PendingJob, duration: Double) {
        pending.append(job)
        self.duration[job.id] = duration
    }

    /// Advances time by one, retires finished and preempted tasks, runs one pass and applies it.
    @discardableResult
    mutating func step() -> SchedulingDecisions {
        now += 1
        var requeue: [JobID: [RunningAllocation]] = [:]
        allocations.removeAll { a in
            if let deadline = a.preemptionDeadline, deadline <= now {
                requeue[a.job, default: []].append(a)
                return true
            }
            return (finishAt[a.task] ?? .infinity) <= now
        }
        for (jobID, victims) in requeue.sorted(by: { $0.key < $1.key }) {
            let first = victims[0]
            pending.append(
                PendingJob(
                    id: jobID, queue: first.queue, priority: first.priority, submissionSequence: jobID.rawValue,
                    tasks: victims.map(\.task).sorted(), isGang: first.isGangMember,
                    perTask: first.resources))
        }
        let snapshot = ClusterSnapshot(
            now: now, workers: workers, allocations: allocations, pendingJobs: pending,
            queues: queues, previousReservations: reservations)
        let decisions = scheduler.schedule(snapshot)
        let jobs = Dictionary(uniqueKeysWithValues: pending.map { ($0.id, $0) })
        for p in decisions.placements {
            let j = jobs[p.job]!
            allocations.append(
                RunningAllocation(
                    task: p.task, job: p.job, worker: p.worker, resources: j.perTask, priority: j.priority,
                    queue: j.queue, startedAt: now, isGangMember: j.isGang))
            finishAt[p.task] = now + (duration[p.job] ?? 1)
        }
        let placed = Set(decisions.placements.map(\.task))
        pending = pending.compactMap { j in
            var j = j
            j.tasks.removeAll { placed.contains($0) }
            return j.tasks.isEmpty ? nil : j
        }
        for pre in decisions.preemptions {
            if let i = allocations.firstIndex(where: { $0.task == pre.victim }) {
                allocations[i].preemptionDeadline = pre.gracePeriodEndsAt
            }
        }
        reservations = decisions.reservations
        return decisions
    }

    func isRunning(_ job: Int64) -> Bool { allocations.contains { $0.job == JobID(job) } }
}
