import ClusterModel
// Retry timing: RetryPolicy -> the notBefore of the next attempt, or giving up.
import XCTest

@testable import Scheduler

final class RetryTimingTests: XCTestCase {
    func testRetryBackoffTiming() {
        let policy = RetryPolicy(maxAttempts: 4, initialBackoffSeconds: 2, maxBackoffSeconds: 5, multiplier: 2)
        XCTAssertEqual(policy.decision(afterFailedAttempt: 1, failedAt: 100), .retry(attempt: 2, notBefore: 102))
        XCTAssertEqual(policy.decision(afterFailedAttempt: 2, failedAt: 100), .retry(attempt: 3, notBefore: 104))
        XCTAssertEqual(policy.decision(afterFailedAttempt: 3, failedAt: 100), .retry(attempt: 4, notBefore: 105))
        XCTAssertEqual(policy.decision(afterFailedAttempt: 4, failedAt: 100), .giveUp(attempts: 4))
    }
}
