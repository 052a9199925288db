// Jobs an admission check may hold run only where the scheduler places them. The claim's fast path
// (`TaskSQL.claim`, docs/leases.md) takes queued, unplaced tasks without a pass and knows nothing of the check, so
// such jobs' tasks are kept off it with the column that does so for remote readers and checkpoint evals
// (`tasks.reads_remote`, migration 8): a job held by `requireDecontaminated` is never leased by a poll.

import APITypes

enum AdmissionChecks {
    /// Whether a job of `type` with these planned task specs is subject to an admission check: a train job with
    /// `requireDecontaminated: true` (docs/dedup.md, "Admission check"), as the scheduler's reader sees it in task 0.
    static func placedByScheduler(type: String, taskSpecs: [AnyJSON]) -> Bool {
        type == TrainJobKinds.trainName && taskSpecs.first?["requireDecontaminated"] == .bool(true)
    }
}
