// What a worker has free right now: its resources minus what its running tasks and the tasks placed on it
// hold. Both writers of that capacity — a claim (LeaseStore.claimNext) and the scheduler's commit
// (SchedulingStore.commit) — lock the worker rows first and only then read this, so one never books room
// the other has just taken. (Reading it in the locking statement itself is not enough: after waiting for
// the lock, PostgreSQL re-checks the locked row but keeps the statement's older view of the tasks.)
import ClusterModel
import Foundation
import Postgres

enum WorkerCapacity {
    /// Locks the workers' rows (in id order, so two lockers of several workers cannot deadlock).
    static func lock(_ workers: [Int64], _ c: PostgresConnection) throws {
        _ = try c.query(WorkerSQL.lock, [.intArray(workers)])
    }

    /// Free resources of each worker (by id), read after `lock`.
    static func free(of workers: [Int64], _ c: PostgresConnection) throws -> [Int64: Resources] {
        var free: [Int64: Resources] = [:]
        for row in try c.query(WorkerSQL.capacityAndUse, [.intArray(workers)]) {
            var resources = try row.resources()
            resources.cpuMillis -= try row.int64("used_cpu")
            resources.memoryBytes -= try row.int64("used_memory")
            let usedText = try row.string("used_accelerators")
            guard let used = (try? JSONSerialization.jsonObject(with: Data(usedText.utf8))) as? [[String: Any]] else {
                throw PostgresError.decoding(
                    column: "used_accelerators", expected: "a JSON array of accelerator maps", found: usedText)
            }
            for entry in used {
                for (type, count) in entry {
                    resources.accelerators[AcceleratorType(rawValue: type), default: 0] -=
                        (count as? NSNumber)?.int64Value ?? 0
                }
            }
            free[try row.int64("id")] = resources
        }
        return free
    }
}
