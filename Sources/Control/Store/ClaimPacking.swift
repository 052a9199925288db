import ClusterModel

/// A runnable task a claim found (`TaskSQL.claimCandidates`), before it is packed and leased.
struct ClaimCandidate: Equatable {
    /// The task, its job, and its index in the job.
    var task: TaskID, job: JobID, index: Int
    /// The task spec (JSON text), handed to the worker as it is.
    var spec: String
    /// What it needs of the worker's free capacity, and the labels it requires.
    var resources: Resources, nodeSelector: Labels
    /// The worker the scheduler placed the task on; nil for a task any fitting worker may claim.
    var placedWorker: WorkerID?
}

/// What one claim may take of its candidates: pure Swift, no database (the third of the claim's four steps:
/// lock, fetch candidates, pack, lease; see `LeaseStore.claimNext`).
enum ClaimPacking {
    /// Packs greedily in the candidates' order (highest priority first, then oldest). Tasks the scheduler placed
    /// on this worker were already sized and their reservation is already out of `free`: they are always taken.
    /// Unplaced ones must fit what is left (`Resources.fits(in:)`) and the worker's labels must satisfy their node
    /// selector (`Labels.satisfies(selector:)`) — the SQL filter already said so on the capacity it read; this is the
    /// check against what earlier picks of the same claim left. Tasks in `excluded` (jobs of a queue configured since
    /// the worker row was read: the scheduler places those) are skipped.
    static func pack(_ candidates: [ClaimCandidate], free: Resources, labels: Labels, excluded: Set<TaskID> = [])
        -> [ClaimCandidate]
    {
        var free = free
        var picked: [ClaimCandidate] = []
        for candidate in candidates {
            if candidate.placedWorker == nil {
                guard !excluded.contains(candidate.task) else { continue }
                guard candidate.resources.fits(in: free), labels.satisfies(selector: candidate.nodeSelector) else {
                    continue
                }
                free -= candidate.resources
            }
            picked.append(candidate)
        }
        return picked
    }
}
