import ClusterModel

// Finding workers with room: one task (locality first, then the shape's cursor) or a whole gang
// (N distinct workers, optionally all sharing one value of the packing label).

extension SchedulingPass {
    /// The best worker with room for one task of job `j`, or nil.
    func findWorker(forTaskOf j: Int) -> Int? {
        let s = jobShape[j]
        if configuration.localityEnabled, !snapshot.pendingJobs[j].wantedShards.isEmpty,
            let w = findCachingWorker(forTaskOf: j)
        {
            return w
        }
        let c = shapeClass[s]
        let list = classes[c].candidateList(index: index)
        var cursor = shapeCursor[s]
        while cursor < list.count {
            let w = Int(list[cursor])
            if fits(worker: w, shape: s) {
                shapeCursor[s] = cursor
                return w
            }
            cursor += 1
        }
        shapeCursor[s] = cursor
        return nil
    }

    /// Among workers caching any wanted shard: most wanted shards cached first, then affinity order.
    private func findCachingWorker(forTaskOf j: Int) -> Int? {
        let s = jobShape[j]
        for w in cachingWorkers(forJob: j) where fits(worker: Int(w), shape: s) { return Int(w) }
        return nil
    }

    /// Selector-matching workers caching any of job `j`'s wanted shards, those caching the most first.
    func cachingWorkers(forJob j: Int) -> [Int32] {
        let placementClass = classes[shapeClass[jobShape[j]]]
        var hits: [Int32: Int] = [:]
        for key in snapshot.pendingJobs[j].wantedShards {
            for w in shardHolders(key) { hits[w, default: 0] += 1 }
        }
        return hits.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .map(\.key).filter { placementClass.matches(worker: Int($0), index: index) }
    }

    /// Workers for a whole gang; members go to workers caching the wanted shards first (unpacked gangs).
    func findGangWorkers(forJob j: Int) -> [Int32]? {
        let s = jobShape[j]
        let count = snapshot.pendingJobs[j].tasks.count
        guard configuration.localityEnabled, !snapshot.pendingJobs[j].wantedShards.isEmpty,
            classes[shapeClass[s]].packKey < 0, gangFailedAt[s] > count
        else {
            return findGangWorkers(shape: s, count: count)
        }
        var chosen: [Int32] = []
        var taken = Set<Int32>()
        for w in cachingWorkers(forJob: j) where chosen.count < count && fits(worker: Int(w), shape: s) {
            chosen.append(w)
            taken.insert(w)
        }
        if chosen.count < count {
            let list = classes[shapeClass[s]].candidateList(index: index)
            var i = shapeCursor[s]
            while i < list.count && chosen.count < count {
                let w = list[i]
                i += 1
                if !taken.contains(w) && fits(worker: Int(w), shape: s) { chosen.append(w) }
            }
        }
        if chosen.count < count {
            gangFailedAt[s] = min(gangFailedAt[s], count)
            return nil
        }
        return chosen
    }

    /// Alive workers whose cache holds `key` (index built on first use).
    private func shardHolders(_ key: String) -> [Int32] {
        if shardIndex == nil {
            var built: [String: [Int32]] = [:]
            for w in 0..<index.workerCount {
                for shard in snapshot.workers[index.workerSnapshotIndex[w]].cachedShards {
                    built[shard, default: []].append(Int32(w))
                }
            }
            shardIndex = built
        }
        return shardIndex?[key] ?? []
    }

    /// `count` distinct workers with room for one task each (all in one packing group if the class packs), or nil.
    func findGangWorkers(shape s: Int, count: Int) -> [Int32]? {
        if gangFailedAt[s] <= count { return nil }
        let c = shapeClass[s]
        let list = classes[c].candidateList(index: index)
        var cursor = shapeCursor[s]
        while cursor < list.count && !fits(worker: Int(list[cursor]), shape: s) { cursor += 1 }
        shapeCursor[s] = cursor
        let packKey = classes[c].packKey
        var found: [Int32]? = nil
        if packKey < 0 {
            var chosen: [Int32] = []
            chosen.reserveCapacity(count)
            var i = cursor
            while i < list.count && chosen.count < count {
                if fits(worker: Int(list[i]), shape: s) { chosen.append(list[i]) }
                i += 1
            }
            if chosen.count == count { found = chosen }
        } else {
            var groups: [Int32: [Int32]] = [:]
            var i = cursor
            while i < list.count {
                let w = Int(list[i])
                i += 1
                let group = index.labelValue(worker: w, key: packKey)
                guard group >= 0, fits(worker: w, shape: s) else { continue }
                groups[group, default: []].append(Int32(w))
                if groups[group]!.count == count {
                    found = groups[group]
                    break
                }
            }
        }
        if found == nil { gangFailedAt[s] = min(gangFailedAt[s], count) }
        return found
    }

    /// A full scan (no cursor) for `count` workers: used by reservation holders, whose own reservation
    /// was just given back and so may make workers fit that a cursor has already passed.
    func scanForWorkers(shape s: Int, count: Int, preferring preferred: [Int32]) -> [Int32]? {
        if preferred.count == count && preferred.allSatisfy({ fits(worker: Int($0), shape: s) }) { return preferred }
        let c = shapeClass[s]
        let list = classes[c].candidateList(index: index)
        let packKey = classes[c].packKey
        var groups: [Int32: [Int32]] = [:]
        for w32 in list {
            let w = Int(w32)
            guard fits(worker: w, shape: s) else { continue }
            let group: Int32 = packKey < 0 ? 0 : index.labelValue(worker: w, key: packKey)
            guard group >= 0 else { continue }
            groups[group, default: []].append(w32)
            if groups[group]!.count == count { return groups[group] }
        }
        return nil
    }

    /// How many workers of the class could hold one task even when empty (for packing: the most in one group).
    func workersThatCouldEverFit(shape s: Int) -> Int {
        if let cached = everFitsCache[s] { return cached }
        let c = shapeClass[s]
        let list = classes[c].candidateList(index: index)
        let packKey = classes[c].packKey
        var counts: [Int32: Int] = [:]
        for w32 in list where capacityFits(worker: Int(w32), shape: s) {
            let group: Int32 = packKey < 0 ? 0 : index.labelValue(worker: Int(w32), key: packKey)
            if group >= 0 { counts[group, default: 0] += 1 }
        }
        let best = counts.values.max() ?? 0
        everFitsCache[s] = best
        return best
    }
}
