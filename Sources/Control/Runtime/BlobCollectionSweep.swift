import Foundation
import Primitives

/// The background garbage collector of blobs (`BlobCollector`) and expired upload sessions, every
/// `storage.garbageIntervalSeconds` (10 minutes by default: a pass lists every blob, so it is not part of the
/// half-second `BackgroundSweeps`). Several replicas may run it at once: a delete of a deleted blob is a no-op.
final class BlobCollectionSweep: Sendable {
    private let services: ControlServices
    private let log: @Sendable (String) -> Void
    private let stopRequested = Guarded(false)

    init(services: ControlServices, log: @escaping @Sendable (String) -> Void) {
        self.services = services
        self.log = log
    }

    func start() {
        guard services.configuration.storage.garbageIntervalSeconds > 0 else { return }
        let thread = Thread { [self] in run() }
        thread.name = "control-blob-gc"
        thread.start()
    }

    func stop() {
        stopRequested.update { $0 = true }
    }

    private func run() {
        let intervalSeconds = services.configuration.storage.garbageIntervalSeconds
        while true {
            let deadline = Date().addingTimeInterval(intervalSeconds)
            if stopRequested.wait(until: deadline, for: { $0 ? true : nil }) == true { return }
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
}
