// Entry point: manifest text (YAML, several documents = a pipeline; or JSON, one object or an array of
// objects) to validated JobManifests, or a ManifestError listing every problem.

import Foundation
import YAML

/// The jobs of one file plus the `after:` names the file does not define (the server checks those exist).
public struct ManifestPipeline: Sendable, Equatable {
    public var jobs: [JobManifest]
    /// Sorted names referenced by `after:` that are not jobs of this file.
    public var externalDependencies: [String]
}

public enum ManifestParser {
    /// Parses and validates every job of `text`. `fileName` prefixes each message (`pipeline.yaml:12: ...`).
    public static func parse(text: String, fileName: String = "<input>",
                             registry: JobKindRegistry = .standard) throws(ManifestError) -> [JobManifest] {
        try parsePipeline(text: text, fileName: fileName, registry: registry).jobs
    }

    /// Like `parse`, and also returns the names `after:` refers to outside the file.
    public static func parsePipeline(text: String, fileName: String = "<input>",
                                     registry: JobKindRegistry = .standard) throws(ManifestError) -> ManifestPipeline {
        let documents: [YAMLNode]
        do {
            documents = try YAMLParser.parseDocuments(text, fileName: fileName)
        } catch {
            throw ManifestError(problems: [ManifestProblem(fileName: fileName, line: error.position.line, column: error.position.column,
                                                           path: "", message: error.message)])
        }
        var values: [ManifestValue] = []
        for document in documents where !document.isNull {
            // A JSON array (or a YAML list) of manifests is a pipeline too.
            if case .sequence(let items, _) = document {
                values.append(contentsOf: items.map { ManifestValue(yaml: $0) })
            } else {
                values.append(ManifestValue(yaml: document))
            }
        }
        return try validate(values, fileName: fileName, registry: registry)
    }

    /// Reads and parses the file at `path` (messages name its last path component).
    public static func parse(contentsOfFile path: String, registry: JobKindRegistry = .standard) throws(ManifestError) -> ManifestPipeline {
        let fileName = (path as NSString).lastPathComponent
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ManifestError(problems: [ManifestProblem(fileName: path, line: nil, path: "", message: "cannot read the file (does it exist?)")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ManifestError(problems: [ManifestProblem(fileName: fileName, line: nil, path: "", message: "the file is not UTF-8 text")])
        }
        return try parsePipeline(text: text, fileName: fileName, registry: registry)
    }

    /// Validates already-parsed documents (the generic tree both YAML and JSON produce).
    public static func validate(_ documents: [ManifestValue], fileName: String = "<input>",
                                registry: JobKindRegistry = .standard) throws(ManifestError) -> ManifestPipeline {
        let problems = ManifestProblemCollector(fileName: fileName)
        if documents.isEmpty {
            problems.add(path: "", line: nil, "no manifest found: expected at least one document with kind: Job")
        }
        let outcomes = documents.map { JobManifestValidator.validate($0, problems: problems, registry: registry) }
        let external = checkPipeline(outcomes, problems: problems)
        if !problems.problems.isEmpty {
            let sorted = problems.problems.enumerated().sorted { a, b in
                (a.element.line ?? 0, a.offset) < (b.element.line ?? 0, b.offset)
            }.map(\.element)
            throw ManifestError(problems: sorted)
        }
        return ManifestPipeline(jobs: outcomes.compactMap(\.manifest), externalDependencies: external)
    }

    /// Duplicate names, and cycles among the file's `after:` edges. Returns the names defined elsewhere.
    private static func checkPipeline(_ outcomes: [JobManifestValidator.Outcome], problems: ManifestProblemCollector) -> [String] {
        var firstLine: [String: Int?] = [:]
        for outcome in outcomes {
            guard let name = outcome.name else { continue }
            if let first = firstLine[name] {
                let location = first.map { " (first defined at line \($0))" } ?? ""
                problems.add(path: "metadata.name", line: outcome.nameLine, "duplicate job name \"\(name)\"\(location)")
            } else {
                firstLine[name] = outcome.nameLine
            }
        }
        var edges: [String: [String]] = [:]
        var afterLines: [String: Int?] = [:]
        var external = Set<String>()
        for outcome in outcomes {
            guard let name = outcome.name, edges[name] == nil else { continue }
            edges[name] = outcome.after.filter { firstLine[$0] != nil }
            afterLines[name] = outcome.afterLine
            external.formUnion(outcome.after.filter { firstLine[$0] == nil })
        }
        for cycle in findCycles(edges) {
            problems.add(path: "spec.after", line: afterLines[cycle[0]] ?? nil,
                         "dependency cycle: \(cycle.joined(separator: " -> "))")
        }
        return external.sorted()
    }

    /// Each elementary cycle reached by depth-first search, reported once, starting at its first job in name order.
    static func findCycles(_ edges: [String: [String]]) -> [[String]] {
        var state: [String: Int] = [:] // 1 = on the stack, 2 = done
        var stack: [String] = []
        var cycles: [[String]] = []
        var seen = Set<[String]>()
        func visit(_ node: String) {
            state[node] = 1
            stack.append(node)
            for next in edges[node, default: []] {
                if state[next] == 1, let start = stack.firstIndex(of: next) {
                    var cycle = Array(stack[start...])
                    let pivot = cycle.indices.min { cycle[$0] < cycle[$1] }!
                    cycle = Array(cycle[pivot...] + cycle[..<pivot])
                    if seen.insert(cycle).inserted { cycles.append(cycle + [cycle[0]]) }
                } else if state[next] == nil {
                    visit(next)
                }
            }
            stack.removeLast()
            state[node] = 2
        }
        for node in edges.keys.sorted() where state[node] == nil { visit(node) }
        return cycles
    }
}
