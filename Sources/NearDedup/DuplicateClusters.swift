// Connected components of duplicate pairs (union-find with path halving), one keeper per component: its lowest
// document id, i.e. the first occurrence in dataset order, whatever order the pairs arrive in. Memory is one entry
// per document that appears in a pair (16 bytes of payload in a dictionary), not per document of the corpus.

public struct DuplicateClusters {
    private var parent: [UInt64: UInt64] = [:]

    public init() {}

    public var documents: Int { parent.count }

    private mutating func root(_ document: UInt64) -> UInt64 {
        var x = document
        while let p = parent[x], p != x {
            // Path halving: point x at its grandparent as we walk up.
            let grand = parent[p] ?? p
            parent[x] = grand
            x = grand
        }
        return x
    }

    /// Joins the components of `a` and `b`; the lower root becomes the root, so a root is its component's minimum.
    public mutating func union(_ a: UInt64, _ b: UInt64) {
        if parent[a] == nil { parent[a] = a }
        if parent[b] == nil { parent[b] = b }
        let ra = root(a)
        let rb = root(b)
        if ra == rb { return }
        if ra < rb { parent[rb] = ra } else { parent[ra] = rb }
    }

    public mutating func add(_ pair: DuplicatePair) { union(pair.keeper, pair.duplicate) }

    /// The document `document` duplicates (its component's lowest id), or nil when it is kept.
    public mutating func keeper(of document: UInt64) -> UInt64? {
        guard parent[document] != nil else { return nil }
        let r = root(document)
        return r == document ? nil : r
    }

    /// Every dropped document with its keeper, by document id.
    public mutating func dropped() -> [(document: UInt64, keeper: UInt64)] {
        var out: [(document: UInt64, keeper: UInt64)] = []
        for document in parent.keys.sorted() {
            let r = root(document)
            if r != document { out.append((document, r)) }
        }
        return out
    }
}
