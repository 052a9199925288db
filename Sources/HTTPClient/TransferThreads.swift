// Threads for the async API's blocking transfers. Not Dispatch's global queues: on Linux those share
// their threads with Swift's cooperative pool, so a few long-polls would starve every async task.
// Threads are created on demand, reused while busy, and exit after a minute idle.

import Foundation

final class TransferThreads: @unchecked Sendable {
    static let shared = TransferThreads()

    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var idle = 0
    private let idleTimeoutSeconds: TimeInterval = 60

    func run(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        if idle > jobs.count - 1 {
            condition.signal()
            condition.unlock()
            return
        }
        condition.unlock()
        let thread = Thread { [self] in workerLoop() }
        thread.name = "HTTPClient.transfer"
        thread.stackSize = 512 << 10
        thread.start()
    }

    private func workerLoop() {
        condition.lock()
        while true {
            while jobs.isEmpty {
                idle += 1
                let signalled = condition.wait(until: Date(timeIntervalSinceNow: idleTimeoutSeconds))
                idle -= 1
                if !signalled && jobs.isEmpty {
                    condition.unlock()
                    return
                }
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
            condition.lock()
        }
    }
}
