// What one `opsctl up` has started so far, stopped in reverse order whatever stage it reached: a Ctrl-C while
// PostgreSQL starts or while the control plane gets ready stops what is already running (before, the signal's
// default action ended the process there and left PostgreSQL running as an orphan), and only a PostgreSQL this
// process started is ever stopped.

import Foundation
import Primitives

final class LocalClusterParts {
    var stopDatabase: (@Sendable () -> Void)?
    var server: Task<Void, Error>?
    var workers: WorkerSupervisor?

    /// Workers, then the control plane, then PostgreSQL.
    func stop() async {
        if let workers {
            await workers.stop()
            self.workers = nil
        }
        if let server {
            Output.note("stopping the control plane")
            server.cancel()
            _ = try? await server.value
            self.server = nil
        }
        if let stopDatabase {
            Output.note("stopping PostgreSQL")
            stopDatabase()
            self.stopDatabase = nil
        }
    }
}

/// Thrown by a stage of `opsctl up` that saw a stop request before the cluster was up.
struct LocalClusterInterrupted: Error {}
