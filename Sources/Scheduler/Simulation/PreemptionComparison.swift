// The same seeded workload run twice, once per victim policy, to measure what checkpoint-aware victim choice
// saves (issue 20, "What must be shown"): total training tokens recomputed after preemptions. The benchmark
// (`SchedulerBench preemption`) and `CheckpointAwarePreemptionTests` print it.

public struct PreemptionComparison: Sendable {
    public var checkpointAware: SimulationReport
    public var priorityOnly: SimulationReport

    /// Runs `configuration` under each policy; everything else (seed, cluster, workload) is the same.
    public static func run(_ configuration: SimulationConfiguration) -> PreemptionComparison {
        var aware = configuration
        aware.scheduler.victimPolicy = .checkpointAware
        var priority = configuration
        priority.scheduler.victimPolicy = .priorityOnly
        return PreemptionComparison(
            checkpointAware: ClusterSimulation(configuration: aware).run(),
            priorityOnly: ClusterSimulation(configuration: priority).run())
    }

    /// Recomputed tokens with checkpoint-aware choice as a fraction of those with priority-only choice.
    public var ratio: Double {
        priorityOnly.tokensRecomputedByPreemption == 0
            ? 1
            : Double(checkpointAware.tokensRecomputedByPreemption) / Double(priorityOnly.tokensRecomputedByPreemption)
    }

    /// One line per policy and the ratio, e.g. for docs/scheduler.md.
    public var summary: String {
        func line(_ name: String, _ r: SimulationReport) -> String {
            "\(name): \(r.tokensRecomputedByPreemption) tokens recomputed by \(r.preemptions) preemptions "
                + "(\(r.trainingTasksPreempted) training tasks) of \(r.tokensTrained) trained; \(r.steps) steps, "
                + "\(r.violations.count) violations"
        }
        return line("checkpoint-aware", checkpointAware) + "\n" + line("priority-only   ", priorityOnly) + "\n"
            + "checkpoint-aware recomputes \(Int((ratio * 1000).rounded()) / 10)% of priority-only's tokens"
    }
}
