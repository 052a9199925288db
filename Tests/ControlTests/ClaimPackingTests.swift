import ClusterModel
import XCTest

@testable import Control

/// The claim's packing step alone (no database): what one claim takes of the candidates its query returned.
final class ClaimPackingTests: XCTestCase {
    private let worker = WorkerID(7)

    private func candidate(
        _ id: Int64, cpu: Int64 = 1000, memory: Int64 = 0, gpus: Int64 = 0, selector: Labels = [:],
        placed: Bool = false
    ) -> ClaimCandidate {
        ClaimCandidate(
            task: TaskID(id), job: JobID(1), index: Int(id), spec: "{}",
            resources: Resources(
                cpuMillis: cpu, memoryBytes: memory, accelerators: gpus > 0 ? ["gpu-h100": gpus] : [:]),
            nodeSelector: selector, placedWorker: placed ? worker : nil)
    }

    private func pack(_ candidates: [ClaimCandidate], free: Resources, labels: Labels = [:], excluded: Set<Int64> = [])
        -> [Int64]
    {
        ClaimPacking.pack(candidates, free: free, labels: labels, excluded: Set(excluded.map(TaskID.init))).map(
            \.task.rawValue)
    }

    func testUnplacedTasksTakeFreeCapacityInOrderAndSkipWhatNoLongerFits() {
        let free = Resources(cpuMillis: 2500, memoryBytes: 1 << 30)
        let candidates = [candidate(1), candidate(2, cpu: 1000, memory: 2 << 30), candidate(3), candidate(4)]
        XCTAssertEqual(
            pack(candidates, free: free), [1, 3],
            "2 needs more memory than the worker has free; 4 does not fit the 500m left after 1 and 3")
    }

    func testPlacedTasksAreTakenWithoutSpendingFreeCapacity() {
        // The scheduler's reservation is already out of `free` (WorkerCapacity counts placed tasks), so a placed
        // task is taken even when it is larger than what is left, and leaves that room to the unplaced ones.
        let candidates = [candidate(1, cpu: 4000, placed: true), candidate(2, cpu: 1000), candidate(3, cpu: 1000)]
        XCTAssertEqual(pack(candidates, free: Resources(cpuMillis: 1000)), [1, 2])
    }

    func testSelectorsAndAcceleratorsFollowTheModelsDefinitions() {
        let labels: Labels = ["zone": "a", "pool": "gpu"]
        let free = Resources(cpuMillis: 10_000, accelerators: ["gpu-h100": 2])
        let candidates = [
            candidate(1, selector: ["zone": "b"]),
            candidate(2, selector: ["zone": "a", "pool": "gpu"]),
            candidate(3, gpus: 2),
            candidate(4, gpus: 1),
            candidate(5, selector: ["rack": "r1"], placed: true),
        ]
        XCTAssertEqual(
            pack(candidates, free: free, labels: labels), [2, 3, 5],
            "1's selector asks another zone; 4 needs a device 3 already took; 5 was placed here by the scheduler")
    }

    func testExcludedTasksAreLeftForTheSchedulerUnlessPlaced() {
        let candidates = [candidate(1), candidate(2, placed: true), candidate(3)]
        XCTAssertEqual(
            pack(candidates, free: Resources(cpuMillis: 1000), excluded: [1, 2]), [2, 3],
            "1 became a configured queue's task: skipped, and its room goes to 3; a placed task is never excluded")
    }

    func testNothingFitsNothingIsTaken() {
        XCTAssertEqual(pack([candidate(1), candidate(2)], free: .zero), [])
        XCTAssertEqual(pack([], free: Resources(cpuMillis: 1000)), [])
    }
}
