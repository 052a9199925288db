import Foundation
import Primitives
import XCTest

@testable import HTTPServer

/// A handler thread the system refuses to start must not be counted as running: the old pool (Foundation's
/// `Thread.start()`, which ignores a failed `pthread_create`) counted it, and its request waited for the
/// longest running handler.
final class HandlerThreadsTests: XCTestCase {
    /// 32 TiB of stack cannot be mapped, so every `pthread_create` fails the way it does under a thread limit.
    private let impossibleStackBytes = 1 << 45

    func testARefusedThreadStartIsReportedAndItsBodyNeverRuns() {
        let ran = Locked(false)
        XCTAssertFalse(ThreadStart.detached(stackBytes: impossibleStackBytes) { ran.withLock { $0 = true } })
        XCTAssertTrue(ThreadStart.detached(stackBytes: HandlerThreads.threadStackBytes) { ran.withLock { $0 = true } })
        let deadline = Date(timeIntervalSinceNow: 10)
        while !ran.current && Date() < deadline { usleep(1_000) }
        XCTAssertTrue(ran.current, "a thread the system accepts runs its body")
    }

    func testAPoolWhoseStartsAreRefusedCountsNoPhantomThreadAndRetriesOnTheNextRequest() {
        let threads = HandlerThreads(limit: 4, stackBytes: impossibleStackBytes)
        let ran = Locked(0)
        threads.run { ran.withLock { $0 += 1 } }
        threads.run { ran.withLock { $0 += 1 } }
        // Each request tried to start a thread (a phantom counted thread would have stopped the second try).
        XCTAssertEqual(threads.failedThreadStarts, 2)
        XCTAssertEqual(ran.current, 0)
    }

    func testWorkQueuedBehindARefusedStartRunsOnTheNextThreadThatStarts() {
        let threads = HandlerThreads(limit: 1)
        let ran = Locked(0)
        let done = DispatchSemaphore(value: 0)
        for _ in 0..<3 {
            threads.run {
                ran.withLock { $0 += 1 }
                done.signal()
            }
        }
        for _ in 0..<3 { XCTAssertEqual(done.wait(timeout: .now() + 10), .success) }
        XCTAssertEqual(ran.current, 3)
        XCTAssertEqual(threads.failedThreadStarts, 0)
    }
}
