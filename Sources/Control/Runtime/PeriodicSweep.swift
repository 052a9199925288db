import Foundation
import Primitives

/// The one loop every background sweep of the control plane runs on: a named thread that calls its pass at a
/// fixed interval until `stop()`, which wakes it at once (it sleeps on `Guarded`, not a timer). The sweeps
/// (`BackgroundSweeps`, `BlobCollectionSweep`, `HistoryRetentionSweep`) differ only in their pass and interval.
final class PeriodicSweep: Sendable {
    private let threadName: String
    private let stopRequested = Guarded(false)

    init(threadName: String) { self.threadName = threadName }

    /// Starts the thread: the first pass after `firstPassAfterSeconds` (0: at once), then one every
    /// `intervalSeconds` after the previous pass ended.
    func start(
        firstPassAfterSeconds: Double, intervalSeconds: Double, _ pass: @escaping @Sendable () -> Void
    ) {
        precondition(firstPassAfterSeconds >= 0 && intervalSeconds > 0, "a sweep needs an interval > 0 s")
        let thread = Thread { [stopRequested] in
            var deadline = Date().addingTimeInterval(firstPassAfterSeconds)
            while true {
                if stopRequested.wait(until: deadline, for: { $0 ? true : nil }) == true { return }
                pass()
                deadline = Date().addingTimeInterval(intervalSeconds)
            }
        }
        thread.name = threadName
        thread.start()
    }

    /// `start` for a pass that throws: a failure is logged (`describe` words it) once, and again only when it changes
    /// or after a pass succeeded, so a database outage shows up once, not every interval.
    func start(
        firstPassAfterSeconds: Double, intervalSeconds: Double, log: @escaping @Sendable (String) -> Void,
        describeFailure describe: @escaping @Sendable (String) -> String, _ pass: @escaping @Sendable () throws -> Void
    ) {
        let lastFailure = Locked("")
        start(firstPassAfterSeconds: firstPassAfterSeconds, intervalSeconds: intervalSeconds) {
            do {
                try pass()
                lastFailure.withLock { $0 = "" }
            } catch {
                let text = "\(error)"
                let isNew = lastFailure.withLock { last in
                    defer { last = text }
                    return last != text
                }
                if isNew { log(describe(text)) }
            }
        }
    }

    /// Asks the thread to stop; a pass in flight finishes first.
    func stop() {
        stopRequested.update { $0 = true }
    }
}
