// The lowest scheduling class: work that only fills idle capacity (the per-checkpoint evals of a train job with
// `evalEvery: checkpoint`, docs/training.md). A manifest's priority is at most 1,000,000 below zero, so a job at
// this priority or lower sorts after every job a user can submit, and the scheduler treats it as backfill: it is
// considered only after every other pending job of the pass, never preempts or reserves, and any other pending
// job may preempt it whatever the queues' shares.

public enum BackfillPriority {
    /// The priority of backfill work: 1,000,000 below the lowest a manifest may give (-1,000,000).
    public static let value = -2_000_000

    /// Whether a job or task of this priority is backfill.
    public static func isBackfill(_ priority: Int) -> Bool { priority <= value }
}
