// When a failed attempt runs again: ClusterModel.RetryPolicy gives the backoff; this turns it into the
// `notBefore` time the scheduler honours, or a final failure.
import ClusterModel

public enum RetryDecision: Hashable, Sendable {
    /// Requeue; the scheduler will not place attempt `attempt` before `notBefore`.
    case retry(attempt: Int, notBefore: SchedulerTime)
    case giveUp(attempts: Int)
}

extension RetryPolicy {
    /// After attempt number `attempt` (1-based) failed at `failedAt`.
    public func decision(afterFailedAttempt attempt: Int, failedAt: SchedulerTime) -> RetryDecision {
        guard allowsRetry(afterAttempt: attempt) else { return .giveUp(attempts: attempt) }
        return .retry(attempt: attempt + 1, notBefore: failedAt + backoffSeconds(afterAttempt: attempt))
    }
}
