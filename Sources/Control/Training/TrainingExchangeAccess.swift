// A job's training exchange as the API serves it: who may use it, and the list call's long-poll, woken by
// NOTIFY training_exchange instead of polling the database.

import APITypes
import ClusterModel
import Foundation

struct TrainingExchangeAccess {
    let services: ControlServices
    /// While a list call waits it looks again at least this often, even without a notification: the listener
    /// bumps every channel after it reconnects, but a replica whose LISTEN connection is still reconnecting
    /// (a database restart takes seconds) would otherwise sleep through the whole wait of up to 30 s.
    static let fallbackRecheckSeconds = 5.0

    var store: ExchangeStore { ExchangeStore(pool: services.pool) }

    /// The admin, or a worker holding an active attempt of the job (a gang member, a retried attempt).
    func authorize(_ principal: Principal?, job: JobID) throws {
        switch principal {
        case .admin?: return
        case .worker(let worker)?:
            guard try store.workerHoldsAttempt(job: job, worker: worker) else {
                throw AuthorizationError.forbidden(
                    "worker \(worker) holds no active attempt of job \(job); only the workers running a job (or the admin) may use its exchange"
                )
            }
        default:
            throw AuthorizationError.forbidden("the training exchange needs a worker token or the admin token")
        }
    }

    /// Reading: the admin, or any worker. A tokenize task reads the hash files its job's `<job>-dedup` scan job
    /// published, which it holds no attempt of; a worker can already fetch any blob by checksum and any dataset by
    /// name, so listing a job's entries (names, locations, checksums) gives it nothing new. Writes stay with the
    /// workers running the job (`authorize`).
    func authorizeRead(_ principal: Principal?, job: JobID) throws {
        switch principal {
        case .admin?, .worker?: return
        default:
            throw AuthorizationError.forbidden("reading the training exchange needs a worker token or the admin token")
        }
    }

    /// The entries of `job` newer than `after`; when there are none, waits up to `waitSeconds` for one.
    func list(job: JobID, prefix: String?, after: Int64, waitSeconds: Double) throws -> ExchangeListResponse {
        let deadline = Date().addingTimeInterval(waitSeconds)
        while true {
            // Read the generation before looking, so a write between the look and the wait is never lost.
            let seen = services.signals.generation(StoreChannel.trainingExchange)
            let answer = try store.changes(job: job, prefix: prefix, after: after)
            let remaining = deadline.timeIntervalSinceNow
            if !answer.entries.isEmpty || remaining <= 0 { return answer }
            // One channel for every job: a write to another job's exchange wakes this call for one cheap re-read.
            services.signals.wait(
                StoreChannel.trainingExchange, after: seen,
                timeoutSeconds: min(Self.fallbackRecheckSeconds, remaining))
        }
    }
}
