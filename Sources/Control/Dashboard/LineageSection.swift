import APITypes
import Foundation

/// Where a dataset, or a job's newest checkpoint, came from (docs/lineage.md): the tree `opsctl lineage` prints,
/// read with the same bounded query (`LineageTree`: 25 children a node, 500 nodes, 8 levels) and drawn as nested
/// lists, so a screen reader walks it as a tree of lists and it needs no script.
enum LineageSection {
    /// The tree under `key`; nil when nothing is recorded about it (made before lineage was kept, or not yet).
    static func load(_ key: LineageNodeKey, services: ControlServices) throws -> LineageGraph? {
        do {
            return try LineageTree(store: LineageStore(pool: services.pool)).graph(of: key)
        } catch let error as APIErrorBody where error.error.code == .notFound {
            return nil
        }
    }

    /// A job's lineage: its newest checkpoint's tree, else an eval job's own; nil for other jobs.
    static func load(forJob job: JobView, services: ControlServices) throws -> LineageGraph? {
        if let newest = try LineageStore(pool: services.pool).newestCheckpoint(ofJob: job.name) {
            return try load(LineageNodeKey(kind: .checkpoint, id: newest), services: services)
        }
        guard job.type == "eval" else { return nil }
        return try load(LineageNodeKey(kind: .eval, id: job.name), services: services)
    }

    static func render(_ graph: LineageGraph?) -> HTML {
        guard let graph, let root = graph.nodes.first else { return .empty }
        return """
            <section aria-labelledby="lineage-heading">
            <h2 id="lineage-heading">Lineage of \(root.kind.rawValue) \(root.id)</h2>
            <p>Its inputs, their inputs, and so on; <code>opsctl lineage \(root.kind.rawValue) \(root.id)</code> prints the same tree with every fact.</p>
            <div id="lineage">\(tree(graph.nodes))</div>
            </section>
            """
    }

    /// The pre-order nodes (each with its depth; a child is one deeper than its parent) as nested `<ul>`s.
    static func tree(_ nodes: [LineageTreeNode]) -> HTML {
        var parts: [HTML] = []
        var depth = -1
        for node in nodes {
            // `LineageTree` lists a child right after its parent or its siblings: one level deeper at most.
            assert(node.depth <= depth + 1, "a lineage node is at most one level below the one before it")
            if node.depth > depth {
                parts.append("<ul>")
            } else {
                parts.append("</li>")
                for _ in node.depth..<depth { parts.append("</ul></li>") }
            }
            depth = node.depth
            parts.append("<li>\(label(node))")
        }
        if depth >= 0 {
            parts.append("</li>")
            for _ in 0..<depth { parts.append("</ul></li>") }
            parts.append("</ul>")
        }
        return HTML.joined(parts)
    }

    private static func label(_ node: LineageTreeNode) -> HTML {
        let relation: HTML =
            node.relation.map { relation -> HTML in "<span class=\"relation\">\(relation)</span> " } ?? .empty
        let omitted: HTML =
            node.omittedChildren > 0
            ? " <span class=\"omitted\">(\(node.omittedChildren) more not shown)</span>" : .empty
        return "\(relation)<span class=\"kind\">\(node.kind.rawValue)</span> <code>\(node.id)</code>\(omitted)"
    }
}
