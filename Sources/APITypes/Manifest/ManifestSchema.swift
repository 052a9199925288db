// The JSON Schema (draft 2020-12) of manifest documents, for editors (`opsctl schema`, docs/api.md). It is taken
// from the validators themselves: each runs over an empty document with a recording problem collector
// (`ManifestSchemaRecorder`), so the fields, types, bounds, enumerations and required keys are the ones the
// validator checks. What a schema cannot say (a name listed twice, `after` naming a job that exists) stays the
// validator's; a document the schema accepts may still get a message from `opsctl apply --dry-run`.

import ClusterModel

/// `opsctl schema --kind NAME` named no manifest kind or job type.
public struct UnknownManifestKindError: Error, CustomStringConvertible {
    public let name: String
    public let known: [String]

    public var description: String {
        "no manifest kind or job type \"\(name)\"; use one of \(known.joined(separator: ", ")) (or no --kind for all)"
    }
}

public enum ManifestSchema {
    public static let dialect = "https://json-schema.org/draft/2020-12/schema"

    /// Every document a manifest file may hold (one of the job types, or a queue), or only `kind`'s: `Queue`, `Job`
    /// (any job type) or a job type (`train`).
    public static func document(kind: String? = nil, registry: JobKindRegistry = .standard) throws -> AnyJSON {
        let jobs = registry.names.compactMap { registry.kind(named: $0) }.map { jobSchema($0, registry: registry) }
        let choices: [AnyJSON]
        switch kind {
        case nil: choices = jobs + [queueSchema(), workerPoolSchema()]
        case QueueManifestValidator.kind?: choices = [queueSchema()]
        case WorkerPoolManifestValidator.kind?: choices = [workerPoolSchema()]
        case JobManifest.kind?: choices = jobs
        case let name?:
            guard let jobKind = registry.kind(named: name) else {
                throw UnknownManifestKindError(
                    name: name,
                    known: [JobManifest.kind, QueueManifestValidator.kind, WorkerPoolManifestValidator.kind]
                        + registry.names)
            }
            choices = [jobSchema(jobKind, registry: registry)]
        }
        var schema: [String: AnyJSON] = [
            "$schema": .string(dialect),
            "title": .string("llm-ops manifest" + (kind.map { " (\($0))" } ?? "")),
            "description": "Generated from the manifest validators by `opsctl schema`; see docs/api.md.",
        ]
        if choices.count == 1, case .object(let only) = choices[0] {
            schema.merge(only) { first, _ in first }
        } else {
            schema["oneOf"] = .array(choices)
        }
        return .object(schema)
    }

    /// A `kind: Job` document whose `spec.type` is `kind`.
    static func jobSchema(_ kind: JobKind, registry: JobKindRegistry) -> AnyJSON {
        let recorder = ManifestSchemaRecorder()
        let problems = ManifestProblemCollector(recordingInto: recorder)
        _ = JobManifestValidator.validate(.object([]), problems: problems, registry: registry)
        let spec = ManifestObjectReader(.object([]), path: "spec", problems: problems)
        let settingsPath = spec.fieldPath(kind.name)
        kind.validate(
            ManifestObjectReader(.object([]), path: settingsPath, problems: problems),
            JobKindContext(replicas: 1, tasks: 1, spec: spec))
        recorder.allow([kind.name], at: "spec")
        recorder.field(settingsPath, ["type": "object"], required: kind.settingsRequired)
        recorder.override("spec.type", ["const": .string(kind.name), "description": .string(kind.summary)])
        recorder.override("kind", ["const": .string(JobManifest.kind)])
        overrideRawFields(recorder, resources: "spec.resources")
        var schema = recorder.objectSchema(at: "").objectValue ?? [:]
        schema["title"] = .string("Job of type \(kind.name)")
        return .object(schema)
    }

    /// A `kind: Queue` document.
    static func queueSchema() -> AnyJSON {
        let recorder = ManifestSchemaRecorder()
        _ = QueueManifestValidator.validate(.object([]), problems: ManifestProblemCollector(recordingInto: recorder))
        recorder.override("kind", ["const": .string(QueueManifestValidator.kind)])
        // The validator reads `weight` only when present (to name it in its message): a number in (0, max].
        recorder.override(
            "spec.weight",
            ["type": "number", "exclusiveMinimum": 0, "maximum": .double(QueueManifestValidator.maxWeight)])
        overrideRawFields(recorder, resources: "spec.quota")
        var schema = recorder.objectSchema(at: "").objectValue ?? [:]
        schema["title"] = "Queue"
        return .object(schema)
    }

    /// A `kind: WorkerPool` document (docs/worker-pools.md).
    static func workerPoolSchema() -> AnyJSON {
        let recorder = ManifestSchemaRecorder()
        _ = WorkerPoolManifestValidator.validate(
            .object([]), problems: ManifestProblemCollector(recordingInto: recorder))
        recorder.override("kind", ["const": .string(WorkerPoolManifestValidator.kind)])
        overrideRawFields(recorder, resources: "spec.resources")
        var schema = recorder.objectSchema(at: "").objectValue ?? [:]
        schema["title"] = "WorkerPool"
        return .object(schema)
    }

    /// Fields every validator reads raw and parses itself: the API version, CPU and memory quantities.
    private static func overrideRawFields(_ recorder: ManifestSchemaRecorder, resources: String) {
        recorder.override("apiVersion", ["const": .string(JobManifest.apiVersion)])
        recorder.override(
            resources + ".cpu",
            ["type": ["number", "string"], "description": .string(ResourceQuantity.cpuExpectation)])
        recorder.override(
            resources + ".memory",
            ["type": ["number", "string"], "description": .string(ResourceQuantity.memoryExpectation)])
    }
}
