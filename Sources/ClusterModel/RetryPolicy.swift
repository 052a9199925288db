// How many attempts a task gets and how long it waits between them.

import Primitives

public struct RetryPolicy: Hashable, Codable, Sendable {
    public var maxAttempts: Int
    public var initialBackoffSeconds: Double
    public var maxBackoffSeconds: Double
    public var multiplier: Double

    public init(
        maxAttempts: Int = 3, initialBackoffSeconds: Double = 1, maxBackoffSeconds: Double = 300, multiplier: Double = 2
    ) {
        self.maxAttempts = maxAttempts
        self.initialBackoffSeconds = initialBackoffSeconds
        self.maxBackoffSeconds = maxBackoffSeconds
        self.multiplier = multiplier
    }

    /// Whether another attempt may follow attempt number `attempt` (1-based).
    public func allowsRetry(afterAttempt attempt: Int) -> Bool { attempt < maxAttempts }

    /// Seconds to wait before attempt `attempt + 1`: exponential, capped.
    public func backoffSeconds(afterAttempt attempt: Int) -> Double {
        ExponentialBackoff(
            initialSeconds: initialBackoffSeconds, maximumSeconds: maxBackoffSeconds, multiplier: multiplier
        )
        .delaySeconds(afterFailures: attempt)
    }
}
