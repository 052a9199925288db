// A heartbeat extends the leases of the attempts a worker holds and answers with what the worker must stop:
// attempts whose lease ended or whose job was cancelled (with the reason), and pending preemptions.

import APITypes
import ClusterModel
import Foundation

struct WorkerHeartbeats {
    let services: ControlServices

    func beat(_ request: HeartbeatRequest) throws -> HeartbeatResponse {
        let held = request.attempts.filter { !$0.finished }
        let result = try services.workers.heartbeat(
            request.workerID, holding: held.map(\.attemptID),
            extending: .listed(request.attempts.map(\.attemptID)),
            cachedShards: request.cachedShards)
        if request.draining { try services.workers.requestDrain(request.workerID) }
        // The store extends every lease the worker listed by its own lease length; the deadline shown is this
        // replica's estimate of the database's (they share a clock on one machine, within ms elsewhere).
        let deadline = Date().addingTimeInterval(services.configuration.leaseSeconds)
        let tasksByAttempt = Dictionary(
            request.attempts.map { ($0.attemptID, $0.taskID) }, uniquingKeysWith: { a, _ in a })
        let cancel = try result.stopAttempts.compactMap { attempt -> CancelSignal? in
            guard let task = tasksByAttempt[attempt] else { return nil }
            return CancelSignal(taskID: task, attemptID: attempt, reason: try stopReason(task: task))
        }
        let preempt = try services.store.placements.pendingPreemptions(of: request.workerID).map {
            PreemptSignal(taskID: $0.task, attemptID: $0.attempt, graceDeadline: $0.deadline, reason: $0.reason)
        }
        return HeartbeatResponse(
            leases: result.extendedAttempts.map { LeaseExtension(attemptID: $0, leaseDeadline: deadline) },
            cancel: cancel, preempt: preempt, staleAttempts: [],
            heartbeatIntervalSeconds: services.configuration.heartbeatSeconds)
    }

    private func stopReason(task: TaskID) throws -> String {
        guard let record = try services.jobs.task(task) else { return "the task no longer exists" }
        switch record.state {
        case .cancelled: return "the job was cancelled"
        case .succeeded: return "the task already succeeded"
        default: return "the lease on this attempt ended (task is \(record.state.rawValue))"
        }
    }
}
