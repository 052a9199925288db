// Validation of one manifest document (a ManifestValue) into a JobManifest, collecting every problem.

import ClusterModel

enum JobManifestValidator {
    static let topLevelFields = ["apiVersion", "kind", "metadata", "spec"]
    static let metadataFields = ["name", "labels"]
    static let specFields = [
        "type", "resources", "replicas", "tasks", "priority", "queue", "retry", "after",
        "onDependencyFailure", "nodeSelector", "affinity", "packBy",
    ]
    static let maxReplicas: Int64 = 4096
    static let maxTasks: Int64 = 1_000_000

    /// What the pipeline checks need even from a document with other problems.
    struct Outcome {
        var manifest: JobManifest?
        var name: String?
        var nameLine: Int?
        var after: [String] = []
        var afterLine: Int?
        /// Each `after:` entry with its line.
        var afterItems: [(name: String, line: Int?)] = []
    }

    static func validate(_ document: ManifestValue, problems: ManifestProblemCollector, registry: JobKindRegistry)
        -> Outcome
    {
        let before = problems.problems.count
        var outcome = Outcome()
        let root = ManifestObjectReader(document, path: "", problems: problems)
        guard case .object = document.content else { return outcome }
        root.rejectUnknownKeys(allowed: topLevelFields)

        root.checkAPIVersion()
        // `kind: Queue` and `kind: WorkerPool` documents never reach here (ManifestParser sends them to their own
        // validators).
        let kinds =
            "\"\(JobManifest.kind)\", \"\(QueueManifestValidator.kind)\" or \"\(WorkerPoolManifestValidator.kind)\""
        if let kind = root.string("kind", required: true, expected: kinds), kind != JobManifest.kind {
            root.report("kind", "expected \(kinds), got \"\(kind)\"")
        }

        var metadata: JobMetadata?
        if let meta = root.object("metadata", required: true) {
            meta.rejectUnknownKeys(allowed: metadataFields)
            let name = meta.string(
                "name", required: true, expected: ManifestNames.dnsLabelExpectation, isValid: ManifestNames.isDNSLabel)
            outcome.name = name
            outcome.nameLine = meta.value("name")?.line
            let labels = meta.stringMap(
                "labels", expectedKey: ManifestNames.labelKeyExpectation, keyIsValid: ManifestNames.isLabelKey,
                expectedValue: ManifestNames.labelValueExpectation, valueIsValid: ManifestNames.isLabelValue)
            if let name { metadata = JobMetadata(name: name, labels: labels ?? [:]) }
        }

        var spec: JobSpec?
        if let specReader = root.object("spec", required: true) {
            spec = validateSpec(specReader, registry: registry, ownName: outcome.name, outcome: &outcome)
        }

        if problems.problems.count == before, let metadata, let spec {
            outcome.manifest = JobManifest(metadata: metadata, spec: spec)
        }
        return outcome
    }

    private static func validateSpec(
        _ spec: ManifestObjectReader, registry: JobKindRegistry, ownName: String?,
        outcome: inout Outcome
    ) -> JobSpec? {
        let known = registry.names
        let typeExpectation = "a job type (one of \(known.joined(separator: ", ")))"
        var kind: JobKind?
        if let type = spec.string("type", required: true, expected: typeExpectation) {
            kind = registry.kind(named: type)
            if kind == nil {
                var message = "expected \(typeExpectation), got \"\(type)\""
                if let suggestion = DidYouMean.suggestion(for: type, among: known) {
                    message += " (did you mean \"\(suggestion)\"?)"
                }
                spec.report("type", message)
            }
        }
        // The kind's settings key is allowed; another kind's settings key is a mistake worth naming.
        var allowed = specFields
        if let kind { allowed.append(kind.name) }
        for field in spec.fields where !allowed.contains(field.key) && known.contains(field.key) {
            spec.problems.add(
                path: spec.fieldPath(field.key), line: field.keyLine ?? field.value.line,
                "settings for job type \"\(field.key)\", but spec.type is \(kind.map { "\"\($0.name)\"" } ?? "not a known type")"
            )
        }
        ManifestObjectReader(
            ManifestValue(.object(spec.fields.filter { !known.contains($0.key) }), line: spec.line),
            path: spec.path, problems: spec.problems
        ).rejectUnknownKeys(allowed: allowed)

        let resources = validateResources(spec)
        let replicas = spec.integer("replicas", min: 1, max: maxReplicas).map(Int.init) ?? 1
        let tasks = spec.integer("tasks", min: 1, max: maxTasks).map(Int.init) ?? 1
        let priority = spec.integer("priority", min: -1_000_000, max: 1_000_000).map(Int.init) ?? 0
        let queue =
            spec.string("queue", expected: ManifestNames.dnsLabelExpectation, isValid: ManifestNames.isDNSLabel)
            ?? JobSpec.defaultQueue
        let retry = validateRetry(spec)

        let after =
            spec.stringList(
                "after", expectedList: "a list of job names", expectedItem: ManifestNames.dnsLabelExpectation,
                isValid: ManifestNames.isDNSLabel) ?? []
        var seen = Set<String>()
        for name in after where !seen.insert(name).inserted {
            spec.report("after", "job \"\(name)\" is listed twice")
        }
        outcome.after = Array(Set(after)).sorted()
        outcome.afterLine = spec.value("after")?.line
        if case .array(let items)? = spec.value("after")?.content {
            outcome.afterItems = items.compactMap { item in
                if case .string(let name) = item.content { return (name, item.line ?? outcome.afterLine) }
                return nil
            }
        }
        let onFailure =
            spec.choice("onDependencyFailure", DependencyFailurePolicy.allCases.map(\.rawValue))
            .flatMap(DependencyFailurePolicy.init(rawValue:)) ?? .fail

        let nodeSelector =
            spec.stringMap(
                "nodeSelector", expectedKey: ManifestNames.labelKeyExpectation, keyIsValid: ManifestNames.isLabelKey,
                expectedValue: ManifestNames.labelValueExpectation, valueIsValid: ManifestNames.isLabelValue) ?? [:]
        let affinity =
            spec.stringMap(
                "affinity", expectedKey: ManifestNames.labelKeyExpectation, keyIsValid: ManifestNames.isLabelKey,
                expectedValue: ManifestNames.labelValueExpectation, valueIsValid: ManifestNames.isLabelValue) ?? [:]
        let packBy = spec.string(
            "packBy", expected: ManifestNames.labelKeyExpectation, isValid: ManifestNames.isLabelKey)

        var settings: ManifestValue?
        if let kind {
            settings = spec.value(kind.name)
            let context = JobKindContext(replicas: replicas, tasks: tasks, spec: spec)
            if let value = settings {
                kind.validate(
                    ManifestObjectReader(value, path: spec.fieldPath(kind.name), problems: spec.problems), context)
            } else if kind.settingsRequired {
                spec.report(nil, "missing \(spec.fieldPath(kind.name)) (settings for job type \"\(kind.name)\")")
            } else {
                kind.validate(
                    ManifestObjectReader(.object([]), path: spec.fieldPath(kind.name), problems: spec.problems), context
                )
            }
        }
        guard let kind else { return nil }
        return JobSpec(
            type: kind.name, resources: resources, replicas: replicas, tasks: tasks, priority: priority, queue: queue,
            retry: retry, after: after, onDependencyFailure: onFailure, nodeSelector: nodeSelector,
            affinity: affinity, packBy: packBy, settings: settings)
    }

    private static func validateResources(_ spec: ManifestObjectReader) -> Resources {
        guard let reader = spec.object("resources") else { return JobSpec.defaultResources }
        reader.rejectUnknownKeys(allowed: ["cpu", "memory", "accelerators"])
        var resources = Resources(cpuMillis: 0)
        if let cpu = reader.value("cpu") {
            if let millis = ResourceQuantity.cpuMillis(cpu) {
                resources.cpuMillis = millis
            } else {
                reader.report("cpu", "expected \(ResourceQuantity.cpuExpectation), got \(cpu)")
            }
        } else {
            resources.cpuMillis = JobSpec.defaultResources.cpuMillis
        }
        if let memory = reader.value("memory") {
            if let bytes = ResourceQuantity.memoryBytes(memory) {
                resources.memoryBytes = bytes
            } else {
                reader.report("memory", "expected \(ResourceQuantity.memoryExpectation), got \(memory)")
            }
        }
        if let accelerators = reader.acceleratorList(minimumCount: 0, maximumCount: ResourceLimits.maxAcceleratorCount)
        {
            resources.accelerators = accelerators.filter { $0.value != 0 }
        }
        // One task runs on one worker: it can never ask for more than a worker may offer.
        if resources.cpuMillis > ResourceLimits.maxCPUMillis {
            reader.report(
                "cpu",
                "expected \(ResourceLimits.cpuDescription) (what one worker may offer), got \(reader.value("cpu")!)")
        }
        if resources.memoryBytes > ResourceLimits.maxMemoryBytes {
            reader.report(
                "memory",
                "expected \(ResourceLimits.memoryDescription) (what one worker may offer), got \(reader.value("memory")!)"
            )
        }
        return resources
    }

    private static func validateRetry(_ spec: ManifestObjectReader) -> RetryPolicy {
        let defaults = RetryPolicy()
        guard let reader = spec.object("retry") else { return defaults }
        reader.rejectUnknownKeys(allowed: ["maxAttempts", "backoffSeconds", "maxBackoffSeconds"])
        let attempts = reader.integer("maxAttempts", min: 1, max: 1000).map(Int.init) ?? defaults.maxAttempts
        let backoff = reader.number("backoffSeconds", min: 0, max: 86_400) ?? defaults.initialBackoffSeconds
        var maxBackoff =
            reader.number("maxBackoffSeconds", min: 0, max: 86_400) ?? max(defaults.maxBackoffSeconds, backoff)
        if reader.has("maxBackoffSeconds"), maxBackoff < backoff {
            reader.report(
                "maxBackoffSeconds",
                "expected a number >= backoffSeconds (\(ManifestObjectReader.format(backoff))), got \(reader.value("maxBackoffSeconds")!)"
            )
            maxBackoff = backoff
        }
        return RetryPolicy(maxAttempts: attempts, initialBackoffSeconds: backoff, maxBackoffSeconds: maxBackoff)
    }
}
