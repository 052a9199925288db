import Foundation
import Primitives

/// Periodic housekeeping every replica runs (each statement is safe to run concurrently on several
/// replicas: the store uses row locks and SKIP LOCKED): expire leases past their deadline (the task becomes
/// a new attempt after its backoff, or fails after its last attempt) and mark silent workers lost.
final class BackgroundSweeps: Sendable {
    private let services: ControlServices
    private let log: @Sendable (String) -> Void
    /// Set by `stop()`; the sweep thread sleeps on it between sweeps, so a stop wakes it at once.
    private let stopRequested = Guarded(false)

    init(services: ControlServices, log: @escaping @Sendable (String) -> Void) {
        self.services = services
        self.log = log
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "control-sweeps"
        thread.start()
    }

    func stop() {
        stopRequested.update { $0 = true }
    }

    private func run() {
        var lastError = ""
        while true {
            let intervalSeconds = services.configuration.sweepIntervalSeconds
            let deadline = Date().addingTimeInterval(intervalSeconds)
            if stopRequested.wait(until: deadline, for: { $0 ? true : nil }) == true { return }
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
        let report = try services.store.runMaintenance(
            heartbeatTimeoutSeconds: services.configuration.workerLostAfterSeconds)
        if !report.lostWorkers.isEmpty {
            log("workers lost (no heartbeat): \(report.lostWorkers.map(\.description).joined(separator: ", "))")
        }
        if !report.expired.requeued.isEmpty || !report.expired.failed.isEmpty {
            log(
                "leases expired: \(report.expired.requeued.count) task(s) requeued, \(report.expired.failed.count) failed after their last attempt"
            )
        }
    }
}
