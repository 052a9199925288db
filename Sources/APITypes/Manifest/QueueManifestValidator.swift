// Validation of one `kind: Queue` document into a QueueSpec, in the same message style as jobs:
// `queues.yaml:7: spec.quota.cpu: expected a CPU quantity > 0 such as 2, 0.5 or "500m", got 0`.

import ClusterModel

enum QueueManifestValidator {
    /// The `kind:` of a queue document.
    static let kind = "Queue"
    static let specFields = ["weight", "quota", "tokensPerDay"]
    static let quotaFields = ["cpu", "memory", "accelerators"]
    static let maxWeight = 1_000_000.0
    /// 10^15 training tokens a day: ~100 times what the largest published runs consume in a day, so any real
    /// quota fits and no sum over a day's reports can overflow.
    static let maxTokensPerDay: Int64 = 1_000_000_000_000_000
    static let cpuExpectation = "a CPU quantity > 0 such as 2, 0.5 or \"500m\""
    static let memoryExpectation = "a memory quantity > 0 such as \"512Mi\", \"4Gi\" or a number of bytes"

    typealias Outcome = NamedObjectOutcome<QueueSpec>

    static func validate(_ document: ManifestValue, problems: ManifestProblemCollector) -> Outcome {
        let before = problems.problems.count
        let opening = Outcome.open(document, problems: problems)
        var outcome = opening.outcome
        guard let root = opening.root else { return outcome }
        var weight = QueueSpec.defaultWeight
        var quota: Resources?
        var tokensPerDay: Int64?
        // `spec` may be left out entirely: a queue with the defaults.
        if let spec = root.object("spec") {
            spec.rejectUnknownKeys(allowed: specFields)
            if spec.has("weight") {
                let value = spec.value("weight")!
                if let number = spec.number("weight", min: 0, max: maxWeight) {
                    if number > 0 {
                        weight = number
                    } else {
                        spec.report(
                            "weight", "expected a number > 0 (a queue's share relative to the others), got \(value)")
                    }
                }
            }
            quota = validateQuota(spec)
            // Training tokens the queue's train jobs may consume per day (UTC), e.g. 2000000000 for 2B.
            tokensPerDay = spec.integer("tokensPerDay", min: 1, max: maxTokensPerDay)
        }
        if problems.problems.count == before, let name = outcome.name {
            outcome.object = QueueSpec(name: name, weight: weight, quota: quota, tokensPerDay: tokensPerDay)
        }
        return outcome
    }

    private static func validateQuota(_ spec: ManifestObjectReader) -> Resources? {
        guard let reader = spec.object("quota") else { return nil }
        reader.rejectUnknownKeys(allowed: quotaFields)
        var quota = Resources.zero
        if let cpu = reader.value("cpu") {
            if let millis = ResourceQuantity.cpuMillis(cpu), millis > 0 {
                quota.cpuMillis = millis
            } else {
                reader.report("cpu", "expected \(cpuExpectation), got \(cpu)")
            }
        }
        if let memory = reader.value("memory") {
            if let bytes = ResourceQuantity.memoryBytes(memory), bytes > 0 {
                quota.memoryBytes = bytes
            } else {
                reader.report("memory", "expected \(memoryExpectation), got \(memory)")
            }
        }
        if let accelerators = reader.acceleratorList(minimumCount: 1) {
            quota.accelerators = accelerators
        }
        if reader.fields.isEmpty {
            spec.report(
                "quota",
                "expected at least one of cpu, memory, accelerators (leave quota out for no limit), got an empty mapping"
            )
        }
        return quota
    }
}
