import Primitives

/// How often a request is tried when the store is unreachable, overloaded (503 SlowDown) or failing (5xx).
public struct S3RetryPolicy: Sendable, Equatable {
    /// Attempts per request, the first included.
    public var maxAttempts: Int
    public var backoff: ExponentialBackoff
    /// The last fraction of each delay that is random, so many workers do not retry in step.
    public var jitter: Double

    /// 5 attempts, waiting about 0.2, 0.4, 0.8, 1.6 s: a restarting server has ~3 s to come back.
    public init(
        maxAttempts: Int = 5, backoff: ExponentialBackoff = ExponentialBackoff(initialSeconds: 0.2, maximumSeconds: 5),
        jitter: Double = 0.5
    ) {
        precondition(maxAttempts >= 1, "S3RetryPolicy needs at least one attempt")
        self.maxAttempts = maxAttempts
        self.backoff = backoff
        self.jitter = jitter
    }

    /// InternalError, BadGateway, SlowDown/ServiceUnavailable, GatewayTimeout.
    static let retryableStatuses: Set<Int> = [500, 502, 503, 504]

    func delaySeconds(afterFailures failures: Int) -> Double {
        ExponentialBackoff.jittered(
            backoff.delaySeconds(afterFailures: failures), jitter: jitter, unit: Double.random(in: 0..<1))
    }
}
