import Foundation

/// Periodic housekeeping every replica runs (each statement is safe to run concurrently on several
/// replicas: the store uses row locks and SKIP LOCKED): expire leases past their deadline (the task becomes
/// a new attempt after its backoff, or fails after its last attempt) and mark silent workers lost.
final class BackgroundSweeps: @unchecked Sendable {
    private let services: ControlServices
    private let log: @Sendable (String) -> Void
    private let stopped = NSCondition()
    private var isStopped = false
    private var thread: Thread?

    init(services: ControlServices, log: @escaping @Sendable (String) -> Void) {
        self.services = services
        self.log = log
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "control-sweeps"
        self.thread = thread
        thread.start()
    }

    func stop() {
        stopped.withLock {
            isStopped = true
            stopped.broadcast()
        }
    }

    private func run() {
        var lastError = ""
        while true {
            let intervalSeconds = services.configuration.sweepIntervalSeconds
            let stop = stopped.withLock { () -> Bool in
                if !isStopped { _ = stopped.wait(until: Date().addingTimeInterval(intervalSeconds)) }
                return isStopped
            }
            if stop { return }
            do {
                try sweepOnce()
                lastError = ""
            } catch {
                // A database outage shows up here once, not every half second.
                let text = "\(error)"
                if text != lastError { log("background sweep failed (will retry): \(text)") }
                lastError = text
            }
        }
    }

    func sweepOnce() throws {
        let report = try services.store.runMaintenance(heartbeatTimeoutSeconds: services.configuration.workerLostAfterSeconds)
        if !report.lostWorkers.isEmpty {
            log("workers lost (no heartbeat): \(report.lostWorkers.map(\.description).joined(separator: ", "))")
        }
        if !report.expired.requeued.isEmpty || !report.expired.failed.isEmpty {
            log("leases expired: \(report.expired.requeued.count) task(s) requeued, \(report.expired.failed.count) failed after their last attempt")
        }
    }
}
