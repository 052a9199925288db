// The threads request handlers run on. The event loop only moves bytes; a complete request's connection is
// suspended and its handler runs here, so a handler that blocks (a long-poll waits up to 30 s) holds one of these
// threads and never an event-loop thread or another connection.

import Foundation

final class HandlerThreads: @unchecked Sendable {
    /// A thread with no work for this long exits, so a burst of 4,000 long-polls does not leave 4,000 threads.
    static let idleThreadExitSeconds = 10.0

    private let limit: Int
    private let condition = NSCondition()
    private var pending: [@Sendable () -> Void] = []
    private var pendingHead = 0
    private var threadCount = 0
    private var idleCount = 0

    init(limit: Int) {
        precondition(limit > 0, "the handler thread limit must be positive")
        self.limit = limit
    }

    /// Runs `work` on an idle thread, a new one while under the limit, or the first thread to free up.
    func run(_ work: @escaping @Sendable () -> Void) {
        condition.lock()
        pending.append(work)
        let waiting = pending.count - pendingHead
        let startThread = waiting > idleCount && threadCount < limit
        if startThread { threadCount += 1 }
        condition.signal()
        condition.unlock()
        if startThread {
            let thread = Thread { [self] in loop() }
            thread.name = "http-handler"
            thread.start()
        }
    }

    private func loop() {
        while let work = next() { work() }
    }

    /// The next piece of work, or nil when the thread has been idle long enough to exit.
    private func next() -> (@Sendable () -> Void)? {
        condition.lock()
        defer { condition.unlock() }
        while pendingHead == pending.count {
            idleCount += 1
            let signalled = condition.wait(until: Date(timeIntervalSinceNow: Self.idleThreadExitSeconds))
            idleCount -= 1
            if !signalled && pendingHead == pending.count {
                threadCount -= 1
                return nil
            }
        }
        let work = pending[pendingHead]
        pendingHead += 1
        if pendingHead == pending.count {
            pending.removeAll(keepingCapacity: true)
            pendingHead = 0
        }
        return work
    }
}
