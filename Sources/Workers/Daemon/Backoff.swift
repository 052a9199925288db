// Exponential backoff with jitter for calls to the control plane. Jitter spreads out many workers that lost
// the control plane at the same moment, so they do not all come back in the same millisecond.

import APIClient
import Foundation
import Primitives

public struct Backoff: Sendable, Equatable {
    public var initialSeconds: Double
    public var maximumSeconds: Double
    public var multiplier: Double
    /// Fraction of each delay that is random: the delay lies in [base·(1−jitter), base].
    public var jitter: Double

    public init(initialSeconds: Double = 0.2, maximumSeconds: Double = 10, multiplier: Double = 2, jitter: Double = 0.5)
    {
        self.initialSeconds = initialSeconds
        self.maximumSeconds = maximumSeconds
        self.multiplier = multiplier
        self.jitter = min(1, max(0, jitter))
    }

    /// The delay before retry number `failures` (1 after the first failure). `unit` is a random number in [0, 1).
    public func delay(afterFailures failures: Int, unit: Double) -> Double {
        let base = ExponentialBackoff(
            initialSeconds: initialSeconds, maximumSeconds: maximumSeconds, multiplier: multiplier
        )
        .delaySeconds(afterFailures: failures)
        return ExponentialBackoff.jittered(base, jitter: jitter, unit: unit)
    }

    public func delay(afterFailures failures: Int) -> Double {
        delay(afterFailures: failures, unit: Double.random(in: 0..<1))
    }
}

/// Calls `operation` until it succeeds, retrying transient `ControlPlaneError`s (unreachable, 5xx) with
/// backoff. Non-retryable errors are thrown at once; so is `CancellationError` when the task is cancelled
/// or `shouldStop` says so.
public func withControlPlaneRetry<T: Sendable>(
    _ what: String,
    backoff: Backoff,
    log: @Sendable (String) -> Void,
    shouldStop: @Sendable () async -> Bool = { false },
    sleep: @Sendable (Double) async throws -> Void = { try await Task.sleep(nanoseconds: UInt64($0 * 1e9)) },
    _ operation: @Sendable () async throws(ControlPlaneError) -> T
) async throws -> T {
    var failures = 0
    while true {
        do {
            return try await operation()
        } catch {
            guard error.isRetryable else { throw error }
            failures += 1
            let delay = backoff.delay(afterFailures: failures)
            // Say it loudly the first time, then every tenth try, not on every retry.
            if failures == 1 || failures % 10 == 0 {
                log("\(what) failed (\(failures) tries): \(error); retrying in \(String(format: "%.1f", delay))s")
            }
            let stop = await shouldStop()
            if Task.isCancelled || stop { throw CancellationError() }
            try await sleep(delay)
        }
    }
}
