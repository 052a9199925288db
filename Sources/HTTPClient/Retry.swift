// Retrying calls to a server that may be briefly unreachable (a restarting control plane):
// exponential backoff with jitter, on transient errors and on 5xx responses.

import Foundation

public struct HTTPRetryPolicy: Sendable {
    /// Total attempts including the first; nil retries until `maxElapsedSeconds` (or forever).
    public var maxAttempts: Int?
    public var initialDelaySeconds: Double
    public var maxDelaySeconds: Double
    public var multiplier: Double
    /// Each delay is scaled by a random factor in `[1 - jitter, 1]` so many workers don't retry in step.
    public var jitter: Double
    /// Stop retrying once this much time has passed since the first attempt (nil: no limit).
    public var maxElapsedSeconds: Double?
    /// Response statuses worth retrying (the server is overloaded, restarting or behind a failing proxy).
    public var retryableStatuses: Set<Int>

    public init(
        maxAttempts: Int? = 5, initialDelaySeconds: Double = 0.1, maxDelaySeconds: Double = 5,
        multiplier: Double = 2, jitter: Double = 0.5, maxElapsedSeconds: Double? = nil,
        retryableStatuses: Set<Int> = [500, 502, 503, 504]
    ) {
        self.maxAttempts = maxAttempts
        self.initialDelaySeconds = initialDelaySeconds
        self.maxDelaySeconds = maxDelaySeconds
        self.multiplier = multiplier
        self.jitter = min(max(jitter, 0), 1)
        self.maxElapsedSeconds = maxElapsedSeconds
        self.retryableStatuses = retryableStatuses
    }

    /// 5 attempts over roughly 1.5 s.
    public static let `default` = HTTPRetryPolicy()
    /// For daemons that must outlive a control-plane outage: retries forever, at most every 5 s.
    public static let untilReachable = HTTPRetryPolicy(maxAttempts: nil, initialDelaySeconds: 0.2, maxDelaySeconds: 5)

    /// The delay before attempt `attempt + 1` (attempt is 1-based), jitter included.
    public func delay(afterAttempt attempt: Int) -> Double {
        var delay = initialDelaySeconds
        for _ in 1..<max(1, attempt) {
            delay *= multiplier
            if delay >= maxDelaySeconds {
                delay = maxDelaySeconds
                break
            }
        }
        delay = min(delay, maxDelaySeconds)
        return delay * (1 - jitter * Double.random(in: 0...1))
    }

    func allowsAnotherAttempt(after attempt: Int, started: Date, nextDelaySeconds: Double) -> Bool {
        if let maxAttempts, attempt >= maxAttempts { return false }
        if let maxElapsedSeconds, Date().timeIntervalSince(started) + nextDelaySeconds > maxElapsedSeconds {
            return false
        }
        return true
    }
}

/// What the retry helper saw before a retry, for logging.
public struct HTTPRetryEvent: Sendable {
    public let attempt: Int
    /// The error, or nil when a retryable status came back.
    public let error: HTTPClientError?
    public let status: Int?
    public let delaySeconds: Double
}

/// Runs `operation`, retrying transient `HTTPClientError`s with backoff. Rethrows the last error when out of attempts.
public func withRetry<T>(
    policy: HTTPRetryPolicy = .default, onRetry: ((HTTPRetryEvent) -> Void)? = nil,
    _ operation: () throws(HTTPClientError) -> T
) throws(HTTPClientError) -> T {
    try retryLoop(policy: policy, onRetry: onRetry, retryValue: { _ in nil }, operation)
}

/// Runs `operation`, retrying transient errors and responses with a retryable status (5xx by default).
/// When attempts run out on a retryable status, that last response is returned.
public func withRetry(
    policy: HTTPRetryPolicy = .default, onRetry: ((HTTPRetryEvent) -> Void)? = nil,
    _ operation: () throws(HTTPClientError) -> HTTPClientResponse
) throws(HTTPClientError) -> HTTPClientResponse {
    try retryLoop(
        policy: policy, onRetry: onRetry,
        retryValue: { policy.retryableStatuses.contains($0.status) ? $0.status : nil }, operation)
}

private func retryLoop<T>(
    policy: HTTPRetryPolicy, onRetry: ((HTTPRetryEvent) -> Void)?, retryValue: (T) -> Int?,
    _ operation: () throws(HTTPClientError) -> T
) throws(HTTPClientError) -> T {
    let started = Date()
    var attempt = 0
    while true {
        attempt += 1
        let delay = policy.delay(afterAttempt: attempt)
        do throws(HTTPClientError) {
            let value = try operation()
            guard let status = retryValue(value),
                policy.allowsAnotherAttempt(after: attempt, started: started, nextDelaySeconds: delay)
            else { return value }
            onRetry?(HTTPRetryEvent(attempt: attempt, error: nil, status: status, delaySeconds: delay))
        } catch {
            guard error.isTransient,
                policy.allowsAnotherAttempt(after: attempt, started: started, nextDelaySeconds: delay)
            else { throw error }
            onRetry?(HTTPRetryEvent(attempt: attempt, error: error, status: nil, delaySeconds: delay))
        }
        Thread.sleep(forTimeInterval: delay)
    }
}

/// Async `withRetry`: sleeps with `Task.sleep`; stops with `.cancelled` when the task is cancelled.
public func withRetry<T>(
    policy: HTTPRetryPolicy = .default, onRetry: (@Sendable (HTTPRetryEvent) -> Void)? = nil,
    _ operation: () async throws(HTTPClientError) -> T
) async throws(HTTPClientError) -> T {
    try await asyncRetryLoop(policy: policy, onRetry: onRetry, retryValue: { _ in nil }, operation)
}

/// Async `withRetry` for responses: also retries retryable statuses.
public func withRetry(
    policy: HTTPRetryPolicy = .default, onRetry: (@Sendable (HTTPRetryEvent) -> Void)? = nil,
    _ operation: () async throws(HTTPClientError) -> HTTPClientResponse
) async throws(HTTPClientError) -> HTTPClientResponse {
    try await asyncRetryLoop(
        policy: policy, onRetry: onRetry,
        retryValue: { policy.retryableStatuses.contains($0.status) ? $0.status : nil }, operation)
}

private func asyncRetryLoop<T>(
    policy: HTTPRetryPolicy, onRetry: (@Sendable (HTTPRetryEvent) -> Void)?, retryValue: (T) -> Int?,
    _ operation: () async throws(HTTPClientError) -> T
) async throws(HTTPClientError) -> T {
    let started = Date()
    var attempt = 0
    while true {
        attempt += 1
        let delay = policy.delay(afterAttempt: attempt)
        var lastURL = ""
        do throws(HTTPClientError) {
            let value = try await operation()
            guard let status = retryValue(value),
                policy.allowsAnotherAttempt(after: attempt, started: started, nextDelaySeconds: delay)
            else { return value }
            if let response = value as? HTTPClientResponse { lastURL = response.url }
            onRetry?(HTTPRetryEvent(attempt: attempt, error: nil, status: status, delaySeconds: delay))
        } catch {
            lastURL = error.url
            guard error.isTransient,
                policy.allowsAnotherAttempt(after: attempt, started: started, nextDelaySeconds: delay)
            else { throw error }
            onRetry?(HTTPRetryEvent(attempt: attempt, error: error, status: nil, delaySeconds: delay))
        }
        do {
            try await Task.sleep(nanoseconds: UInt64(min(max(0, delay), 1e9) * 1_000_000_000))
        } catch {
            throw .cancelled(url: lastURL)
        }
    }
}
