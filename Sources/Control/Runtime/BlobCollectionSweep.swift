import Foundation
import Primitives

/// The background garbage collector of blobs (`BlobCollector`) and expired upload sessions, every
/// `storage.garbageIntervalSeconds` (10 minutes by default: a pass lists every blob, so it is not part of the
/// half-second `BackgroundSweeps`). Several replicas may run it at once: a delete of a deleted blob is a no-op.
final class BlobCollectionSweep: Sendable {
    private let services: ControlServices
    private let log: @Sendable (String) -> Void
    private let sweep = PeriodicSweep(threadName: "control-blob-gc")

    init(services: ControlServices, log: @escaping @Sendable (String) -> Void) {
        self.services = services
        self.log = log
    }

    func start() {
        let intervalSeconds = services.configuration.storage.garbageIntervalSeconds
        guard intervalSeconds > 0 else { return }
        sweep.start(firstPassAfterSeconds: intervalSeconds, intervalSeconds: intervalSeconds) { [self] in
            collectOnce(intervalSeconds: intervalSeconds)
        }
    }

    func stop() { sweep.stop() }

    private func collectOnce(intervalSeconds: Double) {
        do {
            let report = try BlobCollector.make(services, log: log).collect()
            if report.deleted > 0 || report.expiredUploads > 0 {
                log(
                    "blob collection (\(report.backend.rawValue)): deleted \(report.deleted) unreferenced blob(s), "
                        + "\(report.deletedBytes) bytes; \(report.expiredUploads) expired upload(s)")
            }
        } catch {
            log("blob collection failed (will retry in \(Int(intervalSeconds)) s): \(error)")
        }
    }
}
