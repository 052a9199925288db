import ClusterModel
// Issue 22.1: quantities near Int64.max (stored before limits were checked, or sent by a path that forgot to check)
// must not trap the scheduler. Before the fix, two workers whose memory summed past Int64.max killed the pass in
// ClusterIndex (`total[d] += vector[d]`), and with it every control-plane replica that took over the lead.
import XCTest

@testable import Scheduler

final class ResourceOverflowTests: XCTestCase {
    func testHugeWorkersAndRequestsNeitherTrapNorOvercommit() {
        let huge = Resources(cpuMillis: .max, memoryBytes: .max, accelerators: ["gpu-h100": .max])
        let snapshot = ClusterSnapshot(
            now: 1, workers: [worker(1, huge), worker(2, huge), worker(3, cpu(4, memoryGi: 8))],
            allocations: [running(1, job: 1, on: 1, huge), running(2, job: 2, on: 2, huge)],
            pendingJobs: [job(10, cpu(2, memoryGi: 4)), job(11, tasks: 3, huge), job(12, gang: true, cpu(1))],
            queues: [QueueSpec(name: "default", quota: Resources(memoryBytes: .max))])
        let d = Scheduler().schedule(snapshot)
        XCTAssertEqual(
            d.workers(of: 10), [3], "the huge workers are full (their allocations are clamped to the same limits)")
        XCTAssertTrue(d.workers(of: 11).isEmpty, "a request at the limit fits nowhere that is in use")
        XCTAssertEqual(d.workers(of: 12), [3])
    }

    func testSaturatingArithmetic() {
        XCTAssertEqual(Int64.max.saturatingAdding(1), .max)
        XCTAssertEqual(Int64.min.saturatingAdding(-1), .min)
        XCTAssertEqual(Int64.min.saturatingSubtracting(1), .min)
        XCTAssertEqual(Int64(5).saturatingSubtracting(.min), .max)
        XCTAssertEqual(Int64.max.saturatingMultiplying(2), .max)
        XCTAssertEqual(Int64.max.saturatingMultiplying(-2), .min)
        XCTAssertEqual(Int64(3).saturatingMultiplying(4), 12)
        let big = Resources(cpuMillis: .max, memoryBytes: .max, accelerators: ["gpu": .max])
        XCTAssertEqual(big + big, big)
        XCTAssertEqual((Resources.zero - big).memoryBytes, -Int64.max)
        XCTAssertEqual(
            big.clampedToLimits,
            Resources(
                cpuMillis: ResourceLimits.maxCPUMillis, memoryBytes: ResourceLimits.maxMemoryBytes,
                accelerators: ["gpu": ResourceLimits.maxAcceleratorCount]))
    }

    func testLimitViolationNamesTheField() {
        XCTAssertNil(
            Resources(cpuMillis: 96_000, memoryBytes: 2 << 40, accelerators: ["gpu-h100": 8]).limitViolation(
                prefix: "resources"))
        XCTAssertEqual(
            Resources(memoryBytes: .max).limitViolation(prefix: "resources")?.hasPrefix(
                "resources.memoryBytes: expected 0..."), true)
        XCTAssertEqual(Resources(cpuMillis: -1).limitViolation(prefix: "r")?.hasPrefix("r.cpuMillis: expected"), true)
        XCTAssertEqual(
            Resources(accelerators: ["gpu-h100": 1 << 20]).limitViolation(prefix: "r")?.hasPrefix(
                "r.accelerators.gpu-h100"), true)
    }
}
