// The upstream graph of one node of `lineage_edges` as a tree (docs/lineage.md): its inputs, their inputs, and
// so on. Every node is one bounded query, and the tree is bounded too: a node lists at most
// `maxChildren` inputs (a dataset of 10,000 shards says how many it left out), the tree at most `maxNodes`
// nodes and `maxDepth` levels, and a node reached twice (one tokenizer under two datasets) is expanded once.

import APITypes
import Foundation

struct LineageTree {
    static let maxChildren = 25
    static let maxNodes = 500
    static let maxDepth = 8

    let store: LineageStore

    /// The tree under `root`; 404 when nothing is recorded about it.
    func graph(of root: LineageNodeKey) throws -> LineageGraph {
        var nodes = [LineageTreeNode(depth: 0, kind: root.kind, id: root.id, relation: nil, detail: .object([:]))]
        var expanded: Set<LineageNodeKey> = [root]
        try expand(root, at: 0, nodes: &nodes, expanded: &expanded)
        if nodes.count == 1 && nodes[0].omittedChildren == 0, try !store.feedsSomething(root) {
            throw APIErrorBody(
                code: .notFound,
                message:
                    "no \(root.kind.rawValue) \(root.id) is recorded in the lineage (datasets: opsctl get datasets; checkpoints: JOB@STEP of opsctl get artifacts JOB; evals: the eval job's name)"
            )
        }
        return LineageGraph(root: root, nodes: nodes)
    }

    private func expand(
        _ key: LineageNodeKey, at index: Int, nodes: inout [LineageTreeNode], expanded: inout Set<LineageNodeKey>
    ) throws {
        let depth = nodes[index].depth
        let (edges, total) = try store.edges(into: key, limit: Self.maxChildren)
        var omitted = total - edges.count
        for edge in edges {
            guard depth < Self.maxDepth, nodes.count < Self.maxNodes else {
                omitted += 1
                continue
            }
            nodes.append(
                LineageTreeNode(
                    depth: depth + 1, kind: edge.from.kind, id: edge.from.id, relation: edge.relation,
                    detail: JSONText.parse(edge.detail) ?? .object([:])))
            if expanded.insert(edge.from).inserted {
                try expand(edge.from, at: nodes.count - 1, nodes: &nodes, expanded: &expanded)
            }
        }
        nodes[index].omittedChildren = omitted
    }
}
