import Foundation

/// A value behind a lock: the one way this package shares mutable state between threads (swift-nio's
/// `NIOLockedValueBox` is the model). Every access goes through `withLock`, so no path can forget to lock.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    /// Runs `body` with exclusive access to the value. Keep it short: no I/O, no waiting under the lock.
    /// A typed error of `body` comes out typed.
    public func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure)
        -> Result
    {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    /// A copy of the value as it is now.
    public var current: Value { withLock { $0 } }
}
