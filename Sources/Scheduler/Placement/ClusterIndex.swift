// Interned, flat view of the cluster for one pass: resources become fixed-width Int64 vectors
// (cpu, memory, one slot per accelerator type), label keys and values become small integers.
// Hot loops touch only these buffers, never strings or dictionaries.
import ClusterModel

final class ClusterIndex {
    /// Vector width: cpu, memory, then accelerators in name order.
    let dims: Int
    let acceleratorNames: [AcceleratorType]
    private let acceleratorSlot: [AcceleratorType: Int]

    let workerCount: Int
    /// Index → snapshot position of each alive worker.
    let workerSnapshotIndex: [Int]
    let workerIDs: [WorkerID]
    let workerPosition: [WorkerID: Int32]

    let labelKeys: [String]
    let labelKeySlot: [String: Int]
    private(set) var labelValueIDs: [[String: Int32]]
    /// `labelValues[w * keyCount + k]` is the interned value of key `k` on worker `w`, or -1.
    let labelValues: UnsafeMutablePointer<Int32>
    var keyCount: Int { labelKeys.count }

    let capacity: UnsafeMutablePointer<Int64>
    /// Capacity minus running allocations minus reservations; may go negative under a reservation.
    let free: UnsafeMutablePointer<Int64>
    /// Sum of reservations held on each worker.
    let reserved: UnsafeMutablePointer<Int64>
    let totalCapacity: [Int64]
    /// 1 / total capacity per dimension (0 where the cluster has none), for dominant shares.
    let inverseTotal: [Double]

    init(snapshot: ClusterSnapshot) {
        var accelerators = Set<AcceleratorType>()
        for w in snapshot.workers where w.isAlive { accelerators.formUnion(w.capacity.accelerators.keys) }
        for j in snapshot.pendingJobs { accelerators.formUnion(j.perTask.accelerators.keys) }
        for q in snapshot.queues { if let quota = q.quota { accelerators.formUnion(quota.accelerators.keys) } }
        for a in snapshot.allocations { accelerators.formUnion(a.resources.accelerators.keys) }
        acceleratorNames = accelerators.sorted()
        var slots: [AcceleratorType: Int] = [:]
        for (i, name) in acceleratorNames.enumerated() { slots[name] = 2 + i }
        acceleratorSlot = slots
        let dims = 2 + acceleratorNames.count
        self.dims = dims

        var keys = Set<String>()
        for w in snapshot.workers where w.isAlive { keys.formUnion(w.labels.keys) }
        labelKeys = keys.sorted()
        var keySlot: [String: Int] = [:]
        for (i, k) in labelKeys.enumerated() { keySlot[k] = i }
        labelKeySlot = keySlot
        labelValueIDs = Array(repeating: [:], count: labelKeys.count)

        var snapshotIndex: [Int] = []
        var ids: [WorkerID] = []
        var position: [WorkerID: Int32] = [:]
        // Worker order is id order, whatever order the snapshot lists them in: decisions must not depend on it.
        let order = snapshot.workers.indices.sorted { snapshot.workers[$0].id < snapshot.workers[$1].id }
        for i in order where snapshot.workers[i].isAlive && position[snapshot.workers[i].id] == nil {
            let w = snapshot.workers[i]
            position[w.id] = Int32(ids.count)
            snapshotIndex.append(i)
            ids.append(w.id)
        }
        workerSnapshotIndex = snapshotIndex
        workerIDs = ids
        workerPosition = position
        let count = ids.count
        workerCount = count

        let keyCount = labelKeys.count
        labelValues = .allocate(capacity: max(1, count * keyCount))
        labelValues.initialize(repeating: -1, count: max(1, count * keyCount))
        capacity = .allocate(capacity: max(1, count * dims))
        free = .allocate(capacity: max(1, count * dims))
        reserved = .allocate(capacity: max(1, count * dims))
        reserved.initialize(repeating: 0, count: max(1, count * dims))
        var total = [Int64](repeating: 0, count: dims)
        for w in 0..<count {
            let worker = snapshot.workers[snapshotIndex[w]]
            let base = w * dims
            let vector = Self.vector(worker.capacity, dims: dims, slots: slots)
            for d in 0..<dims {
                capacity[base + d] = vector[d]
                free[base + d] = vector[d]
                total[d] = total[d].saturatingAdding(vector[d])
            }
            for (key, value) in worker.labels {
                let k = keySlot[key]!
                let id: Int32
                if let existing = labelValueIDs[k][value] {
                    id = existing
                } else {
                    id = Int32(labelValueIDs[k].count)
                    labelValueIDs[k][value] = id
                }
                labelValues[w * keyCount + k] = id
            }
        }
        totalCapacity = total
        inverseTotal = total.map { $0 > 0 ? 1 / Double($0) : 0 }
    }

    deinit {
        labelValues.deallocate()
        capacity.deallocate()
        free.deallocate()
        reserved.deallocate()
    }

    /// Quantities are clamped into `ResourceLimits` first: a worker or request stored before the limits were
    /// checked cannot make a sum trap. Quotas (aggregates, only compared) pass `clamp: false`.
    static func vector(_ r: Resources, dims: Int, slots: [AcceleratorType: Int], clamp: Bool = true) -> [Int64] {
        let r = clamp ? r.clampedToLimits : r
        var v = [Int64](repeating: 0, count: dims)
        v[0] = r.cpuMillis
        v[1] = r.memoryBytes
        for (kind, n) in r.accelerators { if let s = slots[kind] { v[s] = n } }
        return v
    }

    func vector(_ r: Resources) -> [Int64] { Self.vector(r, dims: dims, slots: acceleratorSlot) }

    /// A queue quota as a vector, unclamped: a quota may exceed what one worker can offer.
    func quotaVector(_ r: Resources) -> [Int64] { Self.vector(r, dims: dims, slots: acceleratorSlot, clamp: false) }

    /// Writes `r` as a vector into `target[0..<dims]` without allocating, clamped into `ResourceLimits` one
    /// component at a time (`clampedToLimits` would build a dictionary per allocation of every pass).
    func write(_ r: Resources, into target: UnsafeMutablePointer<Int64>) {
        target[0] = ResourceLimits.clampCPUMillis(r.cpuMillis)
        target[1] = ResourceLimits.clampMemoryBytes(r.memoryBytes)
        for d in 2..<dims { target[d] = 0 }
        for (kind, n) in r.accelerators {
            if let s = acceleratorSlot[kind] { target[s] = ResourceLimits.clampAcceleratorCount(n) }
        }
    }

    func resources(_ v: [Int64]) -> Resources {
        var accelerators: [AcceleratorType: Int64] = [:]
        for (i, name) in acceleratorNames.enumerated() where v[2 + i] != 0 { accelerators[name] = v[2 + i] }
        return Resources(cpuMillis: v[0], memoryBytes: v[1], accelerators: accelerators)
    }

    /// "cpu", "memory" or the accelerator type, for reasons.
    func dimensionName(_ d: Int) -> String {
        d == 0 ? "cpu" : d == 1 ? "memory" : acceleratorNames[d - 2].rawValue
    }

    /// Interned value of `key`=`value`; nil when no alive worker carries it (the term can never match).
    func labelTerm(_ key: String, _ value: String) -> (key: Int, value: Int32)? {
        guard let k = labelKeySlot[key], let v = labelValueIDs[k][value] else { return nil }
        return (k, v)
    }

    @inline(__always) func labelValue(worker w: Int, key k: Int) -> Int32 {
        labelValues[w &* keyCount &+ k]
    }
}
