import Foundation

/// A value behind a lock that threads can also *wait on*: `Locked` plus a condition variable. The one way
/// this package blocks a thread until shared state changes (a pool's free connection, a channel's next
/// notification, a stop request). Waiters re-check their predicate under the lock after every wake-up, so
/// a spurious or early wake-up is harmless and a change between "look" and "wait" is never lost.
public final class Guarded<Value>: @unchecked Sendable {
    private let condition = NSCondition()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    /// Runs `body` with exclusive access to the value; wakes no waiter (for reads and changes nobody waits for).
    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        condition.lock()
        defer { condition.unlock() }
        return try body(&value)
    }

    /// Runs `body` with exclusive access, then wakes every waiter to re-check its predicate.
    public func update<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        condition.lock()
        defer {
            condition.broadcast()
            condition.unlock()
        }
        return try body(&value)
    }

    /// Blocks until `ready` returns a result or `deadline` passes (nil: no deadline). `ready` runs under
    /// the lock, may change the value (take a connection, consume a flag) and returns nil to keep waiting.
    /// Returns `ready`'s result, or nil when the deadline passed first.
    public func wait<Result>(until deadline: Date?, for ready: (inout Value) throws -> Result?) rethrows -> Result? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let result = try ready(&value) { return result }
            if let deadline {
                if !condition.wait(until: deadline) { return try ready(&value) }
            } else {
                condition.wait()
            }
        }
    }

    /// A copy of the value as it is now.
    public var current: Value { withLock { $0 } }
}
