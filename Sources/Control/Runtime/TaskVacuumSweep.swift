import Foundation

/// `TaskVacuum` once a second: the lease table's dead rows removed as they pile up, not when autovacuum next visits
/// (docs/leases.md, "The runnable head over a long drain"). A failure is logged once until the next success.
final class TaskVacuumSweep: Sendable {
    static let intervalSeconds = 1.0

    private let vacuum: TaskVacuum
    private let log: @Sendable (String) -> Void
    private let sweep = PeriodicSweep(threadName: "control-task-vacuum")

    init(services: ControlServices, policy: TaskVacuumPolicy = .standard, log: @escaping @Sendable (String) -> Void) {
        self.vacuum = TaskVacuum(pool: services.pool, policy: policy)
        self.log = log
    }

    func start() {
        sweep.start(
            firstPassAfterSeconds: Self.intervalSeconds, intervalSeconds: Self.intervalSeconds, log: log,
            describeFailure: { "vacuum of the tasks table failed (will retry every second): \($0)" }
        ) { [vacuum] in try vacuum.runOnce() }
    }

    func stop() { sweep.stop() }
}
