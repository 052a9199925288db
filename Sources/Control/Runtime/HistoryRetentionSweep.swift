import Foundation
import Primitives

/// The history tables' partition maintenance (`HistoryPartitions`): once at start, then every hour. Partitions
/// are weeks and next week's exists all through this one, so hourly passes have 168 chances to create a week's
/// partition before its first row; dropping and attaching lock a table for a moment, which is why this is not
/// part of the half-second `BackgroundSweeps`. Every replica runs it; their passes take turns on a lock.
final class HistoryRetentionSweep: Sendable {
    static let intervalSeconds = 3600.0

    private let services: ControlServices
    private let log: @Sendable (String) -> Void
    private let sweep = PeriodicSweep(threadName: "control-history")

    init(services: ControlServices, log: @escaping @Sendable (String) -> Void) {
        self.services = services
        self.log = log
    }

    func start() {
        sweep.start(firstPassAfterSeconds: 0, intervalSeconds: Self.intervalSeconds) { [self] in sweepOnce() }
    }

    func stop() { sweep.stop() }

    private func sweepOnce() {
        let retentionDays = services.configuration.historyRetentionDays
        do {
            let report = try HistoryPartitions(pool: services.pool).maintain(retentionDays: retentionDays)
            if !report.dropped.isEmpty || report.deletedFromDefault > 0 {
                log(
                    "history older than \(retentionDays) day(s) removed: partitions "
                        + "\(report.dropped.joined(separator: ", ")); \(report.deletedFromDefault) row(s) of the default partitions"
                )
            }
        } catch {
            log("history partition maintenance failed (will retry in \(Int(Self.intervalSeconds)) s): \(error)")
        }
    }
}
