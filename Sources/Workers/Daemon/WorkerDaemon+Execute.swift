// Running one attempt's executor and mapping how it ended to the report the control plane gets. Static and
// free of daemon state: the daemon calls them from the attempt's detached task.

import APITypes
import ClusterModel
import Foundation

/// How one attempt ended, as the daemon reports it.
enum AttemptOutcome: Sendable {
    case completed(TaskResult)
    case failed(FailureReport)
    /// The attempt is stale: no report.
    case dropped
}

extension WorkerDaemon {
    static func execute(
        _ assignment: TaskAssignment, executor: (any JobExecutor)?, knownKinds: [String], workerName: String,
        context: ExecutionContext, logLifecycle: Bool = true
    ) async -> AttemptOutcome {
        func failure(_ message: String, retryable: Bool, reason: FailureReason = .error) -> AttemptOutcome {
            .failed(
                FailureReport(
                    taskID: assignment.taskID, attemptID: assignment.attemptID, message: message, retryable: retryable,
                    reason: reason))
        }
        guard let executor else {
            return failure(
                "worker \(workerName) has no executor for job type \"\(assignment.jobType)\" (it has: \(knownKinds.joined(separator: ", ")))",
                retryable: true)
        }
        if logLifecycle {
            context.log(
                "attempt \(assignment.attemptNumber)/\(assignment.maxAttempts) of task \(assignment.taskIndex) started on \(workerName)",
                stream: .system)
        }
        do {
            let result = try await executor.run(assignment, context: context)
            if context.stopSignal == .stale { return .dropped }
            if let path = result.result.firstNonFiniteNumber() {
                // Sent as is, the whole report batch would fail to encode and the task end as "lease expired".
                return failure(
                    "the result holds a non-finite number at \(path); JSON cannot carry NaN or infinity (the run diverged?)",
                    retryable: false)
            }
            if logLifecycle { context.log("attempt \(assignment.attemptNumber) succeeded", stream: .system) }
            return .completed(result)
        } catch {
            return classify(error, context: context, assignment: assignment)
        }
    }

    /// Maps what an executor threw to the report the control plane gets.
    static func classify(_ error: Error, context: ExecutionContext, assignment: TaskAssignment) -> AttemptOutcome {
        func failure(_ message: String, retryable: Bool, reason: FailureReason, details: AnyJSON? = nil)
            -> AttemptOutcome
        {
            context.log("attempt \(assignment.attemptNumber) ended (\(reason.rawValue)): \(message)", stream: .system)
            return .failed(
                FailureReport(
                    taskID: assignment.taskID, attemptID: assignment.attemptID, message: message,
                    retryable: retryable, reason: reason, details: details))
        }
        switch context.stopSignal {
        case .stale?: return .dropped
        case .cancelled(let reason)?: return failure(reason, retryable: false, reason: .cancelled)
        case .preempted(let reason)?: return failure(reason, retryable: true, reason: .preempted)
        case nil: break
        }
        if let stopped = error as? ExecutionStopped {
            switch stopped {
            case .stale: return .dropped
            case .cancelled(let reason): return failure(reason, retryable: false, reason: .cancelled)
            case .preempted(let reason): return failure(reason, retryable: true, reason: .preempted)
            }
        }
        if let preemption = context.preemption, error is CancellationError {
            return failure(preemption.reason, retryable: true, reason: .preempted)
        }
        if let failure_ = error as? TaskFailure {
            return failure(failure_.message, retryable: failure_.retryable, reason: .error, details: failure_.details)
        }
        if error is CancellationError {
            return failure("stopped: the worker is shutting down", retryable: true, reason: .preempted)
        }
        return failure("\(type(of: error)): \(error)", retryable: true, reason: .error)
    }
}
