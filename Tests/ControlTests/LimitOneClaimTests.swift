// Issue 15: a claim of one task leaves out the packing (`TaskSQL.packing(limit:)`): its one candidate passed the
// same fit test greedy packing would apply, so the recursion, its arrays and its gate only cost executor start-up,
// most of a claim's time at batch 1 (docs/leases.md, "A claim of one task").

import ClusterModel
import Foundation
import Postgres
import XCTest

@testable import Control

final class LimitOneClaimTests: StoreTestCase {
    func testTheClaimOfOneTaskPlansNoPackingRecursion() throws {
        let w = try worker()
        try jobs.submit(NewJob(name: "j", type: "t", tasks: (0..<3).map { _ in NewTask() }))
        let ofOne = try claimPlan(limit: 1, worker: w)
        XCTAssertFalse(ofOne.contains("Recursive Union"), "the claim of one still plans the packing:\n\(ofOne)")
        XCTAssertFalse(ofOne.contains("WindowAgg"), "the claim of one still numbers its candidates:\n\(ofOne)")
        let ofTwo = try claimPlan(limit: 2, worker: w)
        XCTAssertTrue(ofTwo.contains("Recursive Union"), "a claim of two packs its candidates:\n\(ofTwo)")
    }

    /// Claims of one task at a time lease, in order, what one claim of many leases: the worker's capacity, the
    /// accelerators by type and the kinds decide both the same way.
    func testClaimsOfOneLeaseWhatOneClaimOfManyLeases() throws {
        let cases: [(name: String, worker: Resources, tasks: [(String, Resources)])] = [
            (
                "cpu", Resources(cpuMillis: 2500, memoryBytes: 1 << 30),
                [
                    ("one", Resources(cpuMillis: 1000)), ("two", Resources(cpuMillis: 2000)),
                    ("three", Resources(cpuMillis: 1000)), ("four", Resources(cpuMillis: 1000)),
                ]
            ),
            (
                "gpu", Resources(cpuMillis: 64_000, memoryBytes: 1 << 30, accelerators: ["gpu-h100": 2]),
                [
                    ("one-gpu", Resources(cpuMillis: 1000, accelerators: ["gpu-h100": 1])),
                    ("two-gpus", Resources(cpuMillis: 1000, accelerators: ["gpu-h100": 2])),
                    ("other-type", Resources(cpuMillis: 1000, accelerators: ["tpu-v5": 1])),
                    ("another-gpu", Resources(cpuMillis: 1000, accelerators: ["gpu-h100": 1])),
                    ("cpu-only", Resources(cpuMillis: 1000)),
                ]
            ),
        ]
        for (name, room, tasks) in cases {
            var taken: [[String]] = []
            for way in ["many", "one"] {
                try pool.withConnection { try $0.execute("TRUNCATE jobs CASCADE") }
                let w = try workers.register(name: "\(name)-\(way)", resources: room)
                for (job, resources) in tasks {
                    try jobs.submit(NewJob(name: job, type: "t", resources: resources))
                }
                if way == "many" {
                    taken.append(try leases.claimNext(for: w, limit: 8).map(\.jobName))
                    continue
                }
                var names: [String] = []
                while let next = try leases.claimNext(for: w, limit: 1).first {
                    names.append(next.jobName)
                    XCTAssertLessThanOrEqual(names.count, tasks.count, "\(name): a claim of one leased a task twice")
                    if names.count > tasks.count { break }
                }
                taken.append(names)
            }
            XCTAssertFalse(taken[0].isEmpty, "\(name): the claim of many leased nothing")
            XCTAssertEqual(taken[1], taken[0], "\(name): claims of one and a claim of many disagree")
        }
    }

    private func claimPlan(limit: Int, worker: WorkerID) throws -> String {
        try genericPlan(
            TaskSQL.claim(limit: limit), parameterTypes: ["bigint", "float8", "text", "text"],
            arguments: ["\(worker.rawValue)", "60", "'running'", "'job_changed'"])
    }
}
