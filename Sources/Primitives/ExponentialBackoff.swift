/// Capped exponential delays: `initialSeconds · multiplier^(failures − 1)`, at most `maximumSeconds`. The one
/// definition behind task retries, the worker's calls to the control plane and the database reconnect loops.
public struct ExponentialBackoff: Hashable, Sendable {
    public var initialSeconds: Double
    public var maximumSeconds: Double
    public var multiplier: Double

    public init(initialSeconds: Double, maximumSeconds: Double, multiplier: Double = 2) {
        precondition(
            initialSeconds >= 0 && maximumSeconds >= 0 && multiplier >= 1,
            "ExponentialBackoff needs delays >= 0 and a multiplier >= 1")
        self.initialSeconds = initialSeconds
        self.maximumSeconds = maximumSeconds
        self.multiplier = multiplier
    }

    /// The delay after `failures` consecutive failures (1 after the first); 0 or fewer failures count as 1.
    /// Stops multiplying once the cap is reached, so any count is safe.
    public func delaySeconds(afterFailures failures: Int) -> Double {
        var delay = initialSeconds
        var n = 1
        while n < failures && delay < maximumSeconds {
            delay *= multiplier
            n += 1
        }
        return min(delay, maximumSeconds)
    }

    /// `delay` with its last `jitter` fraction random: in [delay·(1−jitter), delay]. `unit` is uniform in [0, 1).
    public static func jittered(_ delay: Double, jitter: Double, unit: Double) -> Double {
        let jitter = min(1, max(0, jitter))
        return delay * (1 - jitter) + delay * jitter * min(1, max(0, unit))
    }
}
