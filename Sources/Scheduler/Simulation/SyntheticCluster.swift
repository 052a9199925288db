// Synthetic clusters and workloads for the simulation and the benchmark: a mix of GPU and CPU workers in racks
// and zones, and a mix of small CPU tasks, GPU tasks, and gangs (some packed by rack, some with node selectors).
import ClusterModel

public enum SyntheticCluster {
    public static let gib: Int64 = 1 << 30
    public static let queueNames = ["prod", "research", "batch", "eval"]

    /// `count` workers: 30% with 8 × gpu-h100, 10% with 8 × gpu-a100, the rest CPU-only; 40 workers per rack,
    /// racks spread over four zones; pool label by hardware.
    public static func workers(count: Int, seed: UInt64) -> [WorkerSnapshot] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { i in
            let kind = rng.below(10)
            let rack = i / 40
            var labels: Labels = ["rack": "r\(rack)", "zone": "z\(rack % 4)"]
            let capacity: Resources
            if kind < 3 {
                capacity = Resources(cpuMillis: 96_000, memoryBytes: 1024 * gib, accelerators: ["gpu-h100": 8])
                labels["pool"] = "h100"
            } else if kind < 4 {
                capacity = Resources(cpuMillis: 64_000, memoryBytes: 512 * gib, accelerators: ["gpu-a100": 8])
                labels["pool"] = "a100"
            } else {
                capacity = Resources(cpuMillis: 64_000, memoryBytes: 256 * gib)
                labels["pool"] = "cpu"
            }
            let shards = (0..<2).map { _ in "shard-\(rng.below(5_000))" }
            return WorkerSnapshot(id: WorkerID(Int64(i + 1)), capacity: capacity, labels: labels, cachedShards: shards)
        }
    }

    public static func queues() -> [QueueSpec] {
        [
            QueueSpec(name: "prod", weight: 4), QueueSpec(name: "research", weight: 3),
            QueueSpec(
                name: "batch", weight: 2, quota: Resources(accelerators: ["gpu-h100": 4_000, "gpu-a100": 2_000])),
            QueueSpec(name: "eval", weight: 1),
        ]
    }

    /// Jobs totalling about `taskCount` tasks, ~10% of them in gangs. Ids and task ids start at `firstID`.
    /// `sequence` is the submission sequence of the first job.
    public static func jobs(
        taskCount: Int, seed: UInt64, firstID: Int64 = 1, sequence: Int64 = 0,
        gangFraction: Double = 0.1, singleTaskOnly: Bool = false
    ) -> [PendingJob] {
        var rng = SeededGenerator(seed: seed)
        var jobs: [PendingJob] = []
        var tasks = 0
        var id = firstID
        var taskID = firstID * 64
        while tasks < taskCount {
            let queue = queueNames[rng.below(queueNames.count)]
            let priority = rng.below(10) < 8 ? 0 : rng.below(3) * 5
            var job: PendingJob
            if !singleTaskOnly && rng.chance(gangFraction / 8) {
                // Gangs average 9 tasks: one job in 8/gangFraction being a gang puts ~gangFraction of tasks in gangs.
                let size = [4, 8, 8, 16][rng.below(4)]
                let packed = rng.chance(0.5)
                job = PendingJob(
                    id: JobID(id), queue: queue, priority: priority, submissionSequence: sequence + id - firstID,
                    tasks: (0..<size).map { TaskID(taskID + Int64($0)) }, isGang: true,
                    perTask: Resources(
                        cpuMillis: 8_000, memoryBytes: 64 * gib,
                        accelerators: ["gpu-h100": Int64([2, 4, 8][rng.below(3)])]),
                    nodeSelector: ["pool": "h100"], packBy: packed ? "rack" : nil)
                taskID += Int64(size)
                tasks += size
            } else {
                let shape = rng.below(20)
                let perTask: Resources
                var selector: Labels = [:]
                var preferred: [PreferredLabel] = []
                if shape < 2 && !singleTaskOnly {
                    perTask = Resources(
                        cpuMillis: 4_000, memoryBytes: 32 * gib,
                        accelerators: [rng.chance(0.7) ? "gpu-h100" : "gpu-a100": Int64(1 + rng.below(2))])
                } else {
                    perTask = Resources(
                        cpuMillis: Int64([500, 1_000, 2_000, 4_000, 8_000][rng.below(5)]),
                        memoryBytes: Int64([2, 4, 8, 16][rng.below(4)]) * gib)
                    if shape == 2 { selector = ["pool": "cpu"] }
                    if shape == 3 { preferred = [PreferredLabel(key: "zone", value: "z\(rng.below(4))")] }
                }
                let shards = !singleTaskOnly && shape == 4 ? ["shard-\(rng.below(5_000))"] : []
                job = PendingJob(
                    id: JobID(id), queue: queue, priority: priority, submissionSequence: sequence + id - firstID,
                    tasks: [TaskID(taskID)], perTask: perTask, nodeSelector: selector, preferredLabels: preferred,
                    wantedShards: shards)
                taskID += 1
                tasks += 1
            }
            jobs.append(job)
            id += 1
        }
        return jobs
    }
}
