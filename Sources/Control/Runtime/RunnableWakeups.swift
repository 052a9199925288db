import Foundation

/// Wakes long-polling workers when tasks become runnable. The store sends `NOTIFY task_runnable` inside the
/// transaction that makes tasks runnable (on any replica); this replica's LISTEN connection calls `signal()`.
/// Waiters sleep on a condition variable, so an idle cluster costs no database queries.
final class RunnableWakeups: @unchecked Sendable {
    private let condition = NSCondition()
    private var generation: UInt64 = 0

    /// The current generation; pass it to `wait(after:until:)` so a signal between a check and the wait is not lost.
    var current: UInt64 { condition.withLock { generation } }

    func signal() {
        condition.withLock {
            generation &+= 1
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
}
