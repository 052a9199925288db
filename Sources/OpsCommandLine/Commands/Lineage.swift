import APIClient
import APITypes
import Foundation

/// `opsctl lineage checkpoint|dataset|eval NAME`: where a checkpoint, dataset or eval came from, as an indented tree
/// (docs/lineage.md): a checkpoint's run with its seed and stream state, the datasets it trained on with their
/// weights, their shards, input files and tokenizer with checksums, and the documents dedup dropped.
enum LineageCommand: OpsCommand {
    static let spec = CommandSpec(
        "lineage", summary: "Show where a checkpoint, dataset or eval came from: runs, data, shards, inputs, checksums",
        positionals: [
            PositionalSpec(
                "KIND", help: "checkpoint, dataset or eval (or input, shard, tokenizer, document, job)",
                choices: LineageKind.allCases.map(\.rawValue)),
            PositionalSpec("NAME", help: "JOB@STEP or JOB (its newest checkpoint), a dataset, an eval job"),
        ],
        options: [OpsCommands.output.spec],
        discussion: "Example: opsctl lineage checkpoint pydocs-gpt    opsctl lineage dataset pydocs -o json")

    static func run(_ settings: Settings) async throws -> Int32 {
        let format = try settings.value(OpsCommands.output)
        guard let kind = LineageKind(rawValue: settings.parsed.positionals[0]) else {
            throw SettingsError(
                "lineage: KIND must be one of \(LineageKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let graph = try await makeOpsClient(settings).lineage(kind, settings.parsed.positionals[1])
        if format.isStructured {
            try Output.printStructured(graph, as: format)
            return 0
        }
        print(render(graph), terminator: "")
        return 0
    }

    /// The tree, one node a line: `├─`/`└─` under its parent, the relation to its parent and the edge's facts.
    static func render(_ graph: LineageGraph) -> String {
        var out = ""
        let nodes = graph.nodes
        // Whether each node is the last child of its parent: no later sibling before the parent's subtree ends.
        var isLast = Array(repeating: true, count: nodes.count)
        for i in nodes.indices {
            var j = i + 1
            while j < nodes.count && nodes[j].depth > nodes[i].depth { j += 1 }
            isLast[i] = !(j < nodes.count && nodes[j].depth == nodes[i].depth)
        }
        var openAncestors: [Bool] = [] // per depth: the ancestor there has later siblings (draw │)
        for (i, node) in nodes.enumerated() {
            openAncestors = Array(openAncestors.prefix(max(0, node.depth - 1)))
            var line = ""
            if node.depth > 0 {
                line += openAncestors.map { $0 ? "│  " : "   " }.joined()
                line += isLast[i] ? "└─ " : "├─ "
            }
            line += "\(node.kind.rawValue) \(shortened(node.id))"
            if let relation = node.relation { line += "  [\(relation)]" }
            let facts = describe(node.detail)
            if !facts.isEmpty { line += "  " + facts }
            if node.omittedChildren > 0 { line += "  (+\(node.omittedChildren) more not shown)" }
            out += line + "\n"
            if node.depth > 0 { openAncestors.append(!isLast[i]) }
        }
        return out
    }

    /// `key value` pairs of an edge's detail, nulls left out, checksums cut to 12 digits.
    static func describe(_ detail: AnyJSON) -> String {
        guard case .object(let fields) = detail else { return "" }
        return fields.keys.sorted().compactMap { key -> String? in
            let value = fields[key]!
            switch value {
            case .null: return nil
            case .string(let text): return "\(key) \(shortened(text))"
            case .object, .array: return "\(key) \(compact(value))"
            default: return "\(key) \(compact(value))"
            }
        }.joined(separator: ", ")
    }

    private static func compact(_ value: AnyJSON) -> String {
        (try? String(decoding: WireCoding.encode(value), as: UTF8.self)) ?? "?"
    }

    /// A text ending in a 64-digit checksum (a checksum, a `cp://blobs/<sha256>` location) with only its first 12
    /// digits and an ellipsis; other text as it is.
    static func shortened(_ text: String) -> String {
        guard text.count >= 64, text.suffix(64).allSatisfy(\.isHexDigit) else { return text }
        return String(text.dropLast(52)) + "…"
    }
}
