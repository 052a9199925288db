// The claim and the completion as text, for the lease model (scripts/bench-lease-model.sh, docs/leases.md): it runs
// the control plane's own statements under pgbench beside the raw anchor, so it reads them from here (StoreBench
// --print-lease-statements) rather than keeping a copy that could drift from `TaskSQL`.

public enum LeaseStatementTexts {
    /// `TaskSQL.claim(limit:)`: $1 worker, $2 lease seconds, $3 the running state, $4 the `job_changed` channel.
    public static func claim(limit: Int) -> String { TaskSQL.claim(limit: limit) }

    /// The completion of a report that claims (`TaskSQL.completeUnlessFinishingFlushedByTheNextClaim`, as the
    /// benches run it): $1 attempt ids, $2 results, $3 worker, $4 the succeeded state.
    public static var completion: String { TaskSQL.completeUnlessFinishingFlushedByTheNextClaim }

    /// The line StoreBench prints between the two.
    public static let separator = "-- completion"
}
