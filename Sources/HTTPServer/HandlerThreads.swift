// The threads request handlers run on. The event loop only moves bytes; a complete request's connection is
// suspended and its handler runs here, so a handler that blocks (a long-poll waits up to 30 s) holds one of these
// threads and never an event-loop thread or another connection.

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

final class HandlerThreads: @unchecked Sendable {
    /// A thread with no work for this long exits, so a burst of 4,000 long-polls does not leave 4,000 threads.
    static let idleThreadExitSeconds = 10.0
    /// A handler parses JSON and talks to the database: Dispatch's own worker threads get 512 KiB on Linux, so
    /// 1 MiB is ample, and 4,096 threads reserve 4 GiB of address space instead of the 32 GiB of the 8 MiB default.
    static let threadStackBytes = 1 << 20

    private let limit: Int
    private let stackBytes: Int
    private let condition = NSCondition()
    private var pending: [@Sendable () -> Void] = []
    private var pendingHead = 0
    private var threadCount = 0
    private var idleCount = 0
    private var failedStarts = 0
    private var startedThreads = 0
    private var dispatched = 0

    init(limit: Int, stackBytes: Int = HandlerThreads.threadStackBytes) {
        precondition(limit > 0, "the handler thread limit must be positive")
        self.limit = limit
        self.stackBytes = stackBytes
    }

    /// Threads that could not be started (the system refused `pthread_create`); their work waited for a running
    /// thread instead of being lost.
    var failedThreadStarts: Int { condition.withLock { failedStarts } }

    /// Work handed to `run` and threads started since the pool was made (diagnostics, `HTTPServer.lifetimeCounts`).
    var lifetime: (dispatched: Int, threadsStarted: Int) { condition.withLock { (dispatched, startedThreads) } }

    /// Runs `work` on an idle thread, a new one while under the limit, or the first thread to free up.
    func run(_ work: @escaping @Sendable () -> Void) {
        condition.lock()
        pending.append(work)
        dispatched += 1
        let waiting = pending.count - pendingHead
        let startThread = waiting > idleCount && threadCount < limit
        if startThread { threadCount += 1 }
        condition.signal()
        condition.unlock()
        if startThread { startThreadOrCountFailure() }
    }

    /// Foundation's `Thread.start()` ignores a failed `pthread_create` (EAGAIN under a thread or memory limit):
    /// the pool then counted a thread that never ran, and the request it was started for waited until some
    /// other handler finished — with every thread in a 120 s long-poll, it waited 120 s. So threads are created
    /// here with the result checked; a refused start is uncounted, and the next request tries again.
    private func startThreadOrCountFailure() {
        let started = ThreadStart.detached(stackBytes: stackBytes) { [self] in loop() }
        guard !started else { return }
        condition.withLock {
            threadCount -= 1
            failedStarts += 1
        }
    }

    private func loop() {
        Thread.current.name = "http-handler"
        // Counted by the thread itself, before its first work: counted by the starter after `pthread_create`
        // returned, a handler could already run (and a test see it) before its thread was counted.
        condition.withLock { startedThreads += 1 }
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

/// A detached POSIX thread whose creation result is checked (see `HandlerThreads.startThreadOrCountFailure`).
enum ThreadStart {
    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    /// Starts `body` on a new detached thread with a `stackBytes` stack; false when the system refused it.
    static func detached(stackBytes: Int, _ body: @escaping () -> Void) -> Bool {
        precondition(stackBytes >= 64 << 10, "a handler thread needs at least 64 KiB of stack")
        var attributes = pthread_attr_t()
        guard pthread_attr_init(&attributes) == 0 else { return false }
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, stackBytes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread, &attributes,
            { context in
                Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
                return nil
            }, context)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            return false
        }
        return true
    }
}
