import Foundation
import Primitives

/// Periodic housekeeping every replica runs (each statement is safe to run concurrently on several
/// replicas: the store uses row locks and SKIP LOCKED): expire leases past their deadline (the task becomes
/// a new attempt after its backoff, or fails after its last attempt) and mark silent workers lost.
final class BackgroundSweeps: Sendable {
    private let services: ControlServices
    private let log: @Sendable (String) -> Void
    private let sweep = PeriodicSweep(threadName: "control-sweeps")

    init(services: ControlServices, log: @escaping @Sendable (String) -> Void) {
        self.services = services
        self.log = log
    }

    func start() {
        let intervalSeconds = services.configuration.sweepIntervalSeconds
        sweep.start(
            firstPassAfterSeconds: intervalSeconds, intervalSeconds: intervalSeconds, log: log,
            describeFailure: { "background sweep failed (will retry): \($0)" }
        ) { [self] in try sweepOnce() }
    }

    func stop() { sweep.stop() }

    func sweepOnce() throws {
        let report = try services.store.runMaintenance(
            heartbeatTimeoutSeconds: services.configuration.workerLostAfterSeconds)
        services.telemetry.observeExpiries(report.expired)
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
