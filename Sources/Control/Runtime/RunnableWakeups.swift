import ClusterModel
import Foundation

/// Wakes long-polling workers when they may be able to claim work: tasks became runnable (the store sends
/// `NOTIFY task_runnable` inside the transaction that makes tasks runnable, on any replica; this replica's
/// LISTEN connection calls `signal()`), or one worker's own completions freed capacity that its waiting poll
/// found used up (`signal(worker:)`). Waiters sleep on a condition variable, so an idle cluster costs no
/// database queries.
final class RunnableWakeups: @unchecked Sendable {
    /// What a poll saw before it looked for work; a signal after it ends the wait.
    struct Mark: Equatable {
        let generation: UInt64
        let workerGeneration: UInt64
    }

    private let condition = NSCondition()
    private var generation: UInt64 = 0
    private var workerGenerations: [WorkerID: UInt64] = [:]

    /// The current generation; pass it to `wait(after:until:)` so a signal between a check and the wait is not lost.
    var current: UInt64 { condition.withLock { generation } }

    /// The current generations for `worker`'s poll (see `wait(after:worker:until:)`).
    func mark(for worker: WorkerID) -> Mark {
        condition.withLock { Mark(generation: generation, workerGeneration: workerGenerations[worker] ?? 0) }
    }

    func signal() {
        condition.withLock {
            generation &+= 1
            condition.broadcast()
        }
    }

    /// Wakes only `worker`'s waiting polls (its reports just freed capacity on it).
    func signal(worker: WorkerID) {
        condition.withLock {
            workerGenerations[worker, default: 0] &+= 1
            condition.broadcast()
        }
    }

    /// Blocks until a signal newer than `seen` arrives or `deadline` passes. Returns true when signalled.
    @discardableResult
    func wait(after seen: UInt64, until deadline: Date) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while generation == seen {
            if !condition.wait(until: deadline) { return generation != seen }
        }
        return true
    }

    /// Blocks until a general signal or one for `worker` newer than `mark`, or until `deadline`.
    @discardableResult
    func wait(after mark: Mark, worker: WorkerID, until deadline: Date) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        func signalled() -> Bool { generation != mark.generation || (workerGenerations[worker] ?? 0) != mark.workerGeneration }
        while !signalled() {
            if !condition.wait(until: deadline) { return signalled() }
        }
        return true
    }
}
