// The heartbeat's decisions: what the daemon lists as held, and what each part of the answer does to the
// attempts it runs (extend the lease, cancel, preempt, drop as stale).

import APIClient
import APITypes
import ClusterModel
import Foundation

extension WorkerDaemonStateMachine {
    /// What one running (or finished but unacknowledged) attempt must do, from a heartbeat or report answer.
    enum AttemptSignal: Equatable {
        case extendLease(AttemptID, until: Date)
        /// The job was cancelled: stop the executor; it reports a `cancelled` failure.
        case cancel(CancelSignal)
        /// Checkpoint and stop by the grace deadline; cancelled then if still running; reports `preempted`.
        case preempt(PreemptSignal)
        /// No longer live: drop its queued reports and, when it still runs (`isRunning`), stop it.
        case dropStale(AttemptID, isRunning: Bool)
    }

    /// The heartbeat to send, or nil before registration. It lists the running attempts with their progress and the
    /// finished ones whose final report is not yet acknowledged (their leases must stay alive until it is), and the
    /// cached shards only when they changed since the control plane last acknowledged them.
    func heartbeatRequest(
        progress: (AttemptID) -> Double?, unacknowledgedFinals: [AttemptID: TaskID],
        cachedShards: [String]
    ) -> HeartbeatRequest? {
        guard let workerID else { return nil }
        var held = running.values.sorted { $0.attemptID < $1.attemptID }.map {
            HeldAttempt(taskID: $0.taskID, attemptID: $0.attemptID, progress: progress($0.attemptID))
        }
        for (attempt, task) in unacknowledgedFinals.sorted(by: { $0.key < $1.key }) where running[attempt] == nil {
            held.append(HeldAttempt(taskID: task, attemptID: attempt, finished: true))
        }
        return HeartbeatRequest(
            workerID: workerID, attempts: held, draining: isStopping,
            cachedShards: cachedShards == reportedCachedShards ? nil : cachedShards)
    }

    /// The control plane answered `request`. Signals for attempts that are no longer running are left out, except
    /// stale ones (their queued reports are dropped all the same).
    mutating func heartbeatAnswered(_ response: HeartbeatResponse, to request: HeartbeatRequest) -> [AttemptSignal] {
        if let sent = request.cachedShards { reportedCachedShards = sent }
        if response.heartbeatIntervalSeconds > 0 {
            heartbeatIntervalSeconds = max(Self.minimumHeartbeatIntervalSeconds, response.heartbeatIntervalSeconds)
        }
        var signals: [AttemptSignal] = response.leases.compactMap { lease in
            running[lease.attemptID] == nil ? nil : .extendLease(lease.attemptID, until: lease.leaseDeadline)
        }
        signals += response.cancel.filter { running[$0.attemptID] != nil }.map(AttemptSignal.cancel)
        signals += response.preempt.filter { running[$0.attemptID] != nil }.map(AttemptSignal.preempt)
        return signals + stale(response.staleAttempts)
    }

    /// Attempts the control plane calls stale (in a heartbeat or report answer).
    func stale(_ attempts: [AttemptID]) -> [AttemptSignal] {
        attempts.map { .dropStale($0, isRunning: running[$0] != nil) }
    }

    enum CallFailureReaction: Equatable {
        /// The control plane forgot the worker: `controlPlaneForgotWorker`, then register again.
        case reregister
        /// Say so and carry on: the next heartbeat (or poll) tries again.
        case log
    }

    /// A heartbeat failed.
    func heartbeatFailed(_ error: ControlPlaneError) -> CallFailureReaction {
        error.isUnknownWorker ? .reregister : .log
    }
}
