import APITypes
import ClusterModel
import Foundation
import Postgres

/// What a `put` did: created the entry, replaced it (not exclusive), or found it present (exclusive: the first
/// writer won, nothing changed).
public enum ExchangePutOutcome: Sendable, Equatable {
    case created(ExchangeEntry)
    case replaced(ExchangeEntry)
    case alreadyExists
}

/// A job's training exchange (docs/storage.md, "Training exchange"): named entries with a location and checksum,
/// written by the job's attempts. Every write NOTIFYs `StoreChannel.trainingExchange` with the job id, which wakes
/// the waiting `list` calls of every replica.
public struct ExchangeStore: Sendable {
    public let pool: PostgresPool
    /// Entries one list answer holds at most (a DiLoCo gang keeps two globals and the rounds between them: ~100).
    public static let maxEntriesPerAnswer = 10_000

    public init(pool: PostgresPool) { self.pool = pool }

    public func put(job: JobID, name: String, _ request: ExchangePutRequest) throws -> ExchangePutOutcome {
        try Self.validate(name: name, request)
        return try pool.idempotentTransaction { c in
            guard try c.queryFirst(JobSQL.exists, [job.sql]) != nil else {
                throw StoreError.unknownJob("with id \(job)")
            }
            try c.query(ExchangeSQL.lockJob, [.int(Int64(AdvisoryLockKey.trainingExchangeClass)), job.sql])
            let values: [PostgresValue?] = [
                job.sql, .text(name), .text(request.location), .text(request.sha256), .int(request.bytes),
            ]
            let outcome: ExchangePutOutcome
            if request.exclusive {
                guard let row = try c.queryFirst(ExchangeSQL.insertIfAbsent, values) else { return .alreadyExists }
                outcome = .created(try ExchangeEntry(row: row))
            } else {
                let row = try c.queryOne(ExchangeSQL.upsert, values)
                let entry = try ExchangeEntry(row: row)
                outcome = try row.bool("created") ? .created(entry) : .replaced(entry)
            }
            try c.notify(channel: StoreChannel.trainingExchange, payload: String(job.rawValue))
            return outcome
        }
    }

    /// The entries of `job` with a version above `after` (and a name starting with `prefix`), by name; the
    /// answer's version is the largest one returned (else `after`): the next call's `after`.
    public func changes(job: JobID, prefix: String?, after: Int64) throws -> ExchangeListResponse {
        if let prefix { try Self.validate(prefix, field: "prefix") }
        return try pool.retryingOnConnectionLoss(timeoutSeconds: 3) {
            try pool.withConnection { c in
                guard try c.queryFirst(JobSQL.exists, [job.sql]) != nil else {
                    throw StoreError.unknownJob("with id \(job)")
                }
                let rows = try c.query(
                    ExchangeSQL.changedSince,
                    [job.sql, .int(after), prefix.map { .text($0) }, .int(Int64(Self.maxEntriesPerAnswer))])
                let entries = try rows.map(ExchangeEntry.init(row:))
                return ExchangeListResponse(
                    entries: entries.sorted { $0.name < $1.name },
                    version: max(after, entries.map(\.version).max() ?? after))
            }
        }
    }

    /// Removes an entry; removing one that is not there is not an error (a retried delete).
    public func delete(job: JobID, name: String) throws {
        try Self.validate(name, field: "name")
        try pool.idempotentTransaction { c in
            guard try c.queryFirst(JobSQL.exists, [job.sql]) != nil else {
                throw StoreError.unknownJob("with id \(job)")
            }
            try c.execute(ExchangeSQL.delete, [job.sql, .text(name)])
        }
    }

    /// Whether `worker` holds an active attempt of a task of `job`.
    public func workerHoldsAttempt(job: JobID, worker: WorkerID) throws -> Bool {
        try pool.retryingOnConnectionLoss(timeoutSeconds: 3) {
            try pool.withConnection { try $0.queryFirst(ExchangeSQL.workerHoldsAttempt, [job.sql, worker.sql]) != nil }
        }
    }

    static func validate(name: String, _ request: ExchangePutRequest) throws {
        try validate(name, field: "name")
        guard !request.location.isEmpty, request.location.utf8.count <= 4096 else {
            throw StoreError.invalid(
                field: "location", message: "expected an artifact location of 1 to 4096 bytes (cp://blobs/<sha256>)")
        }
        guard request.sha256.utf8.count == 64,
            request.sha256.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
        else {
            throw StoreError.invalid(
                field: "sha256", message: "expected 64 lowercase hex digits, got \(request.sha256.debugDescription)")
        }
        guard request.bytes >= 0 else {
            throw StoreError.invalid(field: "bytes", message: "expected a size >= 0, got \(request.bytes)")
        }
    }

    static func validate(_ name: String, field: String) throws {
        guard ExchangeLimits.isValidName(name) else {
            throw StoreError.invalid(
                field: field,
                message:
                    "expected 1 to \(ExchangeLimits.maxNameBytes) characters of A-Z a-z 0-9 . _ -, got \(name.debugDescription)"
            )
        }
    }
}

extension ExchangeEntry {
    init(row: PostgresRow) throws {
        self.init(
            name: try row.string("name"), location: try row.string("location"), sha256: try row.string("sha256"),
            bytes: try row.int64("bytes"), version: try row.int64("version"))
    }
}

extension StoreChannel {
    /// A job's training exchange changed; payload is the job id.
    public static let trainingExchange = "training_exchange"
}
