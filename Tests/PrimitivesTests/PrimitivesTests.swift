import Dispatch
import Primitives
import XCTest

final class PrimitivesTests: XCTestCase {
    /// The reference sequence of SplitMix64 for seed 0 (the values every copy this replaced produced).
    func testSplitMix64ReferenceSequence() {
        var generator = SplitMix64(seed: 0)
        XCTAssertEqual(
            (0..<3).map { _ in generator.next() },
            [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F])
        var bounded = SplitMix64(seed: 7)
        for _ in 0..<1000 { XCTAssertTrue((0..<13).contains(bounded.next(below: 13))) }
        var uniform = SplitMix64(seed: 9)
        for _ in 0..<1000 { XCTAssertTrue((0..<1).contains(uniform.nextUniform())) }
    }

    func testLockedSerialisesUpdatesFromManyThreads() {
        let counter = Locked(0)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<10_000 { counter.withLock { $0 += 1 } }
        }
        XCTAssertEqual(counter.current, 80_000)
    }

    func testGuardedWaiterWakesOnUpdateAndSeesTheChange() {
        let box = Guarded(0)
        let taken = Locked<[Int]>([])
        let group = DispatchGroup()
        for _ in 0..<4 {
            DispatchQueue.global().async(group: group) {
                // Each waiter takes one unit; none may return before a unit exists.
                let got = box.wait(until: Date().addingTimeInterval(30)) { value -> Int? in
                    guard value > 0 else { return nil }
                    value -= 1
                    return value
                }
                taken.withLock { $0.append(got ?? -1) }
            }
        }
        for _ in 0..<4 { box.update { $0 += 1 } }
        XCTAssertEqual(group.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(taken.current.count, 4)
        XCTAssertFalse(taken.current.contains(-1), "no waiter timed out")
        XCTAssertEqual(box.current, 0, "each unit was taken exactly once")
    }

    func testGuardedWaitReturnsNilAtTheDeadlineAndChecksOnceMore() {
        let box = Guarded(false)
        let started = Date()
        XCTAssertNil(box.wait(until: started.addingTimeInterval(0.05)) { $0 ? true : nil })
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.05)
        box.withLock { $0 = true } // changed without a wake-up: a later wait sees it at once
        XCTAssertEqual(box.wait(until: Date()) { $0 ? 1 : nil }, 1)
    }

    func testExponentialBackoffIsCappedAndSafeForAnyCount() {
        let backoff = ExponentialBackoff(initialSeconds: 0.5, maximumSeconds: 10)
        XCTAssertEqual(
            [0, 1, 2, 3, 5, 6, 1_000_000].map { backoff.delaySeconds(afterFailures: $0) }, [0.5, 0.5, 1, 2, 8, 10, 10])
        XCTAssertEqual(ExponentialBackoff.jittered(4, jitter: 0.5, unit: 0), 2)
        XCTAssertEqual(ExponentialBackoff.jittered(4, jitter: 0.5, unit: 0.999_999), 4, accuracy: 1e-5)
        XCTAssertEqual(ExponentialBackoff.jittered(4, jitter: 2, unit: 0.5), 2, "jitter is clamped to 1")
    }

    func testParallelChunksCoverEveryIndexOnce() {
        for (count, threads, minimum) in [(0, 4, 1), (1, 4, 1), (10, 3, 1), (100, 8, 16), (1000, 7, 1)] {
            let seen = Locked([Int](repeating: 0, count: count))
            parallelChunks(count, threads: threads, minimumPerThread: minimum) { range in
                seen.withLock { for i in range { $0[i] += 1 } }
            }
            XCTAssertEqual(seen.current, [Int](repeating: 1, count: count), "count \(count), threads \(threads)")
        }
    }
}
