import Foundation
import Primitives

/// `TaskVacuum` once a second: the lease table's dead rows removed as they pile up, not when autovacuum next visits
/// (docs/leases.md, "The runnable head over a long drain"). A failure is logged once until the next success.
final class TaskVacuumSweep: Sendable {
    static let intervalSeconds = 1.0

    private let vacuum: TaskVacuum
    private let log: @Sendable (String) -> Void
    private let sweep = PeriodicSweep(threadName: "control-task-vacuum")
    private let lastFailure = Locked("")

    init(services: ControlServices, policy: TaskVacuumPolicy = .standard, log: @escaping @Sendable (String) -> Void) {
        self.vacuum = TaskVacuum(pool: services.pool, policy: policy)
        self.log = log
    }

    func start() {
        sweep.start(firstPassAfterSeconds: Self.intervalSeconds, intervalSeconds: Self.intervalSeconds) { [self] in
            sweepOnce()
        }
    }

    func stop() { sweep.stop() }

    private func sweepOnce() {
        do {
            _ = try vacuum.runOnce()
            lastFailure.withLock { $0 = "" }
        } catch {
            let text = "\(error)"
            let isNew = lastFailure.withLock { last in
                defer { last = text }
                return last != text
            }
            if isNew { log("vacuum of the tasks table failed (will retry every second): \(text)") }
        }
    }
}
