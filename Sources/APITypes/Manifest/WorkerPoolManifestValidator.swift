// Validation of one `kind: WorkerPool` document into a WorkerPoolSpec (issue 19; docs/worker-pools.md), in the
// same message style as jobs and queues: `pools.yaml:9: spec.maxNodes: expected an integer between 1 and 10000, got 0`.

import ClusterModel

enum WorkerPoolManifestValidator {
    /// The `kind:` of a worker pool document.
    static let kind = "WorkerPool"
    static let specFields = [
        "provider", "slurm", "minNodes", "maxNodes", "idleTimeoutSeconds", "resources", "worker",
    ]
    static let slurmFields = ["partition", "account", "timeLimitMinutes", "gres", "outputDirectory"]
    static let resourceFields = ["cpu", "memory", "accelerators"]
    static let workerFields = ["command", "labels"]
    /// A week: a pool that should never shrink says so with `minNodes`, not with an endless idle timeout.
    static let maxIdleTimeoutSeconds = 7 * 86_400.0
    static let defaultIdleTimeoutSeconds = 300.0
    /// A year, in minutes: beyond any site's `MaxTime`.
    static let maxTimeLimitMinutes: Int64 = 525_600
    /// Arguments of the worker command: what one `sbatch` script holds without surprise.
    static let maxCommandArguments = 256
    static let slurmNameExpectation = "a Slurm name (letters, digits, '-', '_' and '.', at most 64 characters)"
    static let gresExpectation =
        "a Slurm gres name such as \"gpu\" or \"gpu:h100\" (letters, digits, '_', '-', '.', ':')"

    typealias Outcome = NamedObjectOutcome<WorkerPoolSpec>

    static func validate(_ document: ManifestValue, problems: ManifestProblemCollector) -> Outcome {
        let before = problems.problems.count
        let opening = Outcome.open(document, problems: problems)
        var outcome = opening.outcome
        guard let root = opening.root else { return outcome }
        guard let spec = root.object("spec", required: true) else { return outcome }
        spec.rejectUnknownKeys(allowed: specFields)
        let provider = spec.choice("provider", WorkerPoolProvider.allCases.map(\.rawValue), required: true)
            .flatMap(WorkerPoolProvider.init(rawValue:))
        let limit = Int64(WorkerPoolSpec.maxNodesLimit)
        let minNodes = spec.integer("minNodes", min: 0, max: limit) ?? 0
        let maxNodes = spec.integer("maxNodes", required: true, min: 1, max: limit)
        if let maxNodes, minNodes > maxNodes {
            spec.report("minNodes", "expected at most maxNodes (\(maxNodes)), got \(minNodes)")
        }
        let idle =
            spec.number("idleTimeoutSeconds", min: 1, max: maxIdleTimeoutSeconds) ?? defaultIdleTimeoutSeconds
        let resources = validateResources(spec)
        let slurm = validateSlurm(spec, accelerators: resources?.accelerators ?? [:])
        let worker = validateWorker(spec)
        if problems.problems.count == before, let name = outcome.name, let provider, let maxNodes, let resources,
            let slurm, let worker
        {
            outcome.object = WorkerPoolSpec(
                name: name, provider: provider, slurm: slurm, minNodes: Int(minNodes), maxNodes: Int(maxNodes),
                idleTimeoutSeconds: idle, nodeResources: resources, worker: worker)
        }
        return outcome
    }

    /// What each node's worker offers: cpu and memory required (the scaler starts nodes only for work that fits).
    private static func validateResources(_ spec: ManifestObjectReader) -> Resources? {
        guard let reader = spec.object("resources", required: true) else { return nil }
        reader.rejectUnknownKeys(allowed: resourceFields)
        var resources = Resources.zero
        if let cpu = reader.value("cpu"), let millis = ResourceQuantity.cpuMillis(cpu), millis > 0,
            millis <= ResourceLimits.maxCPUMillis
        {
            resources.cpuMillis = millis
        } else {
            reader.report(
                "cpu",
                "expected \(QueueManifestValidator.cpuExpectation), what each node's worker offers, got \(reader.value("cpu").map { "\($0)" } ?? "nothing")"
            )
        }
        if let memory = reader.value("memory"), let bytes = ResourceQuantity.memoryBytes(memory), bytes > 0 {
            resources.memoryBytes = bytes
        } else {
            reader.report(
                "memory",
                "expected \(QueueManifestValidator.memoryExpectation), what each node's worker offers, got \(reader.value("memory").map { "\($0)" } ?? "nothing")"
            )
        }
        if let accelerators = reader.acceleratorList(minimumCount: 1) { resources.accelerators = accelerators }
        // Returned even when cpu or memory was refused (the outcome is built only without problems), so the gres
        // names are still checked against the accelerators.
        return resources
    }

    private static func validateSlurm(_ spec: ManifestObjectReader, accelerators: [AcceleratorType: Int64])
        -> SlurmPoolSettings?
    {
        guard let reader = spec.object("slurm", required: true) else { return nil }
        reader.rejectUnknownKeys(allowed: slurmFields)
        let partition = reader.string(
            "partition", required: true, expected: slurmNameExpectation, isValid: isSlurmName)
        let account = reader.string("account", expected: slurmNameExpectation, isValid: isSlurmName)
        let minutes = reader.integer("timeLimitMinutes", required: true, min: 1, max: maxTimeLimitMinutes)
        let output = reader.string(
            "outputDirectory", expected: "an absolute directory path every node can write",
            isValid: { $0.hasPrefix("/") && !$0.contains("\n") })
        let gresNames =
            reader.stringMap(
                "gres", expectedKey: "an accelerator type of spec.resources.accelerators",
                keyIsValid: { accelerators[AcceleratorType(rawValue: $0)] != nil }, expectedValue: gresExpectation,
                valueIsValid: isGresName) ?? [:]
        for type in accelerators.keys.sorted() where gresNames[type.rawValue] == nil {
            reader.report(
                "gres",
                "expected the Slurm gres name of accelerator type \"\(type)\" (e.g. \(type): \"gpu\"), so its nodes are asked for with --gres"
            )
        }
        guard let partition, let minutes else { return nil }
        let gres = Dictionary(uniqueKeysWithValues: gresNames.map { (AcceleratorType(rawValue: $0.key), $0.value) })
        return SlurmPoolSettings(
            partition: partition, account: account, timeLimitMinutes: Int(minutes), gres: gres,
            outputDirectory: output ?? "/tmp")
    }

    private static func validateWorker(_ spec: ManifestObjectReader) -> PoolWorkerCommand? {
        guard let reader = spec.object("worker", required: true) else { return nil }
        reader.rejectUnknownKeys(allowed: workerFields)
        let command = reader.stringList(
            "command", required: true, expectedList: "the worker's program and arguments, a list of strings",
            expectedItem: "a non-empty argument without a newline", isValid: { !$0.isEmpty && !$0.contains("\n") })
        if let command, command.isEmpty || command.count > maxCommandArguments {
            reader.report(
                "command",
                "expected 1 to \(maxCommandArguments) arguments such as [opsctl, worker, --server, https://cp:8443], got \(command.count)"
            )
        }
        let reserved = [WorkerPoolSpec.poolLabel, WorkerPoolSpec.slurmJobLabel]
        let labels = reader.stringMap(
            "labels",
            expectedKey: ManifestNames.labelKeyExpectation + " other than \(reserved.joined(separator: " and "))",
            keyIsValid: { ManifestNames.isLabelKey($0) && !reserved.contains($0) },
            expectedValue: ManifestNames.labelValueExpectation, valueIsValid: ManifestNames.isLabelValue)
        guard let command, !command.isEmpty, command.count <= maxCommandArguments else { return nil }
        return PoolWorkerCommand(command: command, labels: labels ?? [:])
    }

    static func isSlurmName(_ s: String) -> Bool {
        (1...64).contains(s.utf8.count)
            && s.utf8.allSatisfy {
                isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
            }
    }

    static func isGresName(_ s: String) -> Bool {
        (1...64).contains(s.utf8.count) && isAlnum(s.utf8.first!)
            && s.utf8.allSatisfy {
                isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
                    || $0 == UInt8(ascii: ":")
            }
    }

    private static func isAlnum(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
    }
}
