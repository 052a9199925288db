// Scheduler benchmark: times full scheduling passes on synthetic clusters. Run in release mode:
//   swift run -c release SchedulerBench
// Every pass includes building the indexes from the snapshot, as the control plane would call it.
import ClusterModel
import Dispatch
import Glibc
import Scheduler

/// CPU time of this thread, so a busy shared machine does not inflate the figures (wall time is printed too).
func threadCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

func measure(_ body: () -> Void) -> (cpu: Double, wall: Double) {
    let wall = DispatchTime.now().uptimeNanoseconds
    let cpu = threadCPUSeconds()
    body()
    return (threadCPUSeconds() - cpu, Double(DispatchTime.now().uptimeNanoseconds - wall) / 1e9)
}

/// Median of `runs` timings of one pass over `snapshot` (by CPU time); returns the last decisions too.
func timePass(_ snapshot: ClusterSnapshot, runs: Int = 5, victimPolicy: VictimPolicy = .checkpointAware) -> (
    seconds: Double, wall: Double, decisions: SchedulingDecisions
) {
    let scheduler = Scheduler(configuration: SchedulerConfiguration(victimPolicy: victimPolicy))
    var decisions = scheduler.schedule(snapshot) // warm-up
    var times: [(cpu: Double, wall: Double)] = []
    for _ in 0..<runs { times.append(measure { decisions = scheduler.schedule(snapshot) }) }
    let median = times.sorted { $0.cpu < $1.cpu }[runs / 2]
    return (median.cpu, median.wall, decisions)
}

func format(_ s: Double) -> String {
    let ms = s * 1000
    return ms < 10 ? String(Int(ms * 100)).withDecimal(2) : String(Int(ms.rounded())) + " ms"
}

extension String {
    func withDecimal(_ places: Int) -> String {
        let padded = String(repeating: "0", count: max(0, places + 1 - count)) + self
        return padded.dropLast(places) + "." + padded.suffix(places) + " ms"
    }
}

let queues = SyntheticCluster.queues()
/// `SchedulerBench [full|single|loaded|scaling]...` runs only the named scenarios (all by default);
/// `SchedulerBench preemption` runs the checkpoint-aware vs priority-only simulations (only when named: ~2 min).
let selected = Set(CommandLine.arguments.dropFirst())
func wanted(_ name: String) -> Bool { selected.isEmpty || selected.contains(name) }

print(
    "SchedulerBench (release, one thread; median of 5 passes by thread CPU time, wall time in brackets; index building included)"
)

// 1. The headline: 100,000 pending tasks (mixed sizes, ~10% in gangs) onto 10,000 empty workers.
if wanted("full") {
    let workers = SyntheticCluster.workers(count: 10_000, seed: 1)
    let jobs = SyntheticCluster.jobs(taskCount: 100_000, seed: 2)
    let gangTasks = jobs.filter(\.isGang).reduce(0) { $0 + $1.tasks.count }
    let total = jobs.reduce(0) { $0 + $1.tasks.count }
    let (time, wall, d) = timePass(ClusterSnapshot(now: 0, workers: workers, pendingJobs: jobs, queues: queues))
    print(
        "full pass, 100k mixed tasks (\(gangTasks * 100 / total)% in gangs, \(jobs.count) jobs) on 10k workers: \(format(time)) [wall \(format(wall))]; "
            + "placed \(d.statistics.tasksPlaced) tasks, \(d.statistics.gangsPlaced) gangs, \(d.statistics.jobsPending) jobs pending, "
            + "\(d.reservations.count) reservations")
}

// 2. Single-task placement rate: 100,000 one-task jobs on 10,000 workers.
if wanted("single") {
    let workers = SyntheticCluster.workers(count: 10_000, seed: 3)
    let jobs = SyntheticCluster.jobs(taskCount: 100_000, seed: 4, singleTaskOnly: true)
    let (time, wall, d) = timePass(ClusterSnapshot(now: 0, workers: workers, pendingJobs: jobs, queues: queues))
    let rate = Double(d.statistics.tasksPlaced) / time
    print(
        "single-task placements: \(d.statistics.tasksPlaced) in \(format(time)) [wall \(format(wall))] = \(Int(rate)) placements/s"
    )
}

// 3. A loaded cluster: ~200k tasks running, every GPU taken, 100k more pending; most wait with a reason.
if wanted("loaded") {
    let workers = SyntheticCluster.workers(count: 10_000, seed: 5)
    let filler = SyntheticCluster.jobs(taskCount: 200_000, seed: 6, singleTaskOnly: true)
    let first = Scheduler().schedule(ClusterSnapshot(now: 0, workers: workers, pendingJobs: filler, queues: queues))
    let perTask = Dictionary(uniqueKeysWithValues: filler.map { ($0.id, $0) })
    var allocations = first.placements.map { p -> RunningAllocation in
        let j = perTask[p.job]!
        return RunningAllocation(
            task: p.task, job: p.job, worker: p.worker, resources: j.perTask, priority: j.priority,
            queue: j.queue, startedAt: 0)
    }
    // Fill the GPUs too.
    for w in workers where !w.capacity.accelerators.isEmpty {
        allocations.append(
            RunningAllocation(
                task: TaskID(10_000_000 + w.id.rawValue), job: JobID(10_000_000), worker: w.id,
                resources: Resources(accelerators: w.capacity.accelerators), priority: 10,
                queue: "prod", startedAt: 0, isPreemptible: false))
    }
    let jobs = SyntheticCluster.jobs(taskCount: 100_000, seed: 7, firstID: 1_000_000)
    let (time, wall, d) = timePass(
        ClusterSnapshot(now: 1, workers: workers, allocations: allocations, pendingJobs: jobs, queues: queues))
    print(
        "loaded pass: \(allocations.count) tasks running (GPUs full), 100k more pending on 10k workers: \(format(time)) [wall \(format(wall))]; "
            + "placed \(d.statistics.tasksPlaced), \(d.statistics.jobsPending) jobs pending with reasons, "
            + "\(d.statistics.preemptionAttempts) preemption searches, \(d.preemptions.count) preemptions")
    // The anchor: the same pass with the victim order before issue 20 (checkpoint-aware sorts every worker's
    // allocations by work at risk once per pass; this says what that costs).
    let (anchor, _, _) = timePass(
        ClusterSnapshot(now: 1, workers: workers, allocations: allocations, pendingJobs: jobs, queues: queues),
        victimPolicy: .priorityOnly)
    print(
        "loaded pass with priority-only victims: \(format(anchor)); checkpoint-aware / priority-only = "
            + String(format: "%.2f", time / anchor))
}

// 4. Growth with cluster size: 10 pending tasks per worker.
for count in [1_000, 2_000, 5_000, 10_000] where wanted("scaling") {
    let workers = SyntheticCluster.workers(count: count, seed: 8)
    let jobs = SyntheticCluster.jobs(taskCount: count * 10, seed: 9)
    let (time, wall, d) = timePass(ClusterSnapshot(now: 0, workers: workers, pendingJobs: jobs, queues: queues))
    print(
        "scaling: \(count) workers, \(count * 10) tasks: \(format(time)) [wall \(format(wall))] (placed \(d.statistics.tasksPlaced))"
    )
}

// 5. Checkpoint-aware preemption (issue 20): the seeded simulation, same workload under each victim policy; total
// training tokens recomputed after preemptions. The full-size run and the sustained-contention run of
// SimulationTests (which preempts much more), each with checkpoints every 2-6 steps (the default) and every 3-12.
if selected.contains("preemption") {
    let full = SimulationConfiguration()
    var contention = SimulationConfiguration()
    contention.seed = 11
    contention.workers = 400
    contention.tasks = 24_000
    contention.arrivalSteps = 100
    contention.durationSteps = 5...15
    for (name, base) in [
        ("full simulation (10k workers, 100k tasks, 10-40 steps each, seed 42)", full),
        ("sustained contention (400 workers, 24k tasks, 5-15 steps each, seed 11)", contention),
    ] {
        for every in [2...6, 3...12] {
            var configuration = base
            configuration.checkpointEverySteps = every
            print("preemption, \(name), checkpoints every \(every.lowerBound)-\(every.upperBound) steps:")
            print(PreemptionComparison.run(configuration).summary)
        }
    }
}
