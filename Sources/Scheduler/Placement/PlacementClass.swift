import ClusterModel

// A placement class groups jobs that see the same candidate workers: same node selector, same preferred labels,
// same packing key. Its candidate list (selector-matching workers, best affinity first) is built once per pass.

struct PlacementClassKey: Hashable {
    var nodeSelector: [String: String]
    var preferred: [PreferredLabel]
    var packBy: String?
}

struct PlacementClass {
    /// Interned selector terms; `satisfiable` is false when some term names a label no alive worker has.
    var selector: [(key: Int, value: Int32)]
    var satisfiable: Bool
    var preferred: [(key: Int, value: Int32, weight: Int)]
    /// Interned packing key, -1 when the job does not pack, -2 when no alive worker has the key.
    var packKey: Int
    var candidates: [Int32]?

    init(key: PlacementClassKey, index: ClusterIndex) {
        var terms: [(Int, Int32)] = []
        var satisfiable = true
        for (k, v) in key.nodeSelector.sorted(by: { $0.key < $1.key }) {
            if let term = index.labelTerm(k, v) { terms.append(term) } else { satisfiable = false }
        }
        selector = terms
        self.satisfiable = satisfiable
        preferred = key.preferred.compactMap { p in index.labelTerm(p.key, p.value).map { ($0.key, $0.value, p.weight) }
        }
        if let packBy = key.packBy { packKey = index.labelKeySlot[packBy] ?? -2 } else { packKey = -1 }
    }

    /// `Labels.satisfies(selector:)` on interned labels (a pass compares integers, not strings).
    @inline(__always) func matches(worker w: Int, index: ClusterIndex) -> Bool {
        if !satisfiable { return false }
        for term in selector where index.labelValue(worker: w, key: term.key) != term.value { return false }
        return true
    }

    /// Selector-matching workers, highest affinity score first, then worker order (which packs work low).
    mutating func candidateList(index: ClusterIndex) -> [Int32] {
        if let candidates { return candidates }
        var list: [Int32] = []
        if satisfiable && packKey != -2 {
            list.reserveCapacity(index.workerCount)
            for w in 0..<index.workerCount where matches(worker: w, index: index) { list.append(Int32(w)) }
            if !preferred.isEmpty {
                var score = [Int](repeating: 0, count: index.workerCount)
                for w in list {
                    for p in preferred where index.labelValue(worker: Int(w), key: p.key) == p.value {
                        score[Int(w)] += p.weight
                    }
                }
                list.sort { score[Int($0)] != score[Int($1)] ? score[Int($0)] > score[Int($1)] : $0 < $1 }
            }
        }
        candidates = list
        return list
    }
}
