import ClusterModel
import Scheduler

/// What a scheduling pass reads (`SchedulingStore.read`): the scheduler's snapshot, and which of its pending jobs
/// the workers' claims take without a placement.
struct SchedulingRead: Sendable {
    var snapshot: ClusterSnapshot
    /// Pending jobs whose tasks the claim's fast path takes (`TaskSQL.claim`): not a gang, not held for the
    /// scheduler (`tasks.reads_remote`: remote readers, checkpoint evals, admission checks), in no configured
    /// queue.
    var claimedDirectly: Set<JobID>

    /// The jobs whose placements `decisions` need not write (`SchedulingStore.commit`). The scheduler decides for
    /// claimable jobs as for any (pending reasons, preemption, the pool autoscaler's demand), but a placement of
    /// one only moved a task that a worker's next claim takes anyway: one more version of its row, and the commit
    /// locks the rows of the workers it places onto, which claims wait for. `ControlBench --batch 1` (10,000
    /// queued, 8 workers): 605–620 tasks/s with them written, 1,015–1,022 without, p99 poll 37 ms → 9 ms
    /// (docs/leases.md, "Claimable tasks are left to the claims").
    ///
    /// A job that holds a reservation (this pass's or the previous one's) or preempted in this pass keeps its
    /// placements: the room it waited or preempted for must go to it, and a claim would give it to whichever
    /// queued task comes first by priority and id — for a reclaim between two unconfigured queues, often the
    /// victim's own requeued task.
    func leftToClaims(by decisions: SchedulingDecisions) -> Set<JobID> {
        let reserving = (snapshot.previousReservations + decisions.reservations).map(\.job)
        return claimedDirectly.subtracting(reserving).subtracting(decisions.preemptions.map(\.preemptor))
    }
}
