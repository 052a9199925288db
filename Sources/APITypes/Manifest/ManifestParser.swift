// Entry point: manifest text (YAML, several documents = a pipeline; or JSON, one object or an array of
// objects) to validated JobManifests and QueueSpecs, or a ManifestError listing every problem.

import ClusterModel
import Foundation
import YAML

/// The jobs and queues of one file plus the `after:` names the file does not define (the server checks those exist).
public struct ManifestPipeline: Sendable, Equatable {
    public var jobs: [JobManifest]
    /// The file's `kind: Queue` documents, in file order.
    public var queues: [QueueSpec] = []
    /// The file's `kind: WorkerPool` documents, in file order.
    public var pools: [WorkerPoolSpec] = []
    /// Sorted names referenced by `after:` that are not jobs of this file.
    public var externalDependencies: [String]
    /// Where each external dependency is named, for `checkExternalDependencies`.
    public var externalReferences: [ExternalDependencyReference]
    public var fileName: String

    /// Reports every `after:` name that is neither in the file nor accepted by `exists` (the server's job
    /// table), in the validator's style: `pipeline.yaml:9: spec.after: job "x" does not exist ...`.
    public func checkExternalDependencies(exists: (String) -> Bool) throws(ManifestError) {
        let problems = externalReferences.filter { !exists($0.dependency) }.map {
            ManifestProblem(
                fileName: fileName, line: $0.line, path: "spec.after",
                message:
                    "job \"\($0.dependency)\" (needed by \"\($0.job)\") does not exist: it is neither in this file nor on the server"
            )
        }
        if !problems.isEmpty { throw ManifestError(problems: problems) }
    }
}

public struct ExternalDependencyReference: Sendable, Equatable {
    /// The job whose `after:` names `dependency`.
    public var job: String
    public var dependency: String
    public var line: Int?
}

public enum ManifestParser {
    /// Parses and validates every job of `text`. `fileName` prefixes each message (`pipeline.yaml:12: ...`).
    public static func parse(
        text: String, fileName: String = "<input>",
        registry: JobKindRegistry = .standard
    ) throws(ManifestError) -> [JobManifest] {
        try parsePipeline(text: text, fileName: fileName, registry: registry).jobs
    }

    /// Like `parse`, and also returns the names `after:` refers to outside the file.
    public static func parsePipeline(
        text: String, fileName: String = "<input>",
        registry: JobKindRegistry = .standard
    ) throws(ManifestError) -> ManifestPipeline {
        let documents: [YAMLNode]
        do {
            documents = try YAMLParser.parseDocuments(text, fileName: fileName)
        } catch {
            throw ManifestError(problems: [
                ManifestProblem(
                    fileName: fileName, line: error.position.line, column: error.position.column,
                    path: "", message: error.message)
            ])
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
    public static func parse(contentsOfFile path: String, registry: JobKindRegistry = .standard) throws(ManifestError)
        -> ManifestPipeline
    {
        let fileName = (path as NSString).lastPathComponent
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ManifestError(problems: [
                ManifestProblem(fileName: path, line: nil, path: "", message: "cannot read the file (does it exist?)")
            ])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ManifestError(problems: [
                ManifestProblem(fileName: fileName, line: nil, path: "", message: "the file is not UTF-8 text")
            ])
        }
        return try parsePipeline(text: text, fileName: fileName, registry: registry)
    }

    /// Validates already-parsed documents (the generic tree both YAML and JSON produce).
    public static func validate(
        _ documents: [ManifestValue], fileName: String = "<input>",
        registry: JobKindRegistry = .standard
    ) throws(ManifestError) -> ManifestPipeline {
        let problems = ManifestProblemCollector(fileName: fileName)
        if documents.isEmpty {
            problems.add(
                path: "", line: nil, "no manifest found: expected at least one document with kind: Job or Queue")
        }
        // Queue documents go to their own validator; everything else is checked as a Job (which names a wrong kind).
        let isQueue = { (document: ManifestValue) in document.isKind(QueueManifestValidator.kind) }
        let isPool = { (document: ManifestValue) in document.isKind(WorkerPoolManifestValidator.kind) }
        let queueOutcomes = documents.filter(isQueue).map { QueueManifestValidator.validate($0, problems: problems) }
        checkUniqueNames(queueOutcomes.map { ($0.name, $0.nameLine) }, kind: "queue", problems: problems)
        let poolOutcomes = documents.filter(isPool).map {
            WorkerPoolManifestValidator.validate($0, problems: problems)
        }
        checkUniqueNames(poolOutcomes.map { ($0.name, $0.nameLine) }, kind: "worker pool", problems: problems)
        let outcomes = documents.filter { !isQueue($0) && !isPool($0) }.map {
            JobManifestValidator.validate($0, problems: problems, registry: registry)
        }
        let external = checkPipeline(outcomes, problems: problems)
        let definedNames = Set(outcomes.compactMap(\.name))
        let references = outcomes.flatMap { outcome in
            outcome.afterItems.filter { !definedNames.contains($0.name) }.map {
                ExternalDependencyReference(job: outcome.name ?? "", dependency: $0.name, line: $0.line)
            }
        }
        if !problems.problems.isEmpty {
            let sorted = problems.problems.enumerated().sorted { a, b in
                (a.element.line ?? 0, a.offset) < (b.element.line ?? 0, b.offset)
            }.map(\.element)
            throw ManifestError(problems: sorted)
        }
        return ManifestPipeline(
            jobs: outcomes.compactMap(\.manifest), queues: queueOutcomes.compactMap(\.object),
            pools: poolOutcomes.compactMap(\.object), externalDependencies: external, externalReferences: references,
            fileName: fileName)
    }

    /// A queue configured twice in one file is ambiguous (which weight wins?), and so is a pool defined twice:
    /// both are errors at the second definition, naming the line of the first.
    private static func checkUniqueNames(
        _ names: [(name: String?, line: Int?)], kind: String, problems: ManifestProblemCollector
    ) {
        var firstLine: [String: Int?] = [:]
        for case (let name?, let line) in names {
            if let first = firstLine[name] {
                let location = first.map { " (first defined at line \($0))" } ?? ""
                problems.add(path: "metadata.name", line: line, "duplicate \(kind) name \"\(name)\"\(location)")
            } else {
                firstLine[name] = line
            }
        }
    }

    /// Duplicate names, and cycles among the file's `after:` edges. Returns the names defined elsewhere.
    private static func checkPipeline(_ outcomes: [JobManifestValidator.Outcome], problems: ManifestProblemCollector)
        -> [String]
    {
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
            problems.add(
                path: "spec.after", line: afterLines[cycle[0]] ?? nil,
                "dependency cycle: \(cycle.joined(separator: " -> "))")
        }
        return external.sorted()
    }

    /// Each cycle found by depth-first search, reported once, rotated to start at its smallest name.
    /// Iterative, so a pipeline of any length cannot exhaust the stack.
    static func findCycles(_ edges: [String: [String]]) -> [[String]] {
        var state: [String: Int] = [:] // 1 = on the path, 2 = done
        var path: [String] = []
        var cycles: [[String]] = []
        var seen = Set<[String]>()
        for root in edges.keys.sorted() where state[root] == nil {
            // Each frame: a node and the index of the next edge to follow.
            var frames: [(node: String, next: Int)] = [(root, 0)]
            state[root] = 1
            path.append(root)
            while let top = frames.last {
                let successors = edges[top.node, default: []]
                guard top.next < successors.count else {
                    frames.removeLast()
                    path.removeLast()
                    state[top.node] = 2
                    continue
                }
                frames[frames.count - 1].next += 1
                let next = successors[top.next]
                if state[next] == 1, let start = path.firstIndex(of: next) {
                    var cycle = Array(path[start...])
                    let pivot = cycle.indices.min { cycle[$0] < cycle[$1] }!
                    cycle = Array(cycle[pivot...] + cycle[..<pivot])
                    if seen.insert(cycle).inserted { cycles.append(cycle + [cycle[0]]) }
                } else if state[next] == nil {
                    state[next] = 1
                    path.append(next)
                    frames.append((next, 0))
                }
            }
        }
        return cycles
    }
}

extension ManifestParser {
    /// Validates documents that arrived as JSON values rather than text (e.g. a request's `documents` array of
    /// arbitrary JSON). Same checks and messages as `parsePipeline`, but without line numbers, since the
    /// values carry none: `request: spec.replicas: expected an integer between 1 and 4096, got 0`.
    public static func validate<Document: Encodable>(
        encodedDocuments documents: [Document], fileName: String = "<input>",
        registry: JobKindRegistry = .standard
    ) throws(ManifestError) -> ManifestPipeline {
        let values: [ManifestValue]
        do {
            let data = try JSONEncoder().encode(documents)
            values = try JSONDecoder().decode([ManifestValue].self, from: data)
        } catch {
            throw ManifestError(problems: [
                ManifestProblem(
                    fileName: fileName, line: nil, path: "",
                    message: "the documents are not JSON values: \(error)")
            ])
        }
        return try validate(values, fileName: fileName, registry: registry)
    }
}
